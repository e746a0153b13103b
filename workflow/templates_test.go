package workflow_test

import (
	"context"
	"testing"

	"github.com/waddle/waddle/workflow"
)

func TestBuiltinTemplatesValidate(t *testing.T) {
	h := newHarness(t, nil)
	ctx := context.Background()
	list, err := h.svc.Templates(ctx, h.cid)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 5 {
		t.Fatalf("%d templates, want the 5 built-in ones", len(list))
	}
	for _, tpl := range list {
		rep := workflow.Validate(&tpl.Definition)
		for _, e := range rep.Errors {
			// The daily announcement leaves the channels to fill in.
			if tpl.ID == "builtin:daily-announcement" && (e.Field == "server" || e.Field == "channel") {
				continue
			}
			t.Errorf("template %s: %v", tpl.Name, e)
		}
		if len(rep.Warnings) > 0 {
			t.Errorf("template %s warns: %v", tpl.Name, rep.Warnings)
		}
	}
}

func TestInstantiateAndSaveTemplates(t *testing.T) {
	h := newHarness(t, nil)
	ctx := context.Background()
	w, _, err := h.svc.Instantiate(ctx, h.cid, h.by, "builtin:thank-raiders", "")
	if err != nil {
		t.Fatal(err)
	}
	if w.Name != "Thank raiders" || w.Status != workflow.StatusDraft || len(w.Definition.Nodes) != 3 {
		t.Fatalf("instantiated %+v", w)
	}
	if _, _, err := h.svc.Instantiate(ctx, h.cid, h.by, "builtin:thank-raiders", ""); err == nil {
		t.Error("a second workflow with the same name was made")
	}
	saved, err := h.svc.SaveTemplate(ctx, h.cid, w.ID, h.by, "Our raid thanks", "with our alert")
	if err != nil {
		t.Fatal(err)
	}
	got, err := h.svc.Template(ctx, h.cid, saved.ID)
	if err != nil || got.Name != "Our raid thanks" || len(got.Definition.Nodes) != 3 {
		t.Fatalf("saved template %+v: %v", got, err)
	}
	if _, err := h.svc.Template(ctx, h.cid+1, saved.ID); err != workflow.ErrTemplateNotFound {
		t.Errorf("another community read the template: %v", err)
	}
	if _, err := h.svc.Template(ctx, h.cid, "builtin:nope"); err != workflow.ErrTemplateNotFound {
		t.Errorf("unknown built-in: %v", err)
	}
	if err := h.svc.DeleteTemplate(ctx, h.cid, "builtin:thank-raiders"); err != workflow.ErrTemplateNotFound {
		t.Errorf("deleting a built-in: %v", err)
	}
	if err := h.svc.DeleteTemplate(ctx, h.cid, saved.ID); err != nil {
		t.Fatal(err)
	}
}
