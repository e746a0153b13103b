package handlers_test

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
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
