package handlers

import (
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/waddle/waddle/problem"
	"github.com/waddle/waddle/router"
	"github.com/waddle/waddle/views"
)

// commandFields maps the fields the router names in its refusals to the
// command forms' fields, where they differ.
var commandFields = map[string]string{"cooldown": "user_cooldown", "alias": "aliases"}

// commandFieldOf is the command form's field err is about. The router names
// both cooldowns "cooldown": the one out of range is the field.
func commandFieldOf(err error, in router.CommandInput) string {
	f := fieldOf(err, commandFields)
	if p := problem.As(err); p != nil && p.Field == "cooldown" && in.UserCooldown >= 0 && in.UserCooldown <= 86400 {
		return "global_cooldown"
	}
	return f
}

// maxAliasesInForm bounds the names the edit form's Aliases field may hold.
const maxAliasesInForm = 20

// builtins lists the built-in commands in the order the router's help lists
// them, with the usage and level their modules declare.
func (h *Handler) builtins() []views.Builtin {
	decls := map[string]router.Declaration{}
	for _, d := range h.settings.Builtins() {
		decls[d.Name] = d
	}
	out := make([]views.Builtin, 0, len(builtinNames))
	for _, n := range builtinNames {
		d := decls[n]
		out = append(out, views.Builtin{Name: n, Usage: d.Usage, Permission: d.Permission})
	}
	return out
}

// aliasesOf reads the edit form's Aliases field: names separated by spaces
// or commas, each without its prefix, lower-case, once.
func aliasesOf(s string) ([]string, error) {
	var out []string
	for _, a := range strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == ',' || r == '\t' || r == '\n' || r == '\r' }) {
		for _, p := range router.Prefixes {
			a = strings.TrimPrefix(a, p)
		}
		a = strings.ToLower(a)
		if a == "" || len(a) > 32 || strings.TrimFunc(a, func(r rune) bool { return r == '_' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' }) != "" {
			return nil, problem.Invalidf("aliases", "%q cannot be an alias: use 1 to 32 letters, digits or underscores.", truncateName(a))
		}
		if !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	if len(out) > maxAliasesInForm {
		return nil, problem.Invalidf("aliases", "A command has at most %d aliases here.", maxAliasesInForm)
	}
	return out, nil
}

func truncateName(s string) string {
	if len(s) > 40 {
		return strings.ToValidUTF8(s[:40], "") + "…"
	}
	return s
}

// checkAliases refuses a malformed Aliases field before anything is saved.
func checkAliases(v url.Values) error {
	if _, ok := v["aliases"]; !ok {
		return nil
	}
	_, err := aliasesOf(v.Get("aliases"))
	return err
}

// saveWithAliases adds the aliases the edit form's Aliases field names
// that the command lacks, then saves the command with save, then removes
// the aliases the field no longer names (all left as they are when the form
// has no Aliases field). If an alias or the save is refused, the aliases
// added are removed again, so a refused form changes nothing. It returns
// the command's aliases.
func (h *Handler) saveWithAliases(r *http.Request, cmd *router.Command, v url.Values, save func() error) ([]string, error) {
	if _, ok := v["aliases"]; !ok {
		return cmd.Aliases, save()
	}
	want, err := aliasesOf(v.Get("aliases"))
	if err != nil {
		return cmd.Aliases, err
	}
	ctx, cid, by := r.Context(), membershipOf(r).ID, auditActor(r)
	var added []string
	undo := func() {
		for _, a := range added {
			_ = h.settings.DeleteAlias(ctx, by, cid, a) // best effort: the refusal is what the user sees
		}
	}
	for _, a := range want {
		if !slices.Contains(cmd.Aliases, a) {
			if err := h.settings.AddAlias(ctx, by, cid, a, cmd.Name); err != nil {
				undo()
				return cmd.Aliases, err
			}
			added = append(added, a)
		}
	}
	if err := save(); err != nil {
		undo()
		return cmd.Aliases, err
	}
	for _, a := range cmd.Aliases {
		if !slices.Contains(want, a) {
			if err := h.settings.DeleteAlias(ctx, by, cid, a); err != nil {
				return cmd.Aliases, err
			}
		}
	}
	return want, nil
}

// commandPreview answers POST /commands/preview: the response field filled
// with sample values, for the forms' live preview.
func (h *Handler) commandPreview(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(w, r); err != nil {
		h.fail(w, r, err)
		return
	}
	resp := r.PostForm.Get("response")
	if len(resp) > 4*1024 {
		resp = resp[:4*1024]
	}
	h.render(w, r, http.StatusOK, views.CommandPreview(router.PreviewReply(resp)))
}
