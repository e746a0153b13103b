package main

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/waddle/waddle/auth"
	"github.com/waddle/waddle/community"
)

// TestPeopleBrowser: a moderator finds a viewer on the People page by typing
// the start of their Discord name, opens their profile, and sees one person
// with both linked accounts, their balance, their points ledger and the
// timeout the bot gave them on Twitch; then lowers their reputation with a
// reason and sees it in the history.
func TestPeopleBrowser(t *testing.T) {
	t.Parallel()
	h := startHub(t)
	const (
		email    = "ada@example.com"
		modEmail = "moe@example.com"
		password = "ada-runs-the-waddle-hub"
	)
	mustRunWaddle(t, setVars(h.vars, "WADDLE_ADMIN_PASSWORD", password), "admin", "create", "--email", email, "--name", "Ada Admin", "--admin")
	mustRunWaddle(t, setVars(h.vars, "WADDLE_ADMIN_PASSWORD", password), "admin", "create", "--email", modEmail, "--name", "Moe Moderator")
	a := openTestApp(t, h.vars)
	ctx := t.Context()
	ada := mustSignIn(t, a, email, password)
	c, err := a.comm.Create(ctx, ada, "", "duck-pond", community.Settings{Name: "Duck Pond"})
	if err != nil {
		t.Fatal(err)
	}
	boss := community.Actor{User: ada, Role: community.Owner}
	if _, err := a.comm.Invite(ctx, boss, c, modEmail, community.Member); err != nil {
		t.Fatal(err)
	}
	moe := mustSignIn(t, a, modEmail, password)
	if _, err := a.comm.ChangeRole(ctx, boss, c.ID, moe.ID, community.Moderator); err != nil {
		t.Fatal(err)
	}

	// The community's Twitch channel and Discord server, a rule that times out
	// "heck", and a label "Artist" that gives a Discord role.
	for _, q := range []string{
		`INSERT INTO platform_entities (community_id, platform, server, name) VALUES ($1, 'twitch', 'duckchan', 'Duck channel')`,
		`INSERT INTO platform_entities (community_id, platform, server, name) VALUES ($1, 'discord', 'g-duck', 'Duck guild')`,
		`WITH l AS (INSERT INTO labels (community_id, name, colour) VALUES ($1, 'Artist', '#aa3377') RETURNING id, community_id)
		 INSERT INTO label_groups (community_id, label_id, platform, server, group_id, group_name) SELECT community_id, id, 'discord', 'g-duck', 'r-art', 'Artists' FROM l`,
		`INSERT INTO moderation_rules (community_id, priority, match_kind, pattern, action, timeout_seconds, exempt_moderators) VALUES ($1, 1, 'contains', 'heck', 'timeout', 60, true)`,
	} {
		if _, err := a.pool.Exec(ctx, q, c.ID); err != nil {
			t.Fatal(err)
		}
	}
	// Quackers follows on Twitch (points) and is timed out there, through the
	// event API of the running hub; their Discord account is linked to them.
	_, key, err := a.auth.CreateCommunityAPIKey(ctx, ada, "", c.ID, "browser test", auth.RoleTrigger)
	if err != nil {
		t.Fatal(err)
	}
	for i, ev := range []string{
		`{"id":"f1","platform":"twitch","kind":"follow","server":"duckchan","channel":"duckchan","user":{"id":"tw-q","name":"quackers"}}`,
		`{"id":"m1","platform":"twitch","kind":"chat_message","server":"duckchan","channel":"duckchan","user":{"id":"tw-q","name":"quackers"},"text":"what the heck"}`,
	} {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, h.base+"/api/v1/events", strings.NewReader(ev))
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			t.Fatalf("event %d: status %d", i, res.StatusCode)
		}
	}
	var person int64
	if err := a.pool.QueryRow(ctx, `INSERT INTO identity_accounts (platform, account_id, user_name, identity_id, linked_at, linked_by)
		SELECT 'discord', 'dc-q', 'DuckOfDiscord', identity_id, now(), 'chat' FROM identity_accounts WHERE platform = 'twitch' AND account_id = 'tw-q'
		RETURNING identity_id`).Scan(&person); err != nil {
		t.Fatal(err)
	}
	// Someone else, so that the search has something to leave out.
	if _, err := a.pool.Exec(ctx, `WITH acct AS (INSERT INTO identity_accounts (platform, account_id, user_name) VALUES ('twitch', 'tw-g', 'goose') RETURNING identity_id)
		INSERT INTO community_people (community_id, identity_id) SELECT $1, identity_id FROM acct`, c.ID); err != nil {
		t.Fatal(err)
	}

	console := &browserConsole{}
	b := &tab{t: t, ctx: startBrowser(t, console), base: h.base}
	defer func() {
		for _, e := range console.all() {
			t.Logf("browser console: %s", e)
		}
		if errs := console.errors(); len(errs) > 0 {
			t.Errorf("the pages caused %d console errors; the hub must work without any:\n%s", len(errs), strings.Join(errs, "\n"))
		}
	}()
	b.open("/signin")
	b.signIn(modEmail, password)
	b.open(fmt.Sprintf("/c/%d", c.ID))
	b.submit("open People from the navigation", chromedp.CSS(`[data-testid=community-nav] a[href$="/people"]`))
	b.wantPath(fmt.Sprintf("/c/%d/people", c.ID))
	b.waitFor("both people listed", `document.querySelectorAll('[data-testid="person-row"]').length === 2`)

	// Search as you type, by the Discord name: the list narrows without a reload.
	b.do("mark the page", chromedp.Evaluate[chromedp.Void](`window.__same = true`))
	b.do("type a name", chromedp.SendKeys(tid("people-q"), "duckof"))
	b.waitFor("the search narrows the list", `document.querySelectorAll('[data-testid="person-row"]').length === 1`)
	if !b.js(`window.__same === true`) {
		t.Error("the search reloaded the page")
	}
	b.wantText(tid("person-row"), "quackers")
	b.wantText(tid("person-row"), "DuckOfDiscord")
	if !b.js(`location.search === "?q=duckof"`) {
		t.Error("the search is not in the address, to share or go back to")
	}

	b.submit("open the profile", tid("person-link"))
	b.wantPath(fmt.Sprintf("/c/%d/people/%d", c.ID, person))
	b.wantText(tid("person-name"), "quackers")
	b.wantText(chromedp.CSS(`dd[data-testid="person-balance"]`), "10")
	b.wantText(tid("person-accounts"), "DuckOfDiscord")
	b.wantText(tid("person-accounts"), "quackers")
	b.wantText(tid("person-ledger"), "+10")
	b.wantText(tid("person-history"), "timeout")
	b.wantText(tid("person-history-delta"), "-10")
	b.wantText(tid("person-reputation-now"), "-10")

	// The moderator lowers the reputation with a reason; the section updates in place.
	b.do("fill the reputation form", fill(tid("reputation-delta"), "-5"), fill(tid("reputation-reason"), "spoilers in chat"))
	b.do("adjust", chromedp.Click(tid("reputation-submit")))
	b.waitFor("the new score", `document.querySelector('[data-testid="person-reputation-now"]').textContent === "-15"`)
	b.wantText(chromedp.CSS(`[data-testid="person-history-row"]:first-child`), "spoilers in chat")
	b.wantText(chromedp.CSS(`[data-testid="person-history-row"]:first-child`), "Moe Moderator")

	// The moderator labels them "Artist" from the profile: the label shows at
	// once, and so does the state of the Discord role it gives.
	b.waitFor("the labels panel", `document.querySelector('[data-testid="person-label-select"]') !== null`)
	b.do("choose Artist", chromedp.Evaluate[chromedp.Void](`(() => {
		const s = document.querySelector('[data-testid="person-label-select"]');
		s.value = [...s.options].find(o => o.textContent.trim() === "Artist").value;
	})()`))
	b.do("add the label", chromedp.Click(chromedp.CSS(`[data-testid="person-label-add"] button[type=submit]`)))
	b.waitFor("the label on the person", `[...document.querySelectorAll('[data-testid="person-label-list"] [data-testid="label-chip"]')].some(c => c.textContent.includes("Artist"))`)
	b.waitFor("the role assignment's state", `(() => { const r = document.querySelector('[data-testid="person-role"]'); return r !== null && ["pending", "done", "failed"].includes(r.dataset.state) })()`)
	b.wantText(tid("person-role"), "Artist: give Discord Artists")
	var n int
	if err := a.pool.QueryRow(ctx, "SELECT count(*) FROM label_assignments WHERE identity_id = $1 AND account_id = 'dc-q' AND want", person).Scan(&n); err != nil || n != 1 {
		t.Errorf("%d assignments of the role to the person's Discord account (%v); want 1", n, err)
	}
}
