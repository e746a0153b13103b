package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestLinkedServers(t *testing.T) {
	t.Parallel()
	b := newBotEnv(t)
	hub := b.admin
	if doc := hub.get(b.path("/servers"), nil).doc(t); doc.Find(`[data-testid=no-servers]`).Length() != 1 || doc.Find(`[data-testid=no-flows]`).Length() != 1 {
		t.Error("an empty servers page should say so and explain the install flows")
	}
	// A community admin cannot claim a server by typing its id: that proves no ownership.
	if doc := hub.get(b.path("/servers"), nil).doc(t); doc.Find(`[data-testid=server-form]`).Length() != 0 {
		t.Error("a community admin is offered linking by hand")
	}
	res := hub.post(b.path("/servers"), url.Values{"platform": {"twitch"}, "server": {" DuckChan "}, "name": {"Duck channel"}}, nil)
	if res.StatusCode != http.StatusForbidden || !strings.Contains(res.body, "link servers by hand") {
		t.Errorf("community admin linking by hand: %d %.300s", res.StatusCode, res.body)
	}
	rootHub := b.signedIn("root@example.com")
	res = rootHub.post(b.path("/servers"), url.Values{"platform": {"twitch"}, "server": {" DuckChan "}, "name": {"Duck channel"}}, nil)
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("link: %d %.300s", res.StatusCode, res.body)
	}
	es, err := b.settings.Entities(context.Background(), b.c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != 1 || es[0].Server != "duckchan" || es[0].Name != "Duck channel" || es[0].Platform != "twitch" {
		t.Fatalf("entities: %+v", es)
	}
	if got := hub.get(b.path("/servers"), nil).doc(t).Find(`[data-testid=server-id]`).Text(); got != "duckchan" {
		t.Errorf("listed server %q", got)
	}

	// Another community cannot take the same channel.
	root, err := b.auth.UserByEmail(context.Background(), "root@example.com")
	if err != nil {
		t.Fatal(err)
	}
	other := b.community(root, "geese", nil)
	for _, cc := range []struct {
		name string
		cid  int64
		form url.Values
		want string
	}{
		{"duplicate", other.ID, url.Values{"platform": {"twitch"}, "server": {"duckchan"}}, "already linked to a community"},
		{"duplicate here", b.c.ID, url.Values{"platform": {"twitch"}, "server": {"DUCKCHAN"}}, "already linked to a community"},
		{"bad platform", b.c.ID, url.Values{"platform": {"myspace"}, "server": {"x"}}, "Choose twitch, discord or slack."},
		{"empty server", b.c.ID, url.Values{"platform": {"discord"}, "server": {"  "}}, "Give the channel login"},
		{"over-long server", b.c.ID, url.Values{"platform": {"discord"}, "server": {strings.Repeat("9", 101)}}, "1 to 100 characters"},
		{"over-long name", b.c.ID, url.Values{"platform": {"discord"}, "server": {"1"}, "name": {strings.Repeat("n", 101)}}, "at most 100 characters"},
	} {
		res := rootHub.post(fmt.Sprintf("/c/%d/servers", cc.cid), cc.form, nil)
		if res.StatusCode != 400 || !strings.Contains(formError(t, res), cc.want) {
			t.Errorf("%s: %d %q", cc.name, res.StatusCode, formError(t, res))
		}
	}
	if n := b.count("SELECT count(*) FROM platform_entities"); n != 1 {
		t.Errorf("%d linked servers, want 1", n)
	}

	if res := hub.post(b.path("/servers/%d/unlink", es[0].ID), nil, htmx); res.StatusCode != 200 || res.body != "" {
		t.Errorf("unlink: %d %q", res.StatusCode, res.body)
	}
	if n := b.count("SELECT count(*) FROM platform_entities"); n != 0 {
		t.Error("the server is still linked")
	}
	// Both are in the community's audit log, with who did them.
	if n := b.count("SELECT count(*) FROM audit_log WHERE action = 'server_linked' AND actor_email = 'root@example.com' AND target = 'twitch duckchan (Duck channel)'"); n != 1 {
		t.Errorf("%d server_linked audit entries by root, want 1", n)
	}
	if n := b.count("SELECT count(*) FROM audit_log WHERE action = 'server_unlinked' AND actor_email = 'ann@example.com' AND community_id IS NOT NULL"); n != 1 {
		t.Errorf("%d server_unlinked audit entries by ann, want 1", n)
	}
	if res := hub.post(b.path("/servers/%d/unlink", es[0].ID), nil, nil); res.StatusCode != 404 {
		t.Errorf("unlinking again: %d", res.StatusCode)
	}
}
