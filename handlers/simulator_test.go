package handlers_test

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/router"
)

// sim posts the simulator form through HTMX and parses the transcript entry.
func (b *botEnv) sim(t *testing.T, form url.Values) (response, *goquery.Document) {
	t.Helper()
	// real_ok: the page's real runs were confirmed, unless form says otherwise.
	v := url.Values{"platform": {"twitch"}, "user": {"alice"}, "kind": {"chat_message"}, "real_ok": {"1"}}
	for k, x := range form {
		v[k] = x
	}
	res := b.admin.post(b.path("/simulator"), v, htmx)
	if res.StatusCode != 200 {
		t.Fatalf("simulate %v: status %d: %s", form, res.StatusCode, res.body)
	}
	return res, res.doc(t)
}

func TestSimulator(t *testing.T) {
	t.Parallel()
	b := newBotEnv(t)
	hug := b.mustCommand(t, "hug", "{user} hugs {touser} (hug #{count})")
	if _, err := b.settings.CreateRule(context.Background(), audit.Actor{}, b.c.ID, router.RuleInput{Priority: 1, Match: router.MatchWord, Pattern: "heck",
		Action: router.ActionTimeout, TimeoutSeconds: 600, ExemptModerators: true}); err != nil {
		t.Fatal(err)
	}

	page := b.admin.get(b.path("/simulator"), nil).doc(t)
	if page.Find(`[data-testid=sim-dry-run]`).AttrOr("checked", "no") == "no" || page.Find(`[data-testid=sim-form]`).AttrOr("hx-swap", "") != "beforeend scroll:#sim-transcript:bottom" {
		t.Error("the simulator form should default to a dry run and append to the transcript")
	}

	// A dry run answers and lists what would change, storing nothing.
	res, doc := b.sim(t, url.Values{"badges": {"moderator"}, "text": {"!hug @bob"}, "dry_run": {"on"}})
	if got := doc.Find(`[data-testid=sim-sent]`).Text(); got != "alice [moderator]: !hug @bob" {
		t.Errorf("sent %q", got)
	}
	if got := doc.Find(`[data-testid=sim-reply]`).Text(); !strings.Contains(got, "alice hugs bob (hug #1)") {
		t.Errorf("reply %q", got)
	}
	changes := doc.Find(`[data-testid=sim-changes]`).Text()
	if !strings.Contains(changes, "counter of !hug 0 → 1") || strings.Contains(changes, "points of alice") {
		t.Errorf("changes %q, want the counter, and the points only once, in their own line", changes)
	}
	if pts := doc.Find(`[data-testid=sim-points]`); pts.Length() != 1 || !strings.Contains(pts.Text(), "alice +5 → 5") {
		t.Errorf("points shown %d times: %q, want once", pts.Length(), pts.Text())
	}
	if doc.Find(`[data-testid=sim-handled-by]`).Text() != "command !hug" || doc.Find(`[data-testid=sim-dry]`).Text() != "dry run: nothing was stored" {
		t.Errorf("handled by %q, dry %q", doc.Find(`[data-testid=sim-handled-by]`).Text(), doc.Find(`[data-testid=sim-dry]`).Text())
	}
	if !strings.HasSuffix(doc.Find(`[data-testid=sim-duration]`).Text(), " ms") {
		t.Errorf("duration %q", doc.Find(`[data-testid=sim-duration]`).Text())
	}
	// The answer empties the text field (an out-of-band swap) and is no whole page.
	if oob := doc.Find(`input#sim-text[hx-swap-oob=true]`); oob.Length() != 1 || oob.AttrOr("value", "x") != "" || strings.Contains(res.body, "<html") {
		t.Errorf("answer: %s", res.body)
	}
	if c := b.command(t, "hug"); c.Counter != 0 {
		t.Errorf("a dry run moved the counter to %d", c.Counter)
	}
	if n := b.count("SELECT count(*) FROM points_ledger") + b.count("SELECT count(*) FROM points_balances"); n != 0 {
		t.Errorf("a dry run stored %d points rows", n)
	}

	// The first real run of the session asks first, and runs nothing.
	_, doc = b.sim(t, url.Values{"text": {"!hug @bob"}, "real_ok": {""}})
	if ask := doc.Find(`#sim-confirm[hx-swap-oob=true] [data-testid=sim-confirm]`); !strings.Contains(ask.Text(), "Real run") ||
		ask.Find(`button[name=real_ok][value="1"]`).Length() != 1 || doc.Find(`[data-testid=sim-entry]`).Length() != 0 {
		t.Errorf("first real run: want the question next to Send and no answer; got %s", res.body)
	}
	if c := b.command(t, "hug"); c.Counter != 0 {
		t.Errorf("the unconfirmed real run moved the counter to %d", c.Counter)
	}
	// Without JavaScript the page asks the same, keeping what was typed.
	plain := b.admin.post(b.path("/simulator"), url.Values{"platform": {"twitch"}, "user": {"alice"}, "kind": {"chat_message"}, "text": {"!hug @bob"}}, nil)
	if pd := plain.doc(t); plain.StatusCode != 200 || pd.Find(`[data-testid=sim-confirm]`).Length() != 1 || pd.Find(`[data-testid=sim-text]`).AttrOr("value", "") != "!hug @bob" {
		t.Errorf("plain first real run: %d %s", plain.StatusCode, pd.Find("main").Text())
	}

	// For real, confirmed: the counter moves and points are stored.
	_, doc = b.sim(t, url.Values{"text": {"!hug @bob"}, "real_ok": {"1"}})
	if doc.Find(`[data-testid=sim-real]`).Length() != 1 || doc.Find(`.sim-entry.real`).Length() != 1 || doc.Find(`#sim-confirm [data-testid=sim-real-ok]`).Length() != 1 {
		t.Errorf("a real run is not marked as one: %s", doc.Text())
	}
	if got := doc.Find(`[data-testid=sim-reply]`).Text(); !strings.Contains(got, "alice hugs bob (hug #1)") {
		t.Errorf("live reply %q", got)
	}
	if doc.Find(`[data-testid=sim-dry]`).Length() != 0 {
		t.Error("a live run says it is a dry run")
	}
	if got := doc.Find(`[data-testid=sim-points]`).Text(); !strings.Contains(got, "alice +5 → 5") {
		t.Errorf("points %q", got)
	}
	if c := b.command(t, "hug"); c.Counter != 1 {
		t.Errorf("counter %d after a live run, want 1", c.Counter)
	}
	if n := b.count("SELECT count(*) FROM points_ledger WHERE community_id = $1 AND user_name = 'alice' AND delta = 5", b.c.ID); n != 1 {
		t.Errorf("%d ledger rows for alice's message, want 1", n)
	}

	// A follow earns points; a cheer earns per 100 bits from the number field.
	// The session's real runs were confirmed: no second question.
	_, doc = b.sim(t, url.Values{"user": {"bob"}, "kind": {"follow"}})
	if doc.Find(`[data-testid=sim-confirm]`).Length() != 0 {
		t.Error("the simulator asks again before the second real run of the session")
	}
	if got := doc.Find(`[data-testid=sim-points]`).Text(); !strings.Contains(got, "bob +10 → 10") || doc.Find(`[data-testid=sim-sent]`).Text() != "bob · follow" {
		t.Errorf("follow: %q %q", doc.Find(`[data-testid=sim-sent]`).Text(), got)
	}
	_, doc = b.sim(t, url.Values{"user": {"bob"}, "kind": {"cheer"}, "amount": {"500"}, "dry_run": {"on"}})
	if got := doc.Find(`[data-testid=sim-points]`).Text(); !strings.Contains(got, "bob +5 → 15") || !strings.Contains(got, "cheer of 500 bits") {
		t.Errorf("cheer: %q", got)
	}

	// A moderation rule acts; a moderator is exempt.
	_, doc = b.sim(t, url.Values{"user": {"carl"}, "text": {"what the heck"}, "dry_run": {"on"}})
	if got := doc.Find(`[data-testid=sim-moderation]`).Text(); !strings.Contains(got, "timeout 600s") {
		t.Errorf("moderation %q", got)
	}
	_, doc = b.sim(t, url.Values{"user": {"carl"}, "badges": {"moderator"}, "text": {"what the heck"}, "dry_run": {"on"}})
	if doc.Find(`[data-testid=sim-moderation]`).Length() != 0 {
		t.Error("an exempt moderator was moderated")
	}
	// A shout-out shows its overlay.
	_, doc = b.sim(t, url.Values{"badges": {"moderator"}, "text": {"!so DuckStreamer"}, "dry_run": {"on"}})
	if !strings.Contains(doc.Find(`[data-testid=sim-reply]`).Text(), "twitch.tv/duckstreamer") || doc.Find(`[data-testid=sim-overlay]`).Text() != "overlay: shoutout" {
		t.Errorf("shout-out: %s", doc.Text())
	}
	// The leaderboard answers with an embed.
	_, doc = b.sim(t, url.Values{"text": {"!leaderboard"}, "dry_run": {"on"}})
	if embed := doc.Find(`[data-testid=sim-embed]`).Text(); !strings.Contains(embed, "Leaderboard") || !strings.Contains(embed, "1. bob") {
		t.Errorf("embed %q", embed)
	}

	// Bad input: a clear error in the transcript, nothing changed, the text kept.
	ledger := b.count("SELECT count(*) FROM points_ledger")
	for _, cc := range []struct {
		name string
		form url.Values
		want string
	}{
		{"empty user", url.Values{"user": {" "}, "text": {"!hug"}}, "Give the user a name."},
		{"over-long text", url.Values{"text": {strings.Repeat("q", 2001)}}, "The text has at most 2000 characters"},
		{"unknown kind", url.Values{"kind": {"stream_online"}, "text": {"!hug"}}, `Unknown event kind "stream_online"`},
		{"bad platform", url.Values{"platform": {"myspace"}, "text": {"!hug"}}, `Unknown platform "myspace"`},
		{"bad badge", url.Values{"badges": {"king"}, "text": {"!hug"}}, `Unknown role "king"`},
		{"negative bits", url.Values{"kind": {"cheer"}, "amount": {"-5"}}, "The number of bits is a whole number from 0"},
		{"over-long user", url.Values{"user": {strings.Repeat("u", 101)}}, "A user name has at most 50 characters."},
	} {
		_, doc := b.sim(t, cc.form)
		if got := doc.Find(`[data-testid=sim-error]`).Text(); !strings.Contains(got, cc.want) {
			t.Errorf("%s: error %q, want %q", cc.name, got, cc.want)
		}
		if doc.Find(`input#sim-text`).Length() != 0 {
			t.Errorf("%s: a refused message empties the text field", cc.name)
		}
		// Without JavaScript: the page with the error, 400.
		v := url.Values{"platform": {"twitch"}, "user": {"alice"}, "kind": {"chat_message"}}
		for k, x := range cc.form {
			v[k] = x
		}
		res := b.admin.post(b.path("/simulator"), v, nil)
		if res.StatusCode != 400 || !strings.Contains(res.doc(t).Find(`[data-testid=sim-error]`).Text(), cc.want) {
			t.Errorf("%s without HTMX: %d", cc.name, res.StatusCode)
		}
		if got := res.doc(t).Find(`[data-testid=sim-text]`).AttrOr("value", ""); got != cc.form.Get("text") {
			t.Errorf("%s: the text field holds %q, want what was typed", cc.name, got)
		}
	}
	if n := b.count("SELECT count(*) FROM points_ledger"); n != ledger {
		t.Errorf("bad input stored points: %d ledger rows, had %d", n, ledger)
	}
	if c := b.command(t, "hug"); c.Counter != hug.Counter+1 {
		t.Errorf("counter %d", c.Counter)
	}

	// Without JavaScript, a good message shows the page with the answer.
	res = b.admin.post(b.path("/simulator"), url.Values{"platform": {"discord"}, "user": {"dana"}, "kind": {"chat_message"}, "text": {"!so @Pip"}, "badges": {"broadcaster"}, "dry_run": {"on"}}, nil)
	doc = res.doc(t)
	if res.StatusCode != 200 || !strings.Contains(doc.Find(`#sim-transcript [data-testid=sim-reply]`).Text(), "Shout-out to Pip!") ||
		doc.Find(`[data-testid=sim-text]`).AttrOr("value", "x") != "" || doc.Find(`[data-testid=sim-platform] option[selected]`).AttrOr("value", "") != "discord" {
		t.Errorf("plain simulator post: %d %s", res.StatusCode, doc.Find("main").Text())
	}
}
