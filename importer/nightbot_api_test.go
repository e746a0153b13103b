package importer_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/waddle/waddle/importer"
	"github.com/waddle/waddle/importer/importtest"
	"github.com/waddle/waddle/problem"
)

const nbRedirect = "https://waddle.example/hub/imports/nightbot/callback"

func nightbotAPI(f *importtest.Nightbot) importer.NightbotAPI {
	return importer.NightbotAPI{BaseURL: f.URL(), AuthURL: f.AuthURL(), ClientID: importtest.NightbotClientID, ClientSecret: importtest.NightbotClientSecret}
}

// authorize follows the authorize URL as the browser would and returns
// the code Nightbot sends back.
func authorize(t *testing.T, api importer.NightbotAPI, state string) string {
	t.Helper()
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noFollow.Get(api.AuthorizeURL(state, nbRedirect))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("authorize: status %d", resp.StatusCode)
	}
	back, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	if got := back.Query().Get("state"); got != state {
		t.Fatalf("state came back as %q, want %q", got, state)
	}
	return back.Query().Get("code")
}

func TestNightbotAPI(t *testing.T) {
	ctx := context.Background()
	f := importtest.StartNightbot(t)
	f.Redirects = []string{nbRedirect}
	f.SetCommands(
		`{"_id": "c1", "name": "!lurk", "message": "$(user) is lurking", "coolDown": 10, "count": 3, "userLevel": "everyone"}`,
		`{"_id": "c2", "name": "!so", "message": "Go follow $(touser) at twitch.tv/$(1)", "coolDown": 5, "count": 0, "userLevel": "moderator"}`,
	)
	f.SetTimers(`{"_id": "t1", "name": "prime", "message": "Sub with Prime!", "interval": "*/30 * * * *", "lines": 10, "enabled": true}`)
	var regulars []string
	for i := range 230 {
		regulars = append(regulars, fmt.Sprintf(`{"_id": "r%d", "name": "regular_%03d", "displayName": "Regular_%03d", "provider": "twitch", "providerId": "%d"}`, i, i, i, 1000+i))
	}
	f.SetRegulars(regulars...)
	f.SetFilters(`{"enabled": true, "length": 600, "blacklist": "badword\n~/sp[a4]m/", "_type": "blacklist", "_name": "Blacklist Words/Phrases"}`)

	api := nightbotAPI(f)
	u, err := url.Parse(api.AuthorizeURL("st4te", nbRedirect))
	if err != nil {
		t.Fatal(err)
	}
	if got := u.Query().Get("scope"); got != "commands timers regulars spam_protection" {
		t.Errorf("scope = %q", got)
	}
	code := authorize(t, api, "st4te")
	token, err := api.Exchange(ctx, code, nbRedirect)
	if err != nil {
		t.Fatalf("Exchange: %v", err)
	}
	b, err := api.Fetch(ctx, token)
	if err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	wantCommands := []importer.Command{
		{Name: "lurk", Aliases: []string{}, Response: "{user} is lurking", Original: "$(user) is lurking", Permission: "everyone", SourceLevel: "everyone", GlobalCooldown: 10, Enabled: true, Count: 3},
		{Name: "so", Aliases: []string{}, Response: "Go follow {touser} at twitch.tv/{1}", Original: "Go follow $(touser) at twitch.tv/$(1)", Permission: "moderator", SourceLevel: "moderator", GlobalCooldown: 5, Enabled: true},
	}
	if diff := cmp.Diff(wantCommands, b.Commands); diff != "" {
		t.Errorf("commands (-want +got):\n%s", diff)
	}
	wantTimers := []importer.Timer{{Name: "prime", Message: "Sub with Prime!", Original: "Sub with Prime!", IntervalMinutes: 30, MinLines: 10, Enabled: true}}
	if diff := cmp.Diff(wantTimers, b.Timers); diff != "" {
		t.Errorf("timers (-want +got):\n%s", diff)
	}
	if len(b.Regulars) != 230 || b.Regulars[0] != "regular_000" || b.Regulars[229] != "regular_229" {
		t.Errorf("regulars: %d, first %q", len(b.Regulars), b.Regulars[:1])
	}
	wantFilters := []importer.Filter{{Kind: "word", Pattern: "badword"}, {Kind: "regex", Pattern: "sp[a4]m"}}
	if diff := cmp.Diff(wantFilters, b.Filters); diff != "" {
		t.Errorf("filters (-want +got):\n%s", diff)
	}
	var pages []string
	for _, r := range f.Requests() {
		if strings.Contains(r, "/1/regulars") {
			pages = append(pages, r)
		}
	}
	wantPages := []string{"GET /1/regulars?limit=100&offset=0", "GET /1/regulars?limit=100&offset=100", "GET /1/regulars?limit=100&offset=200"}
	if diff := cmp.Diff(wantPages, pages); diff != "" {
		t.Errorf("regulars pages (-want +got):\n%s", diff)
	}
}

func TestNightbotAPIRefusals(t *testing.T) {
	ctx := context.Background()
	f := importtest.StartNightbot(t)
	f.Redirects = []string{nbRedirect, nbRedirect + "2"}
	api := nightbotAPI(f)

	t.Run("wrong client secret", func(t *testing.T) {
		bad := api
		bad.ClientSecret = "not-the-secret"
		_, err := bad.Exchange(ctx, authorize(t, api, "s"), nbRedirect)
		if err == nil || !strings.Contains(err.Error(), "NIGHTBOT_CLIENT_SECRET") {
			t.Errorf("err = %v, want the secret named", err)
		}
	})
	t.Run("code used twice", func(t *testing.T) {
		code := authorize(t, api, "s")
		if _, err := api.Exchange(ctx, code, nbRedirect); err != nil {
			t.Fatal(err)
		}
		_, err := api.Exchange(ctx, code, nbRedirect)
		if !problem.Is(err, problem.Invalid) {
			t.Errorf("err = %v, want the reused code refused", err)
		}
	})
	t.Run("other redirect", func(t *testing.T) {
		_, err := api.Exchange(ctx, authorize(t, api, "s"), nbRedirect+"2")
		if !problem.Is(err, problem.Invalid) {
			t.Errorf("err = %v, want the changed redirect_uri refused", err)
		}
	})
	t.Run("no code", func(t *testing.T) {
		if _, err := api.Exchange(ctx, "", nbRedirect); !problem.Is(err, problem.Invalid) {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("bad bearer", func(t *testing.T) {
		_, err := api.Fetch(ctx, "not-a-token")
		if !problem.Is(err, problem.Unauthorized) {
			t.Errorf("err = %v, want Unauthorized", err)
		}
	})
	t.Run("revoked token", func(t *testing.T) {
		tok, err := api.Exchange(ctx, authorize(t, api, "s"), nbRedirect)
		if err != nil {
			t.Fatal(err)
		}
		f.Revoke(tok)
		if _, err := api.Fetch(ctx, tok); !problem.Is(err, problem.Unauthorized) {
			t.Errorf("err = %v, want Unauthorized", err)
		}
	})
	t.Run("scope not granted", func(t *testing.T) {
		f.GrantScopes([]string{"commands", "timers"})
		defer f.GrantScopes(nil)
		tok, err := api.Exchange(ctx, authorize(t, api, "s"), nbRedirect)
		if err != nil {
			t.Fatal(err)
		}
		_, err = api.Fetch(ctx, tok)
		if !problem.Is(err, problem.Forbidden) || !strings.Contains(err.Error(), "spam_protection") {
			t.Errorf("err = %v, want spam_protection forbidden", err)
		}
	})
	t.Run("junk with 200", func(t *testing.T) {
		tok, err := api.Exchange(ctx, authorize(t, api, "s"), nbRedirect)
		if err != nil {
			t.Fatal(err)
		}
		f.Junk("/1/timers", "<html>maintenance</html>")
		defer f.Junk("/1/timers", `{"timers": []}`)
		_, err = api.Fetch(ctx, tok)
		if err == nil || !strings.Contains(err.Error(), "/1/timers") || !strings.Contains(err.Error(), "not Nightbot's JSON") {
			t.Errorf("err = %v, want the junk named", err)
		}
		f.Junk("/1/timers", `{"status": 200}`)
		if _, err = api.Fetch(ctx, tok); err == nil || !strings.Contains(err.Error(), "no timers list") {
			t.Errorf("err = %v, want the missing list named", err)
		}
	})
}
