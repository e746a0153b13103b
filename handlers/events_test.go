package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/router"
)

func TestEventsAPI(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	root := e.user("root@example.com", true)
	c := e.community(root, "ducks", nil)
	if _, err := e.settings.LinkEntity(ctx, audit.Actor{}, c.ID, router.Twitch, "duckchan", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := e.settings.CreateCommand(ctx, audit.Actor{}, c.ID, router.CommandInput{Name: "hi", Response: "hi {user}", Permission: router.Everyone, Enabled: true}); err != nil {
		t.Fatal(err)
	}
	trigger := e.apiKey(root, "trigger")
	user := e.apiKey(root, "user")
	ev := func(id, kind, text string) string {
		return fmt.Sprintf(`{"id":%q,"platform":"twitch","kind":%q,"server":"duckchan","channel":"c1","user":{"id":"u-%s","name":"alice","roles":["subscriber"]},"text":%q,"unknown_field":1}`, id, kind, id, text)
	}

	st, out := e.api(trigger, "POST", "/events", ev("e1", "chat_message", "!hi"))
	data, _ := out["data"].(map[string]any)
	if st != 200 || fmt.Sprint(data["responses"]) != "[map[reply:hi alice]]" {
		t.Fatalf("one event: %d %v", st, out)
	}

	batch := "[" + strings.Join([]string{
		ev("b1", "follow", ""),
		`{"id":"b2","platform":"twitch","kind":"chat_message","server":"duckchan","user":{"name":"nobody"}}`,
		ev("b3", "chat_message", "!hi"),
		`{"id":"b4","platform":"myspace","kind":"follow","server":"x","user":{"id":"1"}}`,
		`{"id":"b5","platform":"twitch","kind":"follow","server":"not-linked","user":{"id":"1"}}`,
		`"not an object"`,
	}, ",") + "]"
	st, out = e.api(trigger, "POST", "/events", batch)
	if st != 200 {
		t.Fatalf("batch: status %d %v", st, out)
	}
	answers, _ := out["data"].([]any)
	if len(answers) != 6 {
		t.Fatalf("batch: %d answers, want 6", len(answers))
	}
	want := []struct {
		status int
		err    string
	}{{200, ""}, {400, `"user.id" is required`}, {200, ""}, {400, "Unknown platform"}, {404, "not linked"}, {400, "The event must be an object, not a string."}}
	for i, w := range want {
		a := answers[i].(map[string]any)
		if int(a["status"].(float64)) != w.status || !strings.Contains(fmt.Sprint(a["error"]), w.err) {
			t.Errorf("event %d: %v, want status %d and an error with %q", i+1, a, w.status, w.err)
		}
	}
	if !strings.Contains(fmt.Sprint(out["message"]), "4 of 6 events failed") {
		t.Errorf("message %q", out["message"])
	}
	// The follow earned points; sending it again is answered, not processed twice.
	st, out = e.api(trigger, "POST", "/events", ev("b1", "follow", ""))
	data, _ = out["data"].(map[string]any)
	if st != 200 || data["duplicate"] != true {
		t.Errorf("resent event: %d %v", st, out)
	}
	if n := e.count("SELECT count(*) FROM points_ledger WHERE reason = 'follow'"); n != 1 {
		t.Errorf("%d follow rows in the ledger, want 1", n)
	}

	// The same id twice in one batch is handled once.
	st, out = e.api(trigger, "POST", "/events", "["+ev("d1", "follow", "")+","+ev("d1", "follow", "")+"]")
	answers, _ = out["data"].([]any)
	if st != 200 || len(answers) != 2 || answers[1].(map[string]any)["duplicate"] != true {
		t.Errorf("repeated id in a batch: %d %v", st, out)
	}
	if n := e.count("SELECT count(*) FROM points_ledger WHERE reason = 'follow'"); n != 2 {
		t.Errorf("%d follow rows in the ledger, want 2 (b1 and d1 once each)", n)
	}

	for _, bad := range []struct {
		name, key, body string
		status          int
	}{
		{"user key", user, ev("x", "follow", ""), 403},
		{"no key", "", ev("x", "follow", ""), 401},
		{"empty batch", trigger, "[]", 400},
		{"too many", trigger, "[" + strings.TrimSuffix(strings.Repeat(ev("y", "follow", "")+",", 101), ",") + "]", 400},
		{"not JSON", trigger, "hello", 400},
		{"missing kind", trigger, `{"id":"z","platform":"twitch","server":"duckchan","user":{"id":"1"}}`, 400},
	} {
		if st, out := e.api(bad.key, "POST", "/events", bad.body); st != bad.status {
			t.Errorf("%s: status %d %v, want %d", bad.name, st, out, bad.status)
		}
	}
	if res := e.client().post("/api/v1/events", nil, nil); res.StatusCode != http.StatusUnauthorized {
		t.Errorf("form post without key: %d", res.StatusCode)
	}
}

// Replays of the attacks: bits of -1,000,000 took 10,000 points, bits of
// 1e30 wrapped a balance to about -9.2e18, and text that is not UTF-8 was
// quietly changed. Each is now a 400 naming the field, and changes nothing.
func TestEventsAPIRefusesBadAmountsAndText(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	root := e.user("root@example.com", true)
	c := e.community(root, "ducks", nil)
	if _, err := e.settings.LinkEntity(ctx, audit.Actor{}, c.ID, router.Twitch, "duckchan", ""); err != nil {
		t.Fatal(err)
	}
	trigger := e.apiKey(root, "trigger")
	cheer := func(id, bits string) string {
		return `{"id":"` + id + `","platform":"twitch","kind":"cheer","server":"duckchan","user":{"id":"u1","name":"mallory"},"data":{"bits":` + bits + `}}`
	}
	cases := []struct {
		name, body, want string
	}{
		{"negative bits", cheer("c1", "-1000000"), `The field "data.bits" is a whole number from 1 to 1000000.`},
		{"bits past int64", cheer("c2", "1e30"), `The field "data.bits" is a whole number from 1 to 1000000.`},
		{"fractional bits", cheer("c3", "99.5"), `The field "data.bits" is a whole number from 1 to 1000000.`},
		{"bits as text", cheer("c4", `"100"`), `The field "data.bits" is a whole number from 1 to 1000000.`},
		{"raid of 1e12 viewers", `{"id":"r1","platform":"twitch","kind":"raid","server":"duckchan","user":{"id":"u1"},"data":{"viewers":1e12}}`,
			`The field "data.viewers" is a whole number from 0 to 10000000.`},
		{"text not UTF-8", "{\"id\":\"t1\",\"platform\":\"twitch\",\"kind\":\"chat_message\",\"server\":\"duckchan\",\"user\":{\"id\":\"u1\"},\"text\":\"hi \xff\xfe\"}",
			`The field "text" is not valid UTF-8.`},
		{"escaped lone surrogate in a name", `{"id":"t2","platform":"twitch","kind":"follow","server":"duckchan","user":{"id":"u1","name":"\udc00"}}`,
			`The field "user.name" is not valid UTF-8.`},
		{"wrong type", `{"id":"t3","platform":"twitch","kind":"follow","server":"duckchan","user":{"id":1}}`, `The field "user.id" must be a string, not a number.`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st, out := e.api(trigger, "POST", "/events", tc.body)
			if st != 400 || out["message"] != tc.want {
				t.Errorf("status %d, message %q; want 400 and %q", st, out["message"], tc.want)
			}
		})
	}
	// In a batch, the bad event is refused and the good one handled.
	st, out := e.api(trigger, "POST", "/events", "["+cheer("b1", "-1000000")+","+cheer("b2", "500")+"]")
	answers, _ := out["data"].([]any)
	if st != 200 || len(answers) != 2 {
		t.Fatalf("batch: %d %v", st, out)
	}
	if a := answers[0].(map[string]any); a["status"] != 400.0 || !strings.Contains(fmt.Sprint(a["error"]), "data.bits") {
		t.Errorf("bad cheer in a batch: %v", a)
	}
	if a := answers[1].(map[string]any); a["status"] != 200.0 || fmt.Sprint(a["points"]) != "[map[balance:5 delta:5 reason:cheer of 500 bits user:mallory]]" {
		t.Errorf("good cheer in a batch: %v", a)
	}
	if n := e.count("SELECT count(*) FROM points_ledger"); n != 1 {
		t.Errorf("%d ledger rows, want only the good cheer's", n)
	}
	if n := e.count("SELECT count(*) FROM points_balances WHERE balance < 0"); n != 0 {
		t.Errorf("%d negative balances", n)
	}
}
