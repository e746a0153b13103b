package importer_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/waddle/waddle/importer"
	"github.com/waddle/waddle/importer/importtest"
	"github.com/waddle/waddle/problem"
)

func seFixtures(f *importtest.StreamElements) {
	f.SetCommands(
		`{"cooldown": {"user": 15, "global": 5}, "aliases": ["Deaths", "died"], "keywords": [], "enabled": true, "enabledOnline": true, "enabledOffline": true,
		  "hidden": false, "cost": 0, "type": "say", "accessLevel": 100, "_id": "5c0a5172de9a4c5b7da14d01", "regex": "",
		  "reply": "${user}, the streamer died ${count deaths} times", "command": "death", "channel": "`+f.Channel+`",
		  "createdAt": "2021-12-07T10:54:42.594Z", "updatedAt": "2021-12-07T10:54:42.594Z"}`,
		`{"cooldown": {"user": 0, "global": 30}, "aliases": [], "keywords": [], "enabled": false, "enabledOnline": true, "enabledOffline": true,
		  "hidden": false, "cost": 50, "type": "whisper", "accessLevel": 500, "_id": "5c0a5172de9a4c5b7da14d02", "regex": "",
		  "reply": "Wins: ${getcount wins}. It is ${time Europe/Berlin}", "command": "wins", "channel": "`+f.Channel+`",
		  "createdAt": "2021-12-07T10:54:42.594Z", "updatedAt": "2021-12-07T10:54:42.594Z"}`,
		`{"cooldown": {"user": 200000, "global": -4}, "aliases": [], "keywords": [], "enabled": true, "enabledOnline": true, "enabledOffline": true,
		  "hidden": false, "cost": 0, "type": "say", "accessLevel": 1500, "_id": "5c0a5172de9a4c5b7da14d03", "regex": "",
		  "reply": "${random.pick 'heads' 'tails'}", "command": "coin", "channel": "`+f.Channel+`",
		  "createdAt": "2021-12-07T10:54:42.594Z", "updatedAt": "2021-12-07T10:54:42.594Z"}`,
		`{"cooldown": {"user": 0, "global": 0}, "aliases": [], "keywords": [], "enabled": true, "accessLevel": 100, "type": "say",
		  "_id": "5c0a5172de9a4c5b7da14d04", "regex": "", "reply": "x", "command": "bad name", "channel": "`+f.Channel+`"}`,
	)
	f.SetTimers(
		`{"online": {"enabled": true, "interval": 15}, "offline": {"enabled": false, "interval": 30}, "enabled": true, "chatLines": 8,
		  "_id": "5c0aa9d3de9a4c4622a14e01", "channel": "`+f.Channel+`", "name": "socials", "message": "Follow ${channel}!",
		  "createdAt": "2021-12-07T17:11:47.909Z", "updatedAt": "2021-12-07T17:11:47.909Z"}`,
		`{"online": {"enabled": true, "interval": 10}, "offline": {"enabled": true, "interval": 60}, "enabled": true, "chatLines": 0,
		  "_id": "5c0aa9d3de9a4c4622a14e02", "channel": "`+f.Channel+`", "name": "tips", "messages": ["Hydrate!", "Stretch!"],
		  "createdAt": "2021-12-07T17:11:47.909Z", "updatedAt": "2021-12-07T17:11:47.909Z"}`,
	)
	f.SetQuotes(
		`{"_id": "61aaaaaaaaaaaaaaaaaaaa01", "id": 1, "text": "I meant to do that.", "game": "Celeste", "username": "mod_one", "createdAt": "2022-02-03T20:00:00.000Z"}`,
		`{"_id": "61aaaaaaaaaaaaaaaaaaaa02", "id": 2, "text": "Chat, remember nothing.", "createdAt": "2022-02-04T20:00:00.000Z"}`,
	)
	f.SetFilters(`{"botFilters": {"banphrases": {"enabled": true}}, "banphrases": [
	  {"public": false, "excludeLevel": 500, "enabled": true, "name": "insults", "phrases": ["meanword", "other phrase"]},
	  {"public": false, "excludeLevel": 500, "enabled": false, "name": "old", "phrases": ["oldword"]}],
	  "_id": "5b2e2007760aeb6949487daf", "channel": "` + f.Channel + `"}`)
	f.SetCounter("deaths", 42)
}

func TestStreamElementsFetch(t *testing.T) {
	ctx := context.Background()
	f := importtest.StartStreamElements(t)
	seFixtures(f)
	points := make([]importtest.SEPoints, 2500)
	for i := range points {
		points[i] = importtest.SEPoints{Username: fmt.Sprintf("Viewer%04d", i), Points: int64(10_000 - i)}
	}
	f.SetPoints(points)

	api := importer.StreamElementsAPI{BaseURL: f.URL()}
	b, err := api.Fetch(ctx, f.Token())
	if err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	if b.Source != importer.StreamElements {
		t.Errorf("Source = %q", b.Source)
	}
	wantCommands := []importer.Command{
		{Name: "death", Aliases: []string{"deaths", "died"}, Response: "{user}, the streamer died {counter:deaths} times",
			Original: "${user}, the streamer died ${count deaths} times", Permission: "everyone", SourceLevel: "100 (everyone)",
			UserCooldown: 15, GlobalCooldown: 5, Enabled: true},
		{Name: "wins", Aliases: []string{}, Response: "Wins: {getcounter:wins}. It is ${time Europe/Berlin}",
			Original: "Wins: ${getcount wins}. It is ${time Europe/Berlin}",
			Attention: []string{
				"${time …}: Waddle has no clock or time zones in replies",
				"StreamElements whispered the reply; Waddle answers in chat",
				"it cost 50 points in StreamElements; Waddle's commands are free",
			},
			Permission: "moderator", SourceLevel: "500 (moderator)", GlobalCooldown: 30, Enabled: false},
		{Name: "coin", Aliases: []string{}, Response: "${random.pick 'heads' 'tails'}", Original: "${random.pick 'heads' 'tails'}",
			Attention:  []string{"${random.pick …}: Waddle has no random pick from a list"},
			Permission: "broadcaster", SourceLevel: "1500 (broadcaster)", UserCooldown: 86400, GlobalCooldown: 0, Enabled: true},
	}
	if diff := cmp.Diff(wantCommands, b.Commands); diff != "" {
		t.Errorf("commands (-want +got):\n%s", diff)
	}
	if len(b.Skipped) != 1 || b.Skipped[0].Name != "bad name" {
		t.Errorf("skipped = %+v", b.Skipped)
	}
	wantTimers := []importer.Timer{
		{Name: "socials", Message: "Follow {channel}!", Original: "Follow ${channel}!", IntervalMinutes: 15, MinLines: 8, Enabled: true},
		{Name: "tips (1 of 2)", Message: "Hydrate!", Original: "Hydrate!", IntervalMinutes: 20, OfflineMinutes: 120, Enabled: true, Attention: []string{
			"StreamElements posted every 10 minutes while live and every 60 while offline; Waddle posts every 10 minutes either way",
			"StreamElements rotated 2 messages in one timer; Waddle posts each as its own timer, every 20 minutes"}},
		{Name: "tips (2 of 2)", Message: "Stretch!", Original: "Stretch!", IntervalMinutes: 20, OfflineMinutes: 120, Enabled: true, Attention: []string{
			"StreamElements posted every 10 minutes while live and every 60 while offline; Waddle posts every 10 minutes either way",
			"StreamElements rotated 2 messages in one timer; Waddle posts each as its own timer, every 20 minutes"}},
	}
	if diff := cmp.Diff(wantTimers, b.Timers); diff != "" {
		t.Errorf("timers (-want +got):\n%s", diff)
	}
	wantQuotes := []importer.Quote{
		{Number: 1, Text: "I meant to do that.", Game: "Celeste", AddedBy: "mod_one", Date: time.Date(2022, 2, 3, 20, 0, 0, 0, time.UTC)},
		{Number: 2, Text: "Chat, remember nothing.", Date: time.Date(2022, 2, 4, 20, 0, 0, 0, time.UTC)},
	}
	if diff := cmp.Diff(wantQuotes, b.Quotes); diff != "" {
		t.Errorf("quotes (-want +got):\n%s", diff)
	}
	wantCounters := []importer.Counter{{Name: "deaths", Value: 42}, {Name: "wins", Value: 0}}
	if diff := cmp.Diff(wantCounters, b.Counters); diff != "" {
		t.Errorf("counters (-want +got):\n%s", diff)
	}
	if !strings.Contains(strings.Join(b.Notes, " "), "did not know the counters wins") {
		t.Errorf("notes = %q, want the unknown counter named", b.Notes)
	}
	wantFilters := []importer.Filter{{Kind: "word", Pattern: "meanword"}, {Kind: "word", Pattern: "other phrase"}, {Kind: "word", Pattern: "oldword"}}
	if diff := cmp.Diff(wantFilters, b.Filters); diff != "" {
		t.Errorf("filters (-want +got):\n%s", diff)
	}
	if len(b.Points) != 2500 {
		t.Fatalf("points: %d balances, want 2500", len(b.Points))
	}
	if b.Points[0] != (importer.Balance{Login: "viewer0000", Points: 10_000}) || b.Points[2499] != (importer.Balance{Login: "viewer2499", Points: 7501}) {
		t.Errorf("points: first %+v, last %+v", b.Points[0], b.Points[2499])
	}
	var pages []string
	for _, r := range f.Requests() {
		if strings.Contains(r, "/points/") {
			pages = append(pages, strings.TrimPrefix(r, "GET /kappa/v2/points/"+f.Channel+"/top"))
		}
	}
	if diff := cmp.Diff([]string{"?limit=1000&offset=0", "?limit=1000&offset=1000", "?limit=1000&offset=2000"}, pages); diff != "" {
		t.Errorf("points pages (-want +got):\n%s", diff)
	}
}

// A leaderboard that is an exact number of pages, and quotes in the
// object shape, end without an extra request failing.
func TestStreamElementsFetchShapes(t *testing.T) {
	ctx := context.Background()
	f := importtest.StartStreamElements(t)
	points := make([]importtest.SEPoints, 1000)
	for i := range points {
		points[i] = importtest.SEPoints{Username: fmt.Sprintf("v%d", i), Points: 1}
	}
	points = append(points, points[0]) // the board moved between pages
	f.SetPoints(points)
	f.Answer("/bot/quotes/"+f.Channel, `{"_total": 1, "quotes": [{"id": "7", "text": "Object shape"}]}`)
	b, err := importer.StreamElementsAPI{BaseURL: f.URL()}.Fetch(ctx, f.Token())
	if err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	if len(b.Points) != 1000 || !strings.Contains(strings.Join(b.Notes, " "), "1 viewers appeared twice") {
		t.Errorf("points %d, notes %q", len(b.Points), b.Notes)
	}
	if diff := cmp.Diff([]importer.Quote{{Number: 7, Text: "Object shape"}}, b.Quotes); diff != "" {
		t.Errorf("quotes (-want +got):\n%s", diff)
	}
}

func TestStreamElementsFetchRefusals(t *testing.T) {
	ctx := context.Background()
	f := importtest.StartStreamElements(t)
	api := importer.StreamElementsAPI{BaseURL: f.URL()}
	claims := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	valid := strings.Split(f.Token(), ".")

	cases := []struct {
		name, token string
		code        problem.Code
		want        string
	}{
		{"empty", "", problem.Invalid, "three parts"},
		{"not a jwt", "hello", problem.Invalid, "three parts"},
		{"two parts", valid[0] + "." + valid[1], problem.Invalid, "three parts"},
		{"bad base64", valid[0] + ".!!!." + valid[2], problem.Invalid, "base64url"},
		{"claims not json", valid[0] + "." + claims("nope") + "." + valid[2], problem.Invalid, "not JSON"},
		{"no channel", valid[0] + "." + claims(`{"role":"owner"}`) + "." + valid[2], problem.Invalid, "names no StreamElements channel"},
		{"expired", f.Issue(time.Now().Add(-time.Hour)), problem.Invalid, "expired on"},
		{"forged", valid[0] + "." + claims(`{"channel":"`+f.Channel+`"}`) + "." + valid[2], problem.Unauthorized, "refused the token"},
		{"another channel", f.IssueFor("0123456789abcdef01234567"), problem.Invalid, "belongs to"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := api.Fetch(ctx, c.token)
			if !problem.Is(err, c.code) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("err = %v, want %s with %q", err, c.code, c.want)
			}
		})
	}
	t.Run("expired by the API's clock", func(t *testing.T) {
		late := api
		late.Now = func() time.Time { return time.Now().Add(2 * 365 * 24 * time.Hour) }
		if _, err := late.Fetch(ctx, f.Token()); !problem.Is(err, problem.Invalid) {
			t.Errorf("err = %v, want the expiry refused", err)
		}
	})
	t.Run("junk with 200", func(t *testing.T) {
		f.Answer("/bot/timers/"+f.Channel, "<html>oops</html>")
		_, err := api.Fetch(ctx, f.Token())
		if err == nil || !strings.Contains(err.Error(), "/bot/timers/") || !strings.Contains(err.Error(), "not StreamElements' JSON") {
			t.Errorf("err = %v, want the junk named", err)
		}
		f.Answer("/bot/timers/"+f.Channel, "[]")
		f.Answer("/points/"+f.Channel+"/top", `{"total": 3}`)
		if _, err := api.Fetch(ctx, f.Token()); err == nil || !strings.Contains(err.Error(), "no users list") {
			t.Errorf("err = %v, want the missing list named", err)
		}
	})
	t.Run("Bearer prefix pasted too", func(t *testing.T) {
		f.Answer("/points/"+f.Channel+"/top", `{"_total": 0, "users": []}`)
		if _, err := api.Fetch(ctx, "Bearer "+f.Token()); err != nil {
			t.Errorf("err = %v", err)
		}
	})
}
