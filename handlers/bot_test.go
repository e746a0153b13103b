package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/auth"
	"github.com/waddle/waddle/community"
	"github.com/waddle/waddle/router"
)

// botEnv is a community with an owner (root), an admin (ann) and a plain member (mo).
type botEnv struct {
	*env
	c      community.Community
	admin  *client
	member *client
}

func newBotEnv(t *testing.T) *botEnv {
	t.Helper()
	e := newEnv(t)
	root := e.user("root@example.com", true)
	ann := e.user("ann@example.com", false)
	mo := e.user("mo@example.com", false)
	c := e.community(root, "ducks", map[auth.User]community.Role{ann: community.Admin, mo: community.Member})
	return &botEnv{env: e, c: c, admin: e.signedIn(ann.Email), member: e.signedIn(mo.Email)}
}

func (b *botEnv) path(format string, args ...any) string {
	return fmt.Sprintf("/c/%d", b.c.ID) + fmt.Sprintf(format, args...)
}

// mustCommand creates a command through the router.
func (b *botEnv) mustCommand(t *testing.T, name, response string) *router.Command {
	t.Helper()
	c, err := b.settings.CreateCommand(context.Background(), audit.Actor{}, b.c.ID, router.CommandInput{Name: name, Response: response, Permission: router.Everyone, Enabled: true})
	if err != nil {
		t.Fatalf("create command %s: %v", name, err)
	}
	return c
}

// command reads a command back from the router.
func (b *botEnv) command(t *testing.T, name string) *router.Command {
	t.Helper()
	c, err := b.settings.CommandByName(context.Background(), b.c.ID, name)
	if err != nil {
		t.Fatalf("command %s: %v", name, err)
	}
	return c
}

func formError(t *testing.T, res response) string {
	t.Helper()
	return res.doc(t).Find(`[data-testid=form-error]`).Text()
}

func TestMemberMayLookNotChange(t *testing.T) {
	t.Parallel()
	b := newBotEnv(t)
	ctx := context.Background()
	cmd := b.mustCommand(t, "hug", "hugs")
	rule, err := b.settings.CreateRule(ctx, audit.Actor{}, b.c.ID, router.RuleInput{Priority: 1, Match: router.MatchContains, Pattern: "spam", Action: router.ActionDelete})
	if err != nil {
		t.Fatal(err)
	}
	ent, err := b.settings.LinkEntity(ctx, audit.Actor{}, b.c.ID, router.Discord, "1234", "Ducks guild")
	if err != nil {
		t.Fatal(err)
	}
	pages := []struct{ path, testid, managerOnly string }{
		{"/commands", "commands", "command-create"},
		{"/moderation", "rules", "rule-create"},
		{"/points", "points-values", "points-input"},
		{"/executions", "exec-table", ""},
		{"/servers", "servers", "server-unlink"},
		{"/simulator", "sim-form", ""},
		{"/overlays", "overlays-help", "overlay-create"},
	}
	for _, p := range pages {
		res := b.member.get(b.path("%s", p.path), nil)
		doc := res.doc(t)
		if res.StatusCode != 200 || doc.Find(fmt.Sprintf(`[data-testid=%q]`, p.testid)).Length() != 1 {
			t.Errorf("member GET %s: %d", p.path, res.StatusCode)
		}
		if p.managerOnly != "" && doc.Find(fmt.Sprintf(`[data-testid=%q]`, p.managerOnly)).Length() != 0 {
			t.Errorf("member GET %s shows %s", p.path, p.managerOnly)
		}
		if n := doc.Find(`[data-testid=community-nav] a`).Length(); n != 17 {
			t.Errorf("%s: the member's navigation has %d links, want the 17 pages a member may see", p.path, n)
		}
		// The manager sees the forms.
		if p.managerOnly != "" && b.admin.get(b.path("%s", p.path), nil).doc(t).Find(fmt.Sprintf(`[data-testid=%q]`, p.managerOnly)).Length() == 0 {
			t.Errorf("admin GET %s lacks %s", p.path, p.managerOnly)
		}
	}
	if doc := b.member.get(b.path("/commands"), nil).doc(t); doc.Find(`[data-testid=command-edit]`).Length() != 0 || doc.Find(`[data-testid=prefix]`).Text() != "!" {
		t.Error("a member sees edit links or no prefix")
	}
	// The simulator page of a member offers dry runs only.
	if doc := b.member.get(b.path("/simulator"), nil).doc(t); doc.Find(`input[type=hidden][name=dry_run]`).Length() != 1 {
		t.Error("the member's simulator form does not force a dry run")
	}

	writes := []struct {
		method, path string
		form         url.Values
	}{
		{"POST", "/prefix", url.Values{"prefix": {"?"}}},
		{"POST", "/commands", url.Values{"name": {"evil"}, "response": {"x"}, "permission": {"everyone"}}},
		{"GET", fmt.Sprintf("/commands/%d/edit", cmd.ID), nil},
		{"POST", fmt.Sprintf("/commands/%d", cmd.ID), url.Values{"response": {"pwned"}, "permission": {"everyone"}}},
		{"POST", fmt.Sprintf("/commands/%d/toggle", cmd.ID), nil},
		{"POST", fmt.Sprintf("/commands/%d/delete", cmd.ID), nil},
		{"POST", fmt.Sprintf("/commands/%d/aliases", cmd.ID), url.Values{"alias": {"evil"}}},
		{"POST", fmt.Sprintf("/commands/%d/aliases/x/delete", cmd.ID), nil},
		{"POST", "/moderation/rules", url.Values{"match": {"contains"}, "pattern": {"x"}, "action": {"ban"}}},
		{"POST", fmt.Sprintf("/moderation/rules/%d/delete", rule.ID), nil},
		{"POST", "/points/twitch.follow", url.Values{"points": {"99"}}},
		{"POST", "/servers", url.Values{"platform": {"twitch"}, "server": {"evilchan"}}},
		{"POST", fmt.Sprintf("/servers/%d/unlink", ent.ID), nil},
		{"POST", "/simulator", url.Values{"platform": {"twitch"}, "user": {"mo"}, "kind": {"follow"}}}, // not a dry run
	}
	for _, w := range writes {
		for _, hdr := range []http.Header{nil, htmx} {
			var res response
			if w.method == "GET" {
				res = b.member.get(b.path("%s", w.path), hdr)
			} else {
				res = b.member.post(b.path("%s", w.path), w.form, hdr)
			}
			if res.StatusCode != http.StatusForbidden {
				t.Errorf("member %s %s (HTMX %v): %d, want 403", w.method, w.path, hdr != nil, res.StatusCode)
			}
		}
	}
	c := b.command(t, "hug")
	if c.Response != "hugs" || !c.Enabled || b.count("SELECT count(*) FROM commands") != 1 || b.count("SELECT count(*) FROM command_aliases") != 0 {
		t.Errorf("a member changed the commands: %+v", c)
	}
	if b.count("SELECT count(*) FROM moderation_rules") != 1 || b.count("SELECT count(*) FROM platform_entities") != 1 ||
		b.count("SELECT count(*) FROM points_values") != 0 || b.count("SELECT count(*) FROM points_ledger") != 0 ||
		b.count("SELECT count(*) FROM communities WHERE command_prefix <> '!'") != 0 {
		t.Error("a member changed rules, servers, points or the prefix")
	}
	// A member's dry run works.
	res := b.member.post(b.path("/simulator"), url.Values{"platform": {"twitch"}, "user": {"mo"}, "kind": {"chat_message"}, "text": {"!hug"}, "dry_run": {"on"}}, htmx)
	if res.StatusCode != 200 || !strings.Contains(res.doc(t).Find(`[data-testid=sim-reply]`).Text(), "hugs") {
		t.Errorf("member dry run: %d %s", res.StatusCode, res.body)
	}
}
