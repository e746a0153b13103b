package slackbot

import (
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/waddle/waddle/platform"
	"github.com/waddle/waddle/router"
)

func TestUserCacheExpiresAndStaysBounded(t *testing.T) {
	t.Parallel()
	c := newUserCache(10*time.Minute, 2)
	now := time.Now()
	c.put("T1/U1", router.User{ID: "U1", Name: "one"}, now)
	c.put("T1/U2", router.User{ID: "U2", Name: "two"}, now.Add(time.Minute))
	if u, ok := c.get("T1/U1", now.Add(9*time.Minute)); !ok || u.Name != "one" {
		t.Errorf("U1 after 9 minutes: %+v, %v; want cached", u, ok)
	}
	if _, ok := c.get("T1/U1", now.Add(10*time.Minute)); ok {
		t.Error("U1 after 10 minutes: still cached, want expired")
	}
	c.put("T1/U3", router.User{ID: "U3"}, now.Add(2*time.Minute)) // full: the oldest (U1) goes
	if len(c.entries) != 2 {
		t.Errorf("%d entries, want at most 2", len(c.entries))
	}
	if _, ok := c.get("T1/U1", now.Add(2*time.Minute)); ok {
		t.Error("U1 still cached after a put into a full cache, want the oldest dropped")
	}
	if _, ok := c.get("T1/U3", now.Add(2*time.Minute)); !ok {
		t.Error("U3 not cached")
	}
}

func TestAllowedResponseURL(t *testing.T) {
	t.Parallel()
	b, err := New(Config{Status: platform.NewStatus(router.Slack), Links: &platform.Links{}, APIURL: "http://127.0.0.1:4000/api/"})
	if err != nil {
		t.Fatal(err)
	}
	prod, err := New(Config{Status: platform.NewStatus(router.Slack), Links: &platform.Links{}})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		url       string
		test, pro bool
	}{
		{"https://hooks.slack.com/commands/T1/1/abc", true, true},
		{"https://hooks.slack-gov.com/actions/T1/1/abc", true, true},
		{"http://hooks.slack.com/commands/T1/1/abc", false, false},
		{"https://hooks.slack.com:8443/commands/T1", false, false},
		{"https://hooks.slack.com.attacker.example/x", false, false},
		{"https://user@hooks.slack.com/x", false, false},
		{"http://127.0.0.1:4000/hooks/x", true, false},
		{"http://127.0.0.1:4001/hooks/x", false, false},
		{"http://169.254.169.254/latest/meta-data", false, false},
		{"::not a url", false, false},
	}
	for _, c := range cases {
		if got := b.allowedResponseURL(c.url); got != c.test {
			t.Errorf("with SLACK_API_URL, %q allowed = %v, want %v", c.url, got, c.test)
		}
		if got := prod.allowedResponseURL(c.url); got != c.pro {
			t.Errorf("against Slack, %q allowed = %v, want %v", c.url, got, c.pro)
		}
	}
}

func TestMessageLimits(t *testing.T) {
	t.Parallel()
	long := make([]rune, 5000)
	for i := range long {
		long[i] = 'é'
	}
	text, blocks := message(router.Response{Reply: string(long)})
	if n := len([]rune(text)); n != 4000 || blocks != nil {
		t.Errorf("long reply: %d characters and %d blocks, want 4000 and none", n, len(blocks))
	}
	text, blocks = message(router.Response{Embed: &router.Embed{Fields: []router.EmbedField{{Name: "Ducks", Value: "3"}}}})
	if text != "Ducks: 3" || len(blocks) != 1 {
		t.Errorf("embed with fields only: text %q, %d blocks; want the fields as text and one section", text, len(blocks))
	}
	var buttons []router.Button
	for i := 0; i < 30; i++ {
		buttons = append(buttons, router.Button{ID: "!vote " + string(rune('a'+i%26)) + string(rune('a'+i/26))})
	}
	buttons = append(buttons, router.Button{ID: "!vote aa"}) // a repeated id is dropped
	text, blocks = message(router.Response{Buttons: buttons})
	if text == "" || len(blocks) != 1 {
		t.Fatalf("buttons only: text %q, %d blocks", text, len(blocks))
	}
	if a, ok := blocks[0].(*slack.ActionBlock); !ok || len(a.Elements.ElementSet) != 25 {
		t.Errorf("actions block %#v, want 25 buttons (Slack's limit)", blocks[0])
	}
}
