package handlers_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/auth"
	"github.com/waddle/waddle/community"
	"github.com/waddle/waddle/db"
	"github.com/waddle/waddle/labels"
)

func TestLabelsPages(t *testing.T) {
	t.Parallel()
	b := newBotEnv(t)
	// Managers create; bad input is shown next to its field.
	res := b.admin.post(b.path("/labels"), url.Values{"name": {"Artist"}, "colour": {"#ff8800"}, "description": {"Makes art"}}, nil)
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("create: %d %.300s", res.StatusCode, res.body)
	}
	l, err := b.cfg.Labels.Get(context.Background(), b.c.ID, "artist")
	if err != nil || l.Colour != "#ff8800" || res.Header.Get("Location") != b.path("/labels/%d", l.ID) {
		t.Fatalf("created %+v %v, to %s", l, err, res.Header.Get("Location"))
	}
	res = b.admin.post(b.path("/labels"), url.Values{"name": {"artist"}, "colour": {"#000000"}}, nil)
	doc := res.doc(t)
	if res.StatusCode != http.StatusConflict || doc.Find(`[data-testid=form-error][data-field=name]`).Length() != 1 {
		t.Fatalf("a taken name: %d %.300s", res.StatusCode, res.body)
	}
	res = b.admin.post(b.path("/labels"), url.Values{"name": {"Ok"}, "colour": {"orange"}}, nil)
	if res.StatusCode != http.StatusBadRequest || res.doc(t).Find(`[data-testid=form-error][data-field=colour]`).Length() != 1 {
		t.Fatalf("a bad colour: %d", res.StatusCode)
	}
	// Members see the list with swatches, and not the form; they may not create.
	doc = b.member.get(b.path("/labels"), nil).doc(t)
	chip := doc.Find(`[data-testid=label-row] [data-testid=label-chip]`)
	if chip.Length() != 1 || !strings.Contains(chip.Text(), "Artist") || chip.Find(`circle[fill="#ff8800"]`).Length() != 1 {
		t.Fatalf("the list: %s", doc.Find(`[data-testid=labels]`).Text())
	}
	if doc.Find(`[data-testid=label-create]`).Length() != 0 || doc.Find(`[data-testid=community-nav] a[href$="/labels"]`).Length() != 1 {
		t.Fatal("a member sees the create form, or no Labels entry in the navigation")
	}
	if res := b.member.post(b.path("/labels"), url.Values{"name": {"Mine"}}, nil); res.StatusCode != http.StatusForbidden {
		t.Fatalf("a member creates: %d", res.StatusCode)
	}
	// The label's page: edit, the groups placeholder, delete.
	doc = b.admin.get(b.path("/labels/%d", l.ID), nil).doc(t)
	if g := doc.Find(`[data-testid=label-groups]`); g.AttrOr("hx-get", "") != b.path("/labels/%d/groups", l.ID) || g.AttrOr("hx-trigger", "") != "load" {
		t.Fatalf("groups placeholder: %v", g.Nodes)
	}
	res = b.admin.post(b.path("/labels/%d", l.ID), url.Values{"name": {"Artists"}, "colour": {"#00AA00"}, "description": {""}}, nil)
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("edit: %d", res.StatusCode)
	}
	if l2, _ := b.cfg.Labels.Get(context.Background(), b.c.ID, fmt.Sprint(l.ID)); l2.Name != "Artists" || l2.Colour != "#00aa00" {
		t.Fatalf("edited: %+v", l2)
	}
	if res := b.admin.post(b.path("/labels/%d/delete", l.ID), nil, nil); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("delete: %d", res.StatusCode)
	}
	if n := b.count("SELECT count(*) FROM labels WHERE community_id = $1", b.c.ID); n != 0 {
		t.Fatalf("%d labels after the delete", n)
	}
	// Hub-wide labels on the community: managers choose up to five.
	var hub []string
	for i := range 6 {
		l, err := b.cfg.Labels.Create(context.Background(), audit.Actor{}, 0, labels.Input{Name: fmt.Sprintf("Hub %d", i)})
		if err != nil {
			t.Fatal(err)
		}
		hub = append(hub, fmt.Sprint(l.ID))
	}
	res = b.admin.post(b.path("/community-labels"), url.Values{"label": hub}, nil)
	if res.StatusCode != http.StatusBadRequest || !strings.Contains(res.doc(t).Find(`[data-testid=form-error]`).Text(), "at most 5") {
		t.Fatalf("six community labels: %d", res.StatusCode)
	}
	if res := b.admin.post(b.path("/community-labels"), url.Values{"label": hub[:2]}, nil); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("two community labels: %d", res.StatusCode)
	}
	doc = b.member.get(b.path("/labels"), nil).doc(t)
	if n := doc.Find(`[data-testid=community-labels] [data-testid=label-chip]`).Length(); n != 2 || doc.Find(`[data-testid=community-labels-form]`).Length() != 0 {
		t.Fatalf("a member sees %d community labels (want 2) or the form", n)
	}
	if res := b.member.post(b.path("/community-labels"), url.Values{"label": hub[:1]}, nil); res.StatusCode != http.StatusForbidden {
		t.Fatalf("a member sets the community's labels: %d", res.StatusCode)
	}
}

func TestPersonLabelsPanel(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	root := e.user("root@example.com", true)
	mod := e.user("mod@example.com", false)
	mo := e.user("mo@example.com", false)
	b := &botEnv{env: e, c: e.community(root, "ducks", map[auth.User]community.Role{mod: community.Moderator, mo: community.Member})}
	b.member = e.signedIn(mo.Email)
	mc := e.signedIn(mod.Email)
	var ids []int64
	for i := range 6 {
		l, err := b.cfg.Labels.Create(ctx, audit.Actor{}, b.c.ID, labels.Input{Name: fmt.Sprintf("L%d", i), Colour: "#123456"})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, l.ID)
	}
	acc, err := db.New(b.pool).IdentityAccountEnsure(ctx, db.IdentityAccountEnsureParams{Platform: "discord", AccountID: "77", UserName: "dana"})
	if err != nil {
		t.Fatal(err)
	}
	p := acc.IdentityID
	// Not yet in the community: no panel.
	if res := mc.get(b.path("/people/%d/labels", p), htmx); res.StatusCode != http.StatusNotFound {
		t.Fatalf("a person the community does not know: %d", res.StatusCode)
	}
	// Nor can it be labelled before the community has met them.
	if _, err := b.cfg.Labels.Add(ctx, audit.Actor{}, b.c.ID, p, "L0"); !errors.Is(err, labels.ErrPersonNotFound) {
		t.Fatalf("labelling a person the community does not know: %v", err)
	}
	if res := mc.post(b.path("/people/%d/labels", p), url.Values{"label": {fmt.Sprint(ids[0])}}, htmx); res.StatusCode != http.StatusNotFound {
		t.Fatalf("labelling a person the community does not know from the hub: %d", res.StatusCode)
	}
	b.mustPerson(t, b.c.ID, "discord", "77", "dana", 0, 0)
	if _, err := b.cfg.Labels.Add(ctx, audit.Actor{}, b.c.ID, p, "L0"); err != nil {
		t.Fatal(err)
	}
	// A moderator adds through HTMX and gets the fragment back.
	for _, id := range ids[1:5] {
		res := mc.post(b.path("/people/%d/labels", p), url.Values{"label": {fmt.Sprint(id)}}, htmx)
		doc := res.doc(t)
		if res.StatusCode != 200 || doc.Find(`[data-testid=person-labels-panel]`).Length() != 1 || doc.Find(`[data-testid=community-nav]`).Length() != 0 {
			t.Fatalf("add: %d %.300s", res.StatusCode, res.body)
		}
	}
	doc := mc.get(b.path("/people/%d/labels", p), htmx).doc(t)
	if n := doc.Find(`[data-testid=person-label-list] [data-testid=label-chip]`).Length(); n != 5 || doc.Find(`[data-testid=person-labels-full]`).Length() != 1 {
		t.Fatalf("%d chips, want 5 and the limit said", n)
	}
	// The sixth is refused in the fragment, with 200 for HTMX.
	res := mc.post(b.path("/people/%d/labels", p), url.Values{"label": {fmt.Sprint(ids[5])}}, htmx)
	if res.StatusCode != 200 || !strings.Contains(res.doc(t).Find(`[data-testid=form-error]`).Text(), "already has 5 labels") {
		t.Fatalf("sixth: %d %.400s", res.StatusCode, res.body)
	}
	// Without HTMX: a redirect to the full page after a change, the page with the error otherwise.
	res = mc.post(b.path("/people/%d/labels/%d/remove", p, ids[0]), nil, nil)
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != b.path("/people/%d/labels", p) {
		t.Fatalf("remove without HTMX: %d %s", res.StatusCode, res.Header.Get("Location"))
	}
	full := mc.get(b.path("/people/%d/labels", p), nil).doc(t)
	if full.Find(`[data-testid=community-nav]`).Length() != 1 || full.Find(`[data-testid=person-label-list] [data-testid=label-chip]`).Length() != 4 {
		t.Fatal("the full page lacks the navigation or shows the wrong labels")
	}
	res = mc.post(b.path("/people/%d/labels", p), url.Values{"label": {"no such"}}, nil)
	if res.StatusCode != http.StatusBadRequest || !strings.Contains(res.body, "no such label") {
		t.Fatalf("an unknown label without HTMX: %d", res.StatusCode)
	}
	// Plain members see the labels but no controls, and may not change them.
	doc = b.member.get(b.path("/people/%d/labels", p), htmx).doc(t)
	if doc.Find(`[data-testid=person-label-add]`).Length() != 0 || doc.Find(`[data-testid=person-label-remove]`).Length() != 0 {
		t.Fatal("a member sees the controls")
	}
	if res := b.member.post(b.path("/people/%d/labels", p), url.Values{"label": {"L5"}}, htmx); res.StatusCode != http.StatusForbidden {
		t.Fatalf("a member labels: %d", res.StatusCode)
	}
	if n := b.count("SELECT count(*) FROM person_labels WHERE community_id = $1 AND identity_id = $2", b.c.ID, p); n != 4 {
		t.Fatalf("%d labels, want 4", n)
	}
}
