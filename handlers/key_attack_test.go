package handlers_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/auth"
	"github.com/waddle/waddle/community"
	"github.com/waddle/waddle/overlay"
	"github.com/waddle/waddle/router"
)

// The attacks of issue 9, part 1, replayed: a user who belongs only to
// community B sends events for A's channel, claiming the broadcaster's role,
// with the only trigger key they can now get (one of B's). Each is answered
// exactly as an event from an unlinked server is, and changes nothing in A.

// attackEnv is community A (alice owns it; channel "alphachan", an alerts
// source, a viewer with points) and community B (bob owns it; "betachan").
type attackEnv struct {
	*env
	a, b           community.Community
	alice, bob     auth.User
	keyA, keyB     string // trigger keys of A and B
	actionB        string // an action key of B
	alerts         overlay.Source
	unlinkedAnswer string // the single-event answer for a server nobody linked, without its timestamp
}

func newAttackEnv(t *testing.T) *attackEnv {
	t.Helper()
	e := newEnv(t)
	ctx := context.Background()
	root := e.user("root@example.com", true)
	x := &attackEnv{env: e, alice: e.user("alice@example.com", false), bob: e.user("bob@example.com", false)}
	x.a = e.community(root, "alpha", map[auth.User]community.Role{x.alice: community.Owner})
	x.b = e.community(root, "beta", map[auth.User]community.Role{x.bob: community.Owner})
	for _, l := range []struct {
		c      community.Community
		server string
	}{{x.a, "alphachan"}, {x.b, "betachan"}} {
		if _, err := e.settings.LinkEntity(ctx, audit.Actor{}, l.c.ID, router.Twitch, l.server, ""); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.settings.AddPoints(ctx, x.a.ID, "twitch", "v1", "victim", 20, "test"); err != nil {
		t.Fatal(err)
	}
	x.alerts, _ = e.mustOverlay(t, x.a.ID, overlay.Alerts, "Alerts")
	x.keyA = e.communityKey(x.alice, auth.RoleTrigger, x.a.ID)
	x.keyB = e.communityKey(x.bob, auth.RoleTrigger, x.b.ID)
	x.actionB = e.communityKey(x.bob, auth.RoleAction, x.b.ID)
	// What B cannot get any more: an installation-wide trigger key.
	if _, _, err := e.auth.CreateAPIKey(ctx, x.bob, "", "everywhere", auth.RoleTrigger); err == nil {
		t.Fatal("a member of B created an installation-wide trigger key")
	}
	st, body := e.apiBody(x.keyB, "POST", "/events", chatEvent("probe", "nobody-linked-this", "broadcaster", "!hi"))
	if st != http.StatusNotFound || !strings.Contains(body, router.ErrNotLinked.Message) {
		t.Fatalf("unlinked server: %d %s", st, body)
	}
	x.unlinkedAnswer = body
	return x
}

var timestampRE = regexp.MustCompile(`"timestamp":"[^"]*"`)

// apiBody calls /api/v1 with a bearer key and returns the status and the body
// with its timestamp blanked, for byte-for-byte comparisons.
func (e *env) apiBody(key, method, path, body string) (int, string) {
	e.t.Helper()
	req, _ := http.NewRequest(method, e.srv.URL+"/api/v1"+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, timestampRE.ReplaceAllString(string(b), `"timestamp":""`)
}

func chatEvent(id, server, role, text string) string {
	return fmt.Sprintf(`{"id":%q,"platform":"twitch","kind":"chat_message","server":%q,"channel":"c","user":{"id":"evil","name":"mallory","roles":[%q]},"text":%q}`,
		id, server, role, text)
}

// asUnlinked asserts that the answer to ev with key is the unlinked answer,
// byte for byte, and that the same event for a server nobody linked gets it too.
func (x *attackEnv) asUnlinked(t *testing.T, key, ev string) {
	t.Helper()
	st, got := x.apiBody(key, "POST", "/events", ev)
	_, unlinked := x.apiBody(key, "POST", "/events", strings.Replace(ev, `"server":"alphachan"`, `"server":"nobody-linked-this"`, 1))
	if st != http.StatusNotFound || got != unlinked || got != x.unlinkedAnswer {
		t.Errorf("answer %d %s\nwant the unlinked answer %s", st, got, x.unlinkedAnswer)
	}
}

func TestForeignKeyCannotAddCommand(t *testing.T) {
	t.Parallel()
	x := newAttackEnv(t)
	attack := chatEvent("pwn-1", "alphachan", "broadcaster", "!commands add pwned You have been pwned")
	x.asUnlinked(t, x.keyB, attack)
	// As a batch, among an event of B's own: B's is handled, A's is refused.
	st, out := x.api(x.keyB, "POST", "/events", "["+strings.Replace(attack, "pwn-1", "pwn-2", 1)+","+chatEvent("own-1", "betachan", "broadcaster", "!commands add mine ok")+"]")
	answers, _ := out["data"].([]any)
	if st != 200 || len(answers) != 2 {
		t.Fatalf("batch: %d %v", st, out)
	}
	if a := answers[0].(map[string]any); a["status"] != 404.0 || a["error"] != router.ErrNotLinked.Message || len(a) != 3 {
		t.Errorf("A's event in B's batch: %v, want only id, status 404 and the unlinked error", a)
	}
	if a := answers[1].(map[string]any); a["status"] != 200.0 {
		t.Errorf("B's own event: %v", a)
	}
	if n := x.count("SELECT count(*) FROM commands WHERE community_id = $1", x.a.ID); n != 0 {
		t.Errorf("%d commands created in A", n)
	}
	if n := x.count("SELECT count(*) FROM commands WHERE community_id = $1 AND name = 'mine'", x.b.ID); n != 1 {
		t.Error("B's own command was not created: the key should work in B")
	}
	// The control: the same event with A's own key does create the command.
	if st, out := x.api(x.keyA, "POST", "/events", strings.Replace(attack, "pwn-1", "pwn-3", 1)); st != 200 || x.count("SELECT count(*) FROM commands WHERE community_id = $1 AND name = 'pwned'", x.a.ID) != 1 {
		t.Errorf("A's own key: %d %v; the command should exist", st, out)
	}
}

func TestForeignKeyCannotMintPoints(t *testing.T) {
	t.Parallel()
	x := newAttackEnv(t)
	x.asUnlinked(t, x.keyB, chatEvent("give-1", "alphachan", "broadcaster", "!give victim 99999"))
	if n := x.count("SELECT COALESCE(sum(delta), 0)::int FROM points_ledger WHERE community_id = $1", x.a.ID); n != 20 {
		t.Errorf("A's points total %d, want the 20 it had", n)
	}
}

func TestForeignKeyCannotFireOverlayAlert(t *testing.T) {
	t.Parallel()
	x := newAttackEnv(t)
	raid := `{"id":"raid-1","platform":"twitch","kind":"raid","server":"alphachan","user":{"id":"evil","name":"mallory"},"data":{"viewers":5000}}`
	x.asUnlinked(t, x.keyB, raid)
	// B's action key on A's source, by id and under either community, is an unknown source.
	_, unknown := x.apiBody(x.actionB, "POST", "/overlays/999999/events", `{"type":"alert","message":"pwned"}`)
	for _, p := range []string{fmt.Sprintf("/overlays/%d/events", x.alerts.ID)} {
		if st, got := x.apiBody(x.actionB, "POST", p, `{"type":"alert","message":"pwned"}`); st != 404 || got != unknown {
			t.Errorf("POST %s: %d %s, want the unknown source's answer %s", p, st, got, unknown)
		}
	}
	_, unknownCommunity := x.apiBody(x.actionB, "POST", "/communities/999999/overlays/1/events", `{"type":"alert","message":"pwned"}`)
	if st, got := x.apiBody(x.actionB, "POST", fmt.Sprintf("/communities/%d/overlays/%d/events", x.a.ID, x.alerts.ID), `{"type":"alert","message":"pwned"}`); st != 404 || got != unknownCommunity {
		t.Errorf("under A: %d %s, want the unknown community's answer %s", st, got, unknownCommunity)
	}
	if n := x.count("SELECT count(*) FROM overlay_updates WHERE source_id = $1", x.alerts.ID); n != 0 {
		t.Errorf("A's alerts source got %d updates", n)
	}
	if n := x.count("SELECT count(*) FROM points_ledger WHERE community_id = $1 AND reason <> 'test'", x.a.ID); n != 0 {
		t.Errorf("the raid earned %d ledger rows in A", n)
	}
	// The control: A's own key fires the alert.
	if st, out := x.api(x.keyA, "POST", "/events", strings.Replace(raid, "raid-1", "raid-2", 1)); st != 200 || x.count("SELECT count(*) FROM overlay_updates WHERE source_id = $1", x.alerts.ID) != 1 {
		t.Errorf("A's own raid: %d %v; want one alert", st, out)
	}
}

// TestReplayedEventIDOfAnotherCommunity proves de-duplication answers only
// to the community that sent an event first: A's event id re-sent with B's
// key gets the unlinked answer, never A's stored one, and the same id for
// B's own channel is handled as B's own new event.
func TestReplayedEventIDOfAnotherCommunity(t *testing.T) {
	t.Parallel()
	x := newAttackEnv(t)
	ctx := context.Background()
	mod := chatEvent("a-secret-1", "alphachan", "moderator", "!give victim 5")
	st, first := x.apiBody(x.keyA, "POST", "/events", mod)
	if st != 200 || !strings.Contains(first, "victim gets 5 points and now has 25.") {
		t.Fatalf("A's event: %d %s", st, first)
	}
	x.asUnlinked(t, x.keyB, mod)
	st, out := x.api(x.keyB, "POST", "/events", "["+mod+"]")
	if answers, _ := out["data"].([]any); st != 200 || len(answers) != 1 || answers[0].(map[string]any)["error"] != router.ErrNotLinked.Message {
		t.Errorf("A's id in B's batch: %d %v", st, out)
	}
	// B's own event with A's id is B's: handled, not a duplicate, nothing of A in it.
	if _, err := x.settings.AddPoints(ctx, x.b.ID, "twitch", "v2", "victim", 1, "test"); err != nil {
		t.Fatal(err)
	}
	st, own := x.apiBody(x.keyB, "POST", "/events", strings.Replace(mod, "alphachan", "betachan", 1))
	if st != 200 || strings.Contains(own, `"duplicate"`) || !strings.Contains(own, "victim gets 5 points and now has 6.") {
		t.Errorf("B's own event with A's id: %d %s", st, own)
	}
	// A's key still gets A's first answer.
	st, again := x.apiBody(x.keyA, "POST", "/events", mod)
	if st != 200 || !strings.Contains(again, `"duplicate":true`) || !strings.Contains(again, "now has 25.") {
		t.Errorf("A's replay: %d %s", st, again)
	}
	if n := x.count("SELECT count(*) FROM processed_events WHERE event_id = 'a-secret-1'"); n != 2 {
		t.Errorf("%d stored answers for the id, want A's and B's", n)
	}
}

// TestKeyScopeNotMembership proves that a community key reaches its own
// community only, even when its creator also manages the other one.
func TestKeyScopeNotMembership(t *testing.T) {
	t.Parallel()
	x := newAttackEnv(t)
	ctx := context.Background()
	boss := community.Actor{User: x.alice, Role: community.Owner}
	if _, err := x.comm.Invite(ctx, boss, x.a, x.bob.Email, community.Member); err != nil {
		t.Fatal(err)
	}
	if _, err := x.comm.ChangeRole(ctx, boss, x.a.ID, x.bob.ID, community.Admin); err != nil {
		t.Fatal(err)
	}
	x.asUnlinked(t, x.keyB, chatEvent("scope-1", "alphachan", "broadcaster", "!commands add pwned hi"))
	if st, _ := x.api(x.actionB, "POST", fmt.Sprintf("/overlays/%d/events", x.alerts.ID), `{"type":"alert","message":"x"}`); st != 404 {
		t.Errorf("B's action key on A's source, its creator an admin of A: %d, want 404", st)
	}
	if n := x.count("SELECT count(*) FROM commands WHERE community_id = $1", x.a.ID) + x.count("SELECT count(*) FROM overlay_updates"); n != 0 {
		t.Error("B's keys changed A")
	}
}
