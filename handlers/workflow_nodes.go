package handlers

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/waddle/waddle/problem"
	"github.com/waddle/waddle/router"
	"github.com/waddle/waddle/views"
	"github.com/waddle/waddle/workflow"
)

// The builder's side panel: one node's label and configuration as a form,
// generated from its type's configuration struct (its JSON names and Go
// types), saved into the draft with the validation's findings beside their
// fields.

// fieldChoices are the values a configuration field may take, by
// "type.field" or, for every type, by "field".
var fieldChoices = map[string][]string{
	"platforms":                  router.Platforms,
	"platform":                   router.Platforms,
	"permission":                 router.Permissions,
	"trigger_event.kinds":        eventKinds(),
	"trigger_webhook.mode":       {workflow.WebhookAsync, workflow.WebhookSync},
	"trigger_schedule.kind":      {workflow.ScheduleCron, workflow.ScheduleInterval, workflow.ScheduleOnce},
	"action_webhook.method":      {"GET", "POST", "PUT", "PATCH", "DELETE"},
	"action_chat_message.target": {"trigger", "channel", "private"},
	"action_module.as":           {"trigger", "bot"},
	"scope":                      {"run", "workflow", "community"},
}

func eventKinds() []string {
	out := make([]string, len(router.Kinds))
	for i, k := range router.Kinds {
		out[i] = string(k)
	}
	return out
}

// longText are field names shown as a text area.
var longText = []string{"text", "body", "message", "template", "code", "script", "expression", "value", "args"}

// configField is one field of a configuration struct.
type configField struct {
	name  string // JSON name
	index int
	kind  string // views.NodeField kinds
	typ   reflect.Type
}

func configFields(typ string, cfg workflow.Config) []configField {
	t := reflect.TypeOf(cfg)
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return nil
	}
	var out []configField
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out = append(out, configField{name: name, index: i, typ: f.Type, kind: fieldKind(typ, name, f.Type)})
	}
	return out
}

func choicesOf(typ, name string) []string {
	if c, ok := fieldChoices[typ+"."+name]; ok {
		return c
	}
	return fieldChoices[name]
}

func fieldKind(typ, name string, t reflect.Type) string {
	base := t
	if base.Kind() == reflect.Pointer {
		base = base.Elem()
	}
	switch base.Kind() {
	case reflect.String:
		switch {
		case choicesOf(typ, name) != nil:
			return "choice"
		case containsWord(longText, name):
			return "textarea"
		}
		return "text"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Uint, reflect.Uint16, reflect.Uint32:
		return "number"
	case reflect.Float32, reflect.Float64:
		return "decimal"
	case reflect.Bool:
		return "checkbox"
	case reflect.Slice:
		if base.Elem().Kind() == reflect.String {
			if choicesOf(typ, name) != nil {
				return "choices"
			}
			return "lines"
		}
	}
	return "json"
}

func containsWord(words []string, name string) bool {
	for _, w := range words {
		if name == w || strings.HasSuffix(name, "_"+w) {
			return true
		}
	}
	return false
}

// nodeFields renders a configuration's fields with their current values.
func nodeFields(typ string, cfg workflow.Config) []views.NodeField {
	v := reflect.ValueOf(cfg)
	if v.Kind() == reflect.Pointer {
		v = v.Elem()
	}
	var out []views.NodeField
	for _, f := range configFields(typ, cfg) {
		fv := v.Field(f.index)
		nf := views.NodeField{Name: f.name, Label: fieldLabel(f.name), Kind: f.kind, Options: choicesOf(typ, f.name)}
		if fv.Kind() == reflect.Pointer {
			if fv.IsNil() {
				out = append(out, nf)
				continue
			}
			fv = fv.Elem()
		}
		switch f.kind {
		case "text", "textarea", "choice":
			nf.Value = fv.String()
		case "number":
			nf.Value = fmt.Sprint(fv.Interface())
		case "decimal":
			nf.Value = strconv.FormatFloat(fv.Float(), 'f', -1, 64)
		case "checkbox":
			nf.Checked = fv.Bool()
		case "choices":
			nf.Values = fv.Interface().([]string)
		case "lines":
			nf.Value = strings.Join(fv.Interface().([]string), "\n")
		default:
			if !fv.IsZero() {
				raw, _ := json.MarshalIndent(fv.Interface(), "", "  ")
				nf.Value = string(raw)
			}
		}
		out = append(out, nf)
	}
	return out
}

// fieldLabel turns a JSON name into words: "user_cooldown_seconds" is
// "User cooldown seconds".
func fieldLabel(name string) string {
	s := strings.ReplaceAll(name, "_", " ")
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// maxFieldBytes bounds one field of a node's form.
const maxFieldBytes = 32 << 10

// readConfig decodes a node's form into its type's configuration JSON;
// empty numbers keep the defaults. An error names its field.
func readConfig(k *workflow.Kind, form url.Values) (json.RawMessage, error) {
	def := k.New()
	defV := reflect.ValueOf(def).Elem()
	obj := map[string]any{}
	for _, f := range configFields(k.Type, def) {
		s := form.Get(f.name)
		if len(s) > maxFieldBytes || !utf8.ValidString(s) {
			return nil, problem.Invalidf(f.name, "At most %d KiB of text.", maxFieldBytes>>10)
		}
		switch f.kind {
		case "text", "textarea", "choice":
			if f.typ.Kind() == reflect.Pointer && s == "" {
				continue
			}
			obj[f.name] = s
		case "number", "decimal":
			s = strings.TrimSpace(s)
			if s == "" {
				if f.typ.Kind() != reflect.Pointer {
					obj[f.name] = defV.Field(f.index).Interface()
				}
				continue
			}
			n, err := strconv.ParseFloat(s, 64)
			if err != nil || (f.kind == "number" && n != float64(int64(n))) {
				what := "a whole number"
				if f.kind == "decimal" {
					what = "a number"
				}
				return nil, problem.Invalidf(f.name, "%s is %s; %q is not.", fieldLabel(f.name), what, truncate(s))
			}
			obj[f.name] = n
		case "checkbox":
			obj[f.name] = s != ""
		case "choices":
			obj[f.name] = nonNil(form[f.name])
		case "lines":
			lines := []string{}
			for _, l := range strings.Split(s, "\n") {
				if l = strings.TrimSpace(l); l != "" {
					lines = append(lines, l)
				}
			}
			obj[f.name] = lines
		default:
			if strings.TrimSpace(s) == "" {
				continue
			}
			if !json.Valid([]byte(s)) {
				return nil, problem.Invalidf(f.name, "%s is JSON here, and this is not valid JSON.", fieldLabel(f.name))
			}
			obj[f.name] = json.RawMessage(s)
		}
	}
	raw, err := json.Marshal(obj)
	if err != nil {
		return nil, fmt.Errorf("encode configuration: %w", err)
	}
	cfg, err := workflow.DecodeConfig(k, raw)
	if err != nil {
		return nil, err
	}
	if raw, err = json.Marshal(cfg); err != nil {
		return nil, fmt.Errorf("encode configuration: %w", err)
	}
	return raw, nil
}

func truncate(s string) string {
	if utf8.RuneCountInString(s) <= 20 {
		return s
	}
	return string([]rune(s)[:20]) + "…"
}

// nodeForm builds the panel of node id (of type typ when the draft does not
// hold it yet) with the draft's findings about it.
func nodeForm(wf *workflow.Workflow, id, typ string, canManage bool) (views.WorkflowNodeForm, error) {
	n, known := wf.Definition.Node(id)
	if known {
		typ = n.Type
	}
	k, ok := workflow.KindOf(typ)
	if !ok {
		return views.WorkflowNodeForm{}, problem.New(problem.NotFound, "There is no node %q of a known type in this workflow.", id)
	}
	cfg := k.New()
	f := views.WorkflowNodeForm{CommunityID: wf.CommunityID, WorkflowID: wf.ID, NodeID: id, Type: k.Type, Title: k.Title,
		Summary: k.Summary, CanManage: canManage, Known: known}
	if known {
		f.Label = n.Label
		if c, err := workflow.DecodeConfig(k, n.Config); err == nil {
			cfg = c
		}
	}
	f.Fields = nodeFields(k.Type, cfg)
	f.Outputs = nonNil(k.Outputs(cfg))
	rep := reportOf(workflow.Validate(&wf.Definition))
	f.Report = rep
	if known {
		f.Issues(rep.ForNode(id))
	}
	return f, nil
}

// nodePanel answers GET …/nodes/{node}?type=T: the panel's form.
func (h *Handler) nodePanel(w http.ResponseWriter, r *http.Request) {
	wf, err := h.workflowOf(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	f, err := nodeForm(wf, chiURLParam(r, "node"), r.URL.Query().Get("type"), membershipOf(r).Role.CanManage())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if !isHTMX(r) {
		http.Redirect(w, r, builderPath(wf.CommunityID, wf.ID), http.StatusSeeOther)
		return
	}
	h.render(w, r, http.StatusOK, views.NodeForm(f))
}

// saveNode answers POST …/nodes/{node}: the node's label and configuration
// are stored in the draft, and the form comes back with the findings.
func (h *Handler) saveNode(w http.ResponseWriter, r *http.Request) {
	wf, err := h.workflowOf(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	id := chiURLParam(r, "node")
	n, ok := wf.Definition.Node(id)
	if !ok {
		h.fail(w, r, problem.New(problem.Conflict, "Save the draft first: node %q is not in it yet.", id))
		return
	}
	k, ok := workflow.KindOf(n.Type)
	if !ok {
		h.fail(w, r, problem.New(problem.NotFound, "Node %q has an unknown type.", id))
		return
	}
	if err := parseForm(w, r); err != nil {
		h.fail(w, r, err)
		return
	}
	label := strings.TrimSpace(r.PostForm.Get("node_label"))
	var saveErr error
	switch {
	case utf8.RuneCountInString(label) > workflow.MaxLabel || !utf8.ValidString(label):
		saveErr = problem.Invalidf("node_label", "A label has at most %d characters.", workflow.MaxLabel)
	default:
		var raw json.RawMessage
		if raw, saveErr = readConfig(k, r.PostForm); saveErr == nil {
			n.Label, n.Config = label, raw
			var saved *workflow.Workflow
			saved, _, saveErr = h.cfg.Workflows.Update(r.Context(), wf.CommunityID, wf.ID, auditActor(r),
				workflow.Input{Name: wf.Name, Description: wf.Description, Definition: wf.Definition})
			if saveErr == nil {
				wf = saved
			}
		}
	}
	if saveErr != nil && problem.As(saveErr) == nil {
		h.fail(w, r, saveErr)
		return
	}
	f, err := nodeForm(wf, id, "", true)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if saveErr != nil {
		// The form shows what was typed, with the error beside its field.
		f.Label = label
		f.Fields = typedFields(f.Fields, r.PostForm)
		f.FormError = problem.As(saveErr).Message
		f.FormField = problem.As(saveErr).Field
	} else {
		f.Saved = true
	}
	h.render(w, r, http.StatusOK, views.NodeForm(f))
}

// typedFields puts the submitted values back into a form's fields.
func typedFields(fields []views.NodeField, form url.Values) []views.NodeField {
	for i := range fields {
		f := &fields[i]
		switch f.Kind {
		case "checkbox":
			f.Checked = form.Get(f.Name) != ""
		case "choices":
			f.Values = form[f.Name]
		default:
			f.Value = form.Get(f.Name)
		}
	}
	return fields
}
