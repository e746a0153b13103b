package router

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/waddle/waddle/db"
	"github.com/waddle/waddle/executor"
	"github.com/waddle/waddle/problem"
	"github.com/waddle/waddle/secret"
)

// A marketplace module installed in a community runs its version's commands:
// rows of the community's commands marked with the install (install_id),
// registered by SetInstallCommands in the install's transaction. The
// snapshot holds each install's executor, the capabilities an admin granted,
// its config and whether its subscription has lapsed; running one of its
// commands calls the executor, then drops every part of the answer that needs
// a capability it was not granted (see capabilities.go).

// LapsedLine is what a chat user is told when a module's subscription has lapsed.
const LapsedLine = "this module's subscription has expired — ask an admin to renew."

// installed is one install as the router runs it.
type installed struct {
	id        int64
	versionID int64
	slug      string
	version   string
	prefix    string
	builtin   string        // a built-in module's name; "" for a remote executor
	remote    *RemoteModule // webhook, OpenWhisk or Lambda
	granted   map[string]bool
	config    map[string]any // non-secret values
	paid      bool
	status    string     // of the purchase: active, past_due, canceled, expired; "" with none
	expires   *time.Time // nil: no expiry (a one-time purchase)

	sealedConfig, sealedCreds []byte
}

// installManifest is the part of a version's manifest the router reads.
type installManifest struct {
	Executor struct {
		Kind      string `json:"kind"`
		Module    string `json:"module"`
		URL       string `json:"url"`
		Namespace string `json:"namespace"`
		Action    string `json:"action"`
		Function  string `json:"function"`
		Region    string `json:"region"`
		TimeoutMS int    `json:"timeout_ms"`
	} `json:"executor"`
}

func toInstalled(row db.InstallListForRouterRow) (*installed, error) {
	var m installManifest
	if err := json.Unmarshal(row.Manifest, &m); err != nil {
		return nil, fmt.Errorf("read the manifest of %s@%s: %w", row.Slug, row.Version, err)
	}
	in := &installed{id: row.ID, versionID: row.VersionID, slug: row.Slug, version: row.Version, prefix: row.CommandPrefix,
		granted: map[string]bool{}, config: map[string]any{}, paid: row.PriceKind != "free", status: row.PurchaseStatus,
		expires: row.PurchaseExpiresAt, sealedConfig: row.SecretsSealed, sealedCreds: row.CredentialsSealed}
	for _, g := range row.Granted {
		in.granted[g] = true
	}
	if len(row.Config) > 0 {
		if err := json.Unmarshal(row.Config, &in.config); err != nil {
			return nil, fmt.Errorf("read the config of %s: %w", row.Slug, err)
		}
	}
	ex := m.Executor
	if ex.Kind == "builtin" {
		in.builtin = ex.Module
		return in, nil
	}
	timeout := time.Duration(ex.TimeoutMS) * time.Millisecond
	if timeout <= 0 {
		timeout = 3 * time.Second
	}
	in.remote = &RemoteModule{Name: row.Slug, Kind: executor.Kind(ex.Kind), URL: ex.URL, Namespace: ex.Namespace, Action: ex.Action,
		Function: ex.Function, Region: ex.Region, Timeout: timeout, Permission: Everyone, Enabled: true}
	switch ex.Kind {
	case "webhook":
		in.remote.sealedSecret = row.SigningSecretSealed
	}
	return in, nil
}

// lapsed reports whether a paid module has no purchase in force at now.
// A subscription past due (Stripe still retrying the card) or cancelled
// runs to the end of what was paid.
func (in *installed) lapsed(now time.Time) bool {
	if !in.paid {
		return false
	}
	switch in.status {
	case "active", "past_due", "canceled":
		return in.expires != nil && !in.expires.After(now)
	}
	return true
}

// versionCredentials are a version's sealed executor credentials, as
// publishing seals them (marketplace.Credentials).
type versionCredentials struct {
	OpenWhisk       string `json:"openwhisk"` // "user:key"
	AccessKeyID     string `json:"access_key_id"`
	SecretAccessKey string `json:"secret_access_key"`
}

// target opens the install's executor target.
func (in *installed) target(box *secret.Box) (*RemoteModule, error) {
	m := *in.remote
	if (m.Kind == executor.Lambda || m.Kind == executor.OpenWhisk) && in.sealedCreds != nil {
		raw, err := box.Open(in.sealedCreds)
		if err != nil {
			return nil, fmt.Errorf("open the credentials of %s: %w", in.slug, err)
		}
		var c versionCredentials
		if err := json.Unmarshal(raw, &c); err != nil {
			return nil, fmt.Errorf("read the credentials of %s: %w", in.slug, err)
		}
		m.AccessKey, m.openSecretKey, m.openSecret = c.AccessKeyID, c.SecretAccessKey, c.OpenWhisk
	}
	return &m, nil
}

// configWith is the install's config with its secrets opened.
func (in *installed) configWith(box *secret.Box) (map[string]any, error) {
	out := make(map[string]any, len(in.config))
	for k, v := range in.config {
		out[k] = v
	}
	if in.sealedConfig == nil {
		return out, nil
	}
	raw, err := box.Open(in.sealedConfig)
	if err != nil {
		return nil, fmt.Errorf("open the secrets of %s: %w", in.slug, err)
	}
	var secrets map[string]any
	if err := json.Unmarshal(raw, &secrets); err != nil {
		return nil, fmt.Errorf("read the secrets of %s: %w", in.slug, err)
	}
	for k, v := range secrets {
		out[k] = v
	}
	return out, nil
}

// loadInstalls reads the community's installs and marks their commands.
func (s *snapshot) loadInstalls(ctx context.Context, q *db.Queries) error {
	rows, err := q.InstallListForRouter(ctx, s.communityID)
	if err != nil {
		return fmt.Errorf("load installed modules of %d: %w", s.communityID, err)
	}
	s.installs = make(map[int64]*installed, len(rows))
	for _, row := range rows {
		in, err := toInstalled(row)
		if err != nil {
			return err
		}
		s.installs[in.id] = in
	}
	for _, cmd := range s.list {
		if in := s.installs[cmd.InstallID]; in != nil {
			cmd.Module, cmd.ModuleVersion, cmd.ModuleVersionID = in.slug, in.version, in.versionID
		}
	}
	return nil
}

// installedCommand runs a command of an installed module, once its
// permission and cooldowns have passed.
func (h *handling) installedCommand(ctx context.Context, cmd *Command, inv Invocation, start time.Time) error {
	in := h.s.installs[cmd.InstallID]
	if in == nil {
		h.logExec(cmd, inv, "error", start, "the module's install is not loaded")
		return nil
	}
	if in.lapsed(time.Now()) {
		h.res.HandledBy += " (not run: the module's subscription has expired)"
		h.res.Responses = append(h.res.Responses, Response{Reply: "@" + h.ev.User.Shown() + " " + LapsedLine})
		h.logExec(cmd, inv, "lapsed", start, "")
		return nil
	}
	var out []Response
	var refused []string
	var err error
	if in.builtin != "" {
		out, err = h.runModule(ctx, in.builtin, &Call{h: h, Command: cmd, Inv: inv})
		if err == nil {
			out, refused = h.enforce(out, in.granted, in.slug)
			err = h.applyExtras(ctx, out, in.slug)
			out = withoutExtras(out)
		}
	} else {
		out, refused, err = h.callInstalled(ctx, cmd, in, inv)
	}
	if err != nil {
		if p := problem.As(err); p != nil {
			h.res.Responses = append(h.res.Responses, Response{Reply: "@" + h.ev.User.Shown() + " " + p.Message})
			h.logExecRefused(cmd, inv, "refused", start, p.Message, refused)
			return nil
		}
		h.logExecRefused(cmd, inv, "error", start, err.Error(), refused)
		h.r.metrics.moduleFailed(err)
		h.res.Responses = append(h.res.Responses, Response{Reply: "@" + h.ev.User.Shown() + " " + moduleError(err)})
		return nil
	}
	h.res.Responses = append(h.res.Responses, out...)
	h.logExecRefused(cmd, inv, "ok", start, "", refused)
	return nil
}

// callInstalled calls an install's remote executor with its config (and the
// caller's balance when it may read points).
func (h *handling) callInstalled(ctx context.Context, cmd *Command, in *installed, inv Invocation) ([]Response, []string, error) {
	m, err := in.target(h.r.box)
	if err != nil {
		return nil, nil, err
	}
	cfg, err := in.configWith(h.r.box)
	if err != nil {
		return nil, nil, err
	}
	x := &remoteCall{command: ownName(cmd.Name, in.prefix), config: cfg, version: in.version, granted: in.granted}
	if in.granted["points:read"] {
		n, err := balance(ctx, h.read(), h.s.communityID, h.ev.Platform, h.ev.User.ID)
		if err != nil {
			return nil, nil, err
		}
		x.balance = &n
	}
	return h.callRemoteWith(ctx, m, inv, nil, x)
}

// ownName is a command's name as its module declared it, without the
// prefix it was installed under.
func ownName(name, prefix string) string {
	if prefix == "" {
		return name
	}
	if rest, ok := strings.CutPrefix(name, prefix+"_"); ok {
		return rest
	}
	return name
}
