package router

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/db"
	"github.com/waddle/waddle/executor"
	"github.com/waddle/waddle/problem"
	"github.com/waddle/waddle/runes"
	"github.com/waddle/waddle/secret"
)

// RemoteModule is a community module that runs outside the process.
type RemoteModule struct {
	ID         int64
	Name       string
	Kind       executor.Kind
	URL        string
	Namespace  string
	Action     string
	Function   string
	Region     string
	AccessKey  string
	Timeout    time.Duration
	Permission string
	Enabled    bool

	sealedSecret, sealedSecretKey []byte
	openSecretKey                 string // an installed Lambda version's key, opened from its credentials
	openSecret                    string // an installed OpenWhisk version's "user:key"
}

func toRemote(m db.CommunityModule) *RemoteModule {
	return &RemoteModule{ID: m.ID, Name: m.Name, Kind: executor.Kind(m.Kind), URL: m.Url, Namespace: m.Namespace, Action: m.Action,
		Function: m.Function, Region: m.Region, AccessKey: m.AccessKeyID, Timeout: time.Duration(m.TimeoutMs) * time.Millisecond,
		Permission: m.Permission, Enabled: m.Enabled, sealedSecret: m.SecretSealed, sealedSecretKey: m.SecretKeySealed}
}

// target opens the module's secrets into an executor target.
func (m *RemoteModule) target(box *secret.Box) (executor.Target, error) {
	t := executor.Target{Kind: m.Kind, URL: m.URL, Namespace: m.Namespace, Action: m.Action, Function: m.Function,
		Region: m.Region, AccessKeyID: m.AccessKey, Timeout: m.Timeout}
	if m.sealedSecret != nil {
		s, err := box.Open(m.sealedSecret)
		if err != nil {
			return t, err
		}
		t.Secret = string(s)
	}
	if m.sealedSecretKey != nil {
		s, err := box.Open(m.sealedSecretKey)
		if err != nil {
			return t, err
		}
		t.SecretAccessKey = string(s)
	}
	if m.openSecretKey != "" {
		t.SecretAccessKey = m.openSecretKey
	}
	if m.openSecret != "" {
		t.Secret = m.openSecret
	}
	return t, nil
}

// RemoteRequest is the JSON a remote module receives.
type RemoteRequest struct {
	Module    string     `json:"module"`
	Community int64      `json:"community_id"`
	Event     Event      `json:"event"`
	Args      []string   `json:"args"`
	Previous  []Response `json:"previous,omitempty"`
	DryRun    bool       `json:"dry_run,omitempty"`
	// An installed marketplace module also gets the command's own name (as
	// its manifest declares it), the install's config (secrets opened), its
	// version, and the caller's balance when it was granted points:read.
	Command       string         `json:"command,omitempty"`
	Config        map[string]any `json:"config,omitempty"`
	ModuleVersion string         `json:"module_version,omitempty"`
	Balance       *int64         `json:"balance,omitempty"`
}

// RemoteAnswer is the JSON a remote module answers with: a list of responses,
// or (shorter) a single reply.
type RemoteAnswer struct {
	Responses []Response `json:"responses"`
	Reply     string     `json:"reply"`
}

// remote runs "#name args" through the community's module.
func (h *handling) remote(ctx context.Context, inv Invocation) error {
	m := h.s.modules[inv.Name]
	if m == nil || !m.Enabled {
		return nil
	}
	h.res.HandledBy = "module #" + m.Name + " (" + string(m.Kind) + ")"
	start := time.Now()
	cmd := &Command{Name: "#" + m.Name, Modules: []string{"#" + m.Name}}
	if !allowed(h.ev.User, m.Permission) {
		h.logExec(cmd, inv, "denied", start, "")
		return nil
	}
	if !h.dry && !h.r.limiter.Take(ctx, fmt.Sprintf("rl:m:%d:%s:%s", h.s.communityID, m.Name, h.ev.User.ID), h.r.limits.PerUserPerCommand, h.r.limits.Window).Allowed {
		h.logExec(cmd, inv, "rate_limited", start, "")
		return nil
	}
	rs, err := h.callRemote(ctx, m, inv, nil)
	if err != nil {
		h.logExec(cmd, inv, "error", start, err.Error())
		h.r.metrics.moduleFailed(err)
		h.res.Responses = append(h.res.Responses, Response{Reply: "@" + h.ev.User.Shown() + " " + moduleError(err)})
		return nil
	}
	h.res.Responses = append(h.res.Responses, rs...)
	h.logExec(cmd, inv, "ok", start, "")
	return nil
}

// callRemote sends the event to a remote module and reads its answer; in a
// dry run it only describes the request.
func (h *handling) callRemote(ctx context.Context, m *RemoteModule, inv Invocation, previous []Response) ([]Response, error) {
	rs, _, err := h.callRemoteWith(ctx, m, inv, previous, nil)
	return rs, err
}

// callRemoteWith is callRemote for a community module (x nil: every part of
// its answer allowed) or an installed one (x: what else it is sent, and the
// capabilities it was granted). It returns the answer without the parts
// refused for want of a capability, whose names it returns too; the points
// changes and HTTP calls the answer asks for are made.
func (h *handling) callRemoteWith(ctx context.Context, m *RemoteModule, inv Invocation, previous []Response, x *remoteCall) ([]Response, []string, error) {
	if h.r.exec == nil {
		return nil, nil, problem.New(problem.Conflict, "Remote modules are not enabled on this server.")
	}
	req := RemoteRequest{Module: m.Name, Community: h.s.communityID, Event: h.ev, Args: inv.Args, Previous: previous, DryRun: h.dry}
	if x != nil {
		req.Command, req.Config, req.ModuleVersion, req.Balance = x.command, x.config, x.version, x.balance
	}
	body, err := json.Marshal(req)
	if err != nil {
		return nil, nil, err
	}
	t, err := m.target(h.r.box)
	if err != nil {
		return nil, nil, err
	}
	if h.dry {
		p, err := h.r.exec.Describe(t, body)
		if err != nil {
			return nil, nil, err
		}
		h.changed("would send %s %s with %d bytes of JSON to #%s (not sent in a dry run)", p.Method, hostOnly(p.URL), len(p.Body), m.Name)
		return nil, nil, nil
	}
	raw, err := h.r.exec.Invoke(ctx, t, body)
	if errors.Is(err, executor.ErrBlockedAddress) {
		// Besides the execution log: an operator should hear of a module
		// pointed at this network, whether a mistake or a probe.
		h.r.logger.WarnContext(ctx, "remote module refused by the address guard", "community", h.s.communityID,
			"module", m.Name, "module_id", m.ID, "target", hostOnly(m.URL), "err", err)
	}
	if err != nil {
		return nil, nil, err
	}
	var ans RemoteAnswer
	if err := json.Unmarshal(raw, &ans); err != nil {
		return nil, nil, fmt.Errorf("the answer of #%s is not a module answer: %w", m.Name, err)
	}
	if ans.Reply != "" {
		ans.Responses = append([]Response{{Reply: ans.Reply}}, ans.Responses...)
	}
	if len(ans.Responses) > 10 {
		ans.Responses = ans.Responses[:10]
	}
	for i := range ans.Responses {
		ans.Responses[i].Reply = runes.TruncateBytes(ans.Responses[i].Reply, maxReplyLen)
	}
	rs, refused := ans.Responses, []string(nil)
	if x != nil {
		rs, refused = h.enforce(rs, x.granted, m.Name)
	}
	if err := h.applyExtras(ctx, rs, m.Name); err != nil {
		return nil, refused, err
	}
	return withoutExtras(rs), refused, nil
}

// moduleError says in chat why a module call failed, without internals.
func moduleError(err error) string {
	switch {
	case errors.Is(err, executor.ErrTimeout):
		return "the module took too long to answer."
	case errors.Is(err, executor.ErrCircuitOpen):
		return "the module is not answering; it is paused for a moment."
	case errors.Is(err, executor.ErrBlockedAddress):
		return "the module's address is not allowed (private network)."
	}
	return "the module failed."
}

// ModuleInput is a remote module as a community admin configures it.
type ModuleInput struct {
	Name       string
	Kind       string
	URL        string
	Secret     string // webhook HMAC key or OpenWhisk "user:key"
	Namespace  string
	Action     string
	Function   string
	Region     string
	AccessKey  string
	SecretKey  string
	Timeout    time.Duration
	Permission string
}

// moduleState is a remote module as the audit log records it: which
// credentials it has, never what they are, and only the scheme and host of
// its address (a webhook's path or query may hold a token).
type moduleState struct {
	Name       string `json:"name"`
	Kind       string `json:"kind"`
	URL        string `json:"url,omitempty"`
	Namespace  string `json:"namespace,omitempty"`
	Action     string `json:"action,omitempty"`
	Function   string `json:"function,omitempty"`
	Region     string `json:"region,omitempty"`
	AccessKey  string `json:"access_key_id,omitempty"`
	Secret     string `json:"secret,omitempty"`
	SecretKey  string `json:"secret_access_key,omitempty"`
	TimeoutMS  int32  `json:"timeout_ms"`
	Permission string `json:"permission"`
	Enabled    bool   `json:"enabled"`
}

func moduleStateOf(m db.CommunityModule) moduleState {
	st := moduleState{Name: m.Name, Kind: m.Kind, Namespace: m.Namespace, Action: m.Action, Function: m.Function, Region: m.Region,
		AccessKey: audit.Secret(m.AccessKeyID != ""), Secret: audit.Secret(len(m.SecretSealed) > 0),
		SecretKey: audit.Secret(len(m.SecretKeySealed) > 0), TimeoutMS: m.TimeoutMs, Permission: m.Permission, Enabled: m.Enabled}
	if m.Url != "" {
		st.URL = hostOnly(m.Url)
	}
	return st
}

// hostOnly shortens a URL to scheme://host/… : a webhook's path or query may hold a token.
func hostOnly(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "(the module's address)"
	}
	if u.Path == "" || u.Path == "/" {
		if u.RawQuery == "" {
			return u.Scheme + "://" + u.Host
		}
	}
	return u.Scheme + "://" + u.Host + "/…"
}
