package handlers_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/auth"
	"github.com/waddle/waddle/community"
	"github.com/waddle/waddle/overlay"
)

func TestOverlayEventsBySourceID(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	root := e.user("root@example.com", true)
	ann := e.user("ann@example.com", false)
	a := e.community(root, "alpha", map[auth.User]community.Role{ann: community.Admin})
	b := e.community(root, "beta", nil)
	srcA, _, err := e.ov.Create(ctx, audit.Actor{}, a.ID, overlay.Ticker, "Ticker")
	if err != nil {
		t.Fatal(err)
	}
	srcB, _, err := e.ov.Create(ctx, audit.Actor{}, b.ID, overlay.Ticker, "Ticker")
	if err != nil {
		t.Fatal(err)
	}
	action := e.communityKey(ann, "action", a.ID)
	user := e.apiKey(ann, "user")
	body := `{"type":"ticker","message":"Hello from the API"}`
	cases := []struct {
		name, key string
		id        int64
		want      int
	}{
		{"manager's action key on their source", action, srcA.ID, 200},
		{"another community's source", action, srcB.ID, 404},
		{"unknown source", action, srcB.ID + 1000, 404},
		{"user key", user, srcA.ID, 403},
	}
	for _, c := range cases {
		if st, out := e.api(c.key, "POST", fmt.Sprintf("/overlays/%d/events", c.id), body); st != c.want {
			t.Errorf("%s: status %d %v, want %d", c.name, st, out, c.want)
		}
	}
	if n := e.count("SELECT count(*) FROM overlay_updates WHERE source_id = $1", srcB.ID); n != 0 {
		t.Error("an update reached another community's source")
	}
	if n := e.count("SELECT count(*) FROM overlay_updates WHERE source_id = $1", srcA.ID); n != 1 {
		t.Errorf("%d updates on the manager's source, want 1", n)
	}
}

func TestLeaderboardPageStartsWithStandings(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	root := e.user("root@example.com", true)
	c := e.community(root, "alpha", nil)
	if _, err := e.settings.AddPoints(ctx, c.ID, "twitch", "42", "Ducky", 70, "test"); err != nil {
		t.Fatal(err)
	}
	_, token, err := e.ov.Create(ctx, audit.Actor{}, c.ID, overlay.Leaderboard, "Top")
	if err != nil {
		t.Fatal(err)
	}
	reqCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(reqCtx, "GET", e.srv.URL+"/overlay/"+token+"/events", nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	sc := bufio.NewScanner(res.Body)
	for sc.Scan() {
		if data, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
			if !strings.Contains(data, `"type":"leaderboard"`) || !strings.Contains(data, `{"name":"Ducky","points":70}`) {
				t.Errorf("first update %s, want the current standings", data)
			}
			return
		}
	}
	t.Fatal("the stream sent no update")
}

type overlayAPIEnv struct {
	*env
	c, other            community.Community
	root, owner, member auth.User
	alien               auth.User
	text, media, alerts overlay.Source
	otherSrc            overlay.Source
	textToken           string
}

func newOverlayAPIEnv(t *testing.T) *overlayAPIEnv {
	t.Helper()
	e := newEnv(t)
	root := e.user("root@example.com", true)
	o := &overlayAPIEnv{env: e, root: root, owner: e.user("owner@example.com", false), member: e.user("member@example.com", false),
		alien: e.user("alien@example.com", false)}
	o.c = e.community(root, "ducks", map[auth.User]community.Role{o.owner: community.Owner, o.member: community.Member})
	o.other = e.community(root, "geese", map[auth.User]community.Role{o.alien: community.Owner})
	o.text, o.textToken = e.mustOverlay(t, o.c.ID, overlay.Text, "Text")
	o.media, _ = e.mustOverlay(t, o.c.ID, overlay.Media, "Media")
	o.alerts, _ = e.mustOverlay(t, o.c.ID, overlay.Alerts, "Alerts")
	o.otherSrc, _ = e.mustOverlay(t, o.other.ID, overlay.Text, "Geese text")
	return o
}

func (o *overlayAPIEnv) updates(id int64) int {
	o.t.Helper()
	return o.count("SELECT count(*) FROM overlay_updates WHERE source_id = $1", id)
}

func TestOverlayAPIRoles(t *testing.T) {
	t.Parallel()
	o := newOverlayAPIEnv(t)
	path := func(cid, id int64) string { return fmt.Sprintf("/communities/%d/overlays/%d/events", cid, id) }
	body := `{"type":"text","html":"<b>hi</b>"}`
	ownerAction := o.communityKey(o.owner, auth.RoleAction, o.c.ID)
	// An admin's key stops working when they are made a plain member.
	demoted := o.user("demoted@example.com", false)
	boss := community.Actor{User: o.root, Role: community.Owner}
	if _, err := o.comm.Invite(t.Context(), boss, o.c, demoted.Email, community.Member); err != nil {
		t.Fatal(err)
	}
	if _, err := o.comm.ChangeRole(t.Context(), boss, o.c.ID, demoted.ID, community.Admin); err != nil {
		t.Fatal(err)
	}
	demotedAction := o.communityKey(demoted, auth.RoleAction, o.c.ID)
	if _, err := o.comm.ChangeRole(t.Context(), boss, o.c.ID, demoted.ID, community.Member); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name       string
		key        string
		path       string
		body       string
		wantStatus int
	}{
		{"user key", o.apiKey(o.owner, auth.RoleUser), path(o.c.ID, o.text.ID), body, 403},
		{"trigger key", o.communityKey(o.owner, auth.RoleTrigger, o.c.ID), path(o.c.ID, o.text.ID), body, 403},
		{"action key of the owner", ownerAction, path(o.c.ID, o.text.ID), body, 200},
		{"core key of an owner (a global admin)", o.apiKey(o.root, auth.RoleCore), path(o.c.ID, o.text.ID), body, 200},
		{"admin key of the owner", o.apiKey(o.root, auth.RoleAdmin), path(o.c.ID, o.text.ID), body, 200},
		{"action key of an admin since made a plain member", demotedAction, path(o.c.ID, o.text.ID), body, 401},
		{"action key of another community's owner", o.communityKey(o.alien, auth.RoleAction, o.other.ID), path(o.c.ID, o.text.ID), body, 404},
		{"another community's source under one's own", o.communityKey(o.alien, auth.RoleAction, o.other.ID), path(o.other.ID, o.text.ID), body, 404},
		{"one's own community with another's source", ownerAction, path(o.c.ID, o.otherSrc.ID), body, 404},
		{"no such source", ownerAction, path(o.c.ID, 1<<40), body, 404},
		{"bad source id", ownerAction, fmt.Sprintf("/communities/%d/overlays/x/events", o.c.ID), body, 404},
		{"no key", "", path(o.c.ID, o.text.ID), body, 401},
		{"wrong type for the source", ownerAction, path(o.c.ID, o.text.ID), `{"type":"chat","message":"x"}`, 400},
		{"not JSON", ownerAction, path(o.c.ID, o.text.ID), `<b>`, 400},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := o.updates(o.text.ID)
			st, out := o.api(tc.key, "POST", tc.path, tc.body)
			if st != tc.wantStatus {
				t.Errorf("status %d, want %d: %v", st, tc.wantStatus, out)
			}
			want := before
			if tc.wantStatus == 200 {
				want++
			}
			if got := o.updates(o.text.ID); got != want {
				t.Errorf("%d updates stored, want %d", got, want)
			}
		})
	}
	if n := o.updates(o.otherSrc.ID); n != 0 {
		t.Errorf("the other community's source got %d updates", n)
	}
}

func TestOverlaySanitising(t *testing.T) {
	t.Parallel()
	o := newOverlayAPIEnv(t)
	key := o.communityKey(o.owner, auth.RoleAction, o.c.ID)
	s := o.openStream(t, "/overlay/"+o.textToken+"/events", "")
	s.next("retry")

	evil := `<p class="big" onclick="steal()">Hi <script>alert(1)</script><img src="https://example.com/a.png" onerror="alert(2)">` +
		`<a href="javascript:alert(3)">click</a><a href="https://example.com/">ok</a><iframe src="https://evil.example.com/"></iframe>` +
		`<svg onload="alert(4)"></svg><style>body{display:none}</style></p>`
	raw, _ := json.Marshal(map[string]string{"type": "text", "html": evil})
	st, out := o.api(key, "POST", fmt.Sprintf("/communities/%d/overlays/%d/events", o.c.ID, o.text.ID), string(raw))
	if st != 200 {
		t.Fatalf("publish: %d %v", st, out)
	}
	_, got := s.update("the sanitised update")
	bad := regexp.MustCompile(`(?i)<script|onerror|onclick|onload|javascript:|<iframe|<style|alert\(`)
	if bad.MatchString(got.HTML) {
		t.Errorf("the page received unsafe HTML: %s", got.HTML)
	}
	for _, keep := range []string{"Hi ", `<a href="https://example.com/"`, `<img src="https://example.com/a.png"`, `class="big"`} {
		if !strings.Contains(got.HTML, keep) {
			t.Errorf("the sanitised HTML lost %q: %s", keep, got.HTML)
		}
	}
	if data, _ := out["data"].(map[string]any); data["html"] != got.HTML {
		t.Errorf("the API answered %v, the page got %q", data["html"], got.HTML)
	}

	media := fmt.Sprintf("/communities/%d/overlays/%d/events", o.c.ID, o.media.ID)
	cases := []struct {
		name, body string
		wantStatus int
	}{
		{"javascript: image", `{"type":"media","image":"javascript:alert(1)","seconds":5}`, 400},
		{"data: image", `{"type":"media","image":"data:image/svg+xml;base64,PHN2Zy8+","seconds":5}`, 400},
		{"javascript: video", `{"type":"media","video":"JavaScript:alert(1)"}`, 400},
		{"relative video", `{"type":"media","video":"/static/x.mp4"}`, 400},
		{"too long", `{"type":"media","image":"https://example.com/a.png","seconds":301}`, 400},
		{"https image", `{"type":"media","image":"https://example.com/a.gif","seconds":5}`, 200},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := o.updates(o.media.ID)
			st, out := o.api(key, "POST", media, tc.body)
			if st != tc.wantStatus {
				t.Errorf("status %d, want %d: %v", st, tc.wantStatus, out)
			}
			if st == 400 && !strings.Contains(fmt.Sprint(out["message"]), "http(s)") && !strings.Contains(fmt.Sprint(out["message"]), "seconds") {
				t.Errorf("message %v does not name the problem", out["message"])
			}
			if got, want := o.updates(o.media.ID)-before, map[bool]int{true: 1}[tc.wantStatus == 200]; got != want {
				t.Errorf("%d updates stored, want %d", got, want)
			}
		})
	}

	// A chat line with markup reaches the page as the text typed: overlay.js sets it with textContent.
	_, chatToken := o.mustOverlay(t, o.c.ID, overlay.Chat, "Chat")
	cs := o.openStream(t, "/overlay/"+chatToken+"/events", "")
	cs.next("retry")
	if err := o.ov.Deliver(t.Context(), o.c.ID, "chat", map[string]any{"user": "eve", "message": `<img src=x onerror=alert(1)>`}); err != nil {
		t.Fatal(err)
	}
	if _, got := cs.update("a chat line"); got.Message != `<img src=x onerror=alert(1)>` || got.HTML != "" {
		t.Errorf("chat line %+v", got)
	}
}

// The hub tests use newBotEnv: ann manages the community, mo is a member.
