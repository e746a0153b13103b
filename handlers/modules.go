package handlers

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/a-h/templ"

	"github.com/waddle/waddle/executor"
	"github.com/waddle/waddle/problem"
	"github.com/waddle/waddle/router"
	"github.com/waddle/waddle/views"
)

// The remote modules page of a community: the modules that "#name" runs
// outside the process (webhooks, OpenWhisk actions, Lambda functions).
// Members may look; owners and admins may add and delete (routes.go puts the
// writes behind requireManager). Secrets are sealed by the router and never
// shown, nor echoed back into the form.

// Bounds of a module's timeout, in milliseconds, as the form offers them.
const (
	minModuleTimeoutMS     = 100
	maxModuleTimeoutMS     = int(executor.MaxTimeout / time.Millisecond)
	defaultModuleTimeoutMS = int(executor.DefaultTimeout / time.Millisecond)
)

var moduleKinds = []string{string(executor.Webhook), string(executor.OpenWhisk), string(executor.Lambda)}

// targetFields are the labels of the fields executor.Target.Validate names.
// Its messages follow the field ("is required"), so the handler puts the
// label in front; the replacer turns field names inside a message into words.
var (
	targetFields = map[string]struct{ form, label string }{
		"Kind":            {"kind", "Kind"},
		"URL":             {"url", "URL"},
		"Secret":          {"secret", "Secret"},
		"Namespace":       {"namespace", "Namespace"},
		"Action":          {"action", "Action"},
		"Function":        {"function", "Function"},
		"Region":          {"region", "Region"},
		"AccessKeyID":     {"access_key_id", "Access key ID"},
		"SecretAccessKey": {"secret_access_key", "Secret access key"},
		"Timeout":         {"timeout_ms", "Timeout"},
	}
	targetWords = strings.NewReplacer("SecretAccessKey", "secret access key", "AccessKeyID", "access key ID", "Function", "function")
)

// moduleProblem turns a target error of the executor into a sentence that
// names the form field; other errors pass unchanged.
func moduleProblem(err error) error {
	p := problem.As(err)
	if p == nil {
		return err
	}
	f, ok := targetFields[p.Field]
	if !ok {
		return err
	}
	return &problem.Error{Code: p.Code, Field: f.form, Message: f.label + " " + targetWords.Replace(p.Message) + "."}
}

// moduleForm reads the create form. Fields another kind uses are dropped, so
// a secret typed before switching kinds is not stored.
func moduleForm(v url.Values) (router.ModuleInput, views.ModuleForm, error) {
	get := func(k string) string { return strings.TrimSpace(v.Get(k)) }
	f := views.ModuleForm{Name: get("name"), Kind: get("kind"), URL: get("url"), Namespace: get("namespace"), Action: get("action"),
		Function: get("function"), Region: get("region"), AccessKey: get("access_key_id"), Permission: get("permission")}
	in := router.ModuleInput{Name: f.Name, Kind: f.Kind, URL: f.URL, Secret: get("secret"), Namespace: f.Namespace, Action: f.Action,
		Function: f.Function, Region: f.Region, AccessKey: f.AccessKey, SecretKey: get("secret_access_key"), Permission: f.Permission}
	ms, text, err := formInt(v, "timeout_ms", "The timeout", defaultModuleTimeoutMS)
	f.Timeout = text
	if err != nil {
		return in, f, err
	}
	if ms < minModuleTimeoutMS || ms > maxModuleTimeoutMS {
		return in, f, problem.Invalidf("timeout_ms", "The timeout is between %d and %d milliseconds.", minModuleTimeoutMS, maxModuleTimeoutMS)
	}
	in.Timeout = time.Duration(ms) * time.Millisecond
	switch executor.Kind(in.Kind) {
	case executor.Webhook:
		in.Namespace, in.Action, in.Function, in.Region, in.AccessKey, in.SecretKey = "", "", "", "", "", ""
	case executor.OpenWhisk:
		in.Function, in.Region, in.AccessKey, in.SecretKey = "", "", "", ""
	case executor.Lambda:
		in.Secret, in.Namespace, in.Action = "", "", ""
	}
	return in, f, nil
}

// moduleTarget says where a module's calls go, without secrets. Members see
// only a webhook's scheme and host: its path or query may carry a token.
func moduleTarget(m *router.RemoteModule, canManage bool) string {
	host := m.URL
	if u, err := url.Parse(m.URL); err == nil && u.Host != "" {
		host = u.Host
	}
	switch m.Kind {
	case executor.Webhook:
		if canManage {
			return m.URL
		}
		if u, err := url.Parse(m.URL); err == nil && u.Host != "" {
			return u.Scheme + "://" + u.Host + "/…"
		}
		return "(hidden)"
	case executor.OpenWhisk:
		ns := m.Namespace
		if ns == "" {
			ns = "_"
		}
		return host + " · " + ns + "/" + m.Action
	case executor.Lambda:
		s := m.Function
		if m.Region != "" {
			s += " in " + m.Region
		}
		if m.URL != "" {
			s += " via " + host
		}
		return s
	}
	return string(m.Kind)
}

// moduleCredentials says which credentials a module has, never what they are.
func moduleCredentials(m *router.RemoteModule) string {
	switch m.Kind {
	case executor.Lambda:
		if m.AccessKey != "" {
			return "own AWS keys set"
		}
		return "server's AWS credentials"
	case executor.Webhook, executor.OpenWhisk:
		return "secret set" // both kinds require one
	}
	return ""
}

func moduleRow(cid int64, m *router.RemoteModule, canManage bool) views.ModuleRow {
	return views.ModuleRow{CommunityID: cid, ID: m.ID, Name: m.Name, Kind: string(m.Kind), Target: moduleTarget(m, canManage),
		Credentials: moduleCredentials(m), TimeoutMS: int(m.Timeout / time.Millisecond), Permission: m.Permission,
		Enabled: m.Enabled, CanManage: canManage}
}

// modulesView is the modules page without its modules (enough for the form).
func (h *Handler) modulesView(r *http.Request, form views.ModuleForm) views.ModulesPage {
	m := membershipOf(r)
	return views.ModulesPage{Chrome: h.chrome(r, "Modules · "+m.Name, "communities"), Nav: h.botNav(r, "modules"), CanManage: m.Role.CanManage(),
		Create: form, Kinds: moduleKinds, Permissions: router.Permissions, MinTimeoutMS: minModuleTimeoutMS, MaxTimeoutMS: maxModuleTimeoutMS}
}

func (h *Handler) renderModules(w http.ResponseWriter, r *http.Request, st int, form views.ModuleForm) {
	m := membershipOf(r)
	mods, err := h.settings.Modules(r.Context(), m.ID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	can := m.Role.CanManage()
	p := h.modulesView(r, form)
	for _, x := range mods {
		p.Modules = append(p.Modules, moduleRow(m.ID, x, can))
	}
	h.render(w, r, st, views.Modules(p))
}

func (h *Handler) modulesPage(w http.ResponseWriter, r *http.Request) {
	h.renderModules(w, r, http.StatusOK, views.ModuleForm{Kind: string(executor.Webhook), Timeout: fmt.Sprint(defaultModuleTimeoutMS),
		Permission: router.Everyone})
}

func (h *Handler) createModule(w http.ResponseWriter, r *http.Request) {
	m := membershipOf(r)
	var (
		f   views.ModuleForm
		mod *router.RemoteModule
	)
	answer := formAnswer{
		Form: func(msg string) (templ.Component, error) {
			f.Error = msg
			return views.ModuleCreateForm(h.modulesView(r, f)), nil
		},
		Page: func(st int, msg string) { f.Error = msg; h.renderModules(w, r, st, f) },
		Done: func() {
			h.sessions.Put(r.Context(), sessFlash, fmt.Sprintf("Module #%s added: try it with #%s in the simulator.", mod.Name, mod.Name))
			seeOther(w, r, botPath(m.ID, "modules"))
		},
	}
	if err := parseForm(w, r); err != nil {
		h.answerForm(w, r, err, answer)
		return
	}
	in, form, err := moduleForm(r.PostForm)
	if f = form; err == nil {
		mod, err = h.settings.CreateModule(r.Context(), auditActor(r), m.ID, in)
		err = moduleProblem(err)
	}
	f.Field = fieldOf(err, nil)
	h.answerForm(w, r, err, answer)
}

// moduleOf loads the module {mid} of the community.
func (h *Handler) moduleOf(r *http.Request) (*router.RemoteModule, error) {
	id, err := pathID(r, "mid")
	if err != nil {
		return nil, err
	}
	mods, err := h.settings.Modules(r.Context(), membershipOf(r).ID)
	if err != nil {
		return nil, err
	}
	for _, x := range mods {
		if x.ID == id {
			return x, nil
		}
	}
	return nil, problem.New(problem.NotFound, "No such module.")
}

func (h *Handler) deleteModule(w http.ResponseWriter, r *http.Request) {
	m := membershipOf(r)
	mod, err := h.moduleOf(r)
	if err == nil {
		err = h.settings.DeleteModule(r.Context(), auditActor(r), m.ID, mod.ID)
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.removed(w, r, fmt.Sprintf("Module #%s deleted.", mod.Name), botPath(m.ID, "modules"))
}
