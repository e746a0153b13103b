package discord

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/db"
	"github.com/waddle/waddle/router"
)

// names are the names of the commands the fake guild has.
func (e *env) names() []string {
	var out []string
	for _, c := range e.rest.Commands(appID, guild) {
		out = append(out, c.Name)
	}
	return out
}

// ran records runs of command yesterday, as the execution log does.
func (e *env) ran(command string, times int) {
	e.t.Helper()
	rows := make([]db.CommandExecutionInsertParams, times)
	for i := range rows {
		rows[i] = db.CommandExecutionInsertParams{CommunityID: e.cid, Command: command, Platform: router.Discord, UserID: "42",
			Executor: "text", Outcome: "ok", CreatedAt: e.clock.Now().Add(-24 * time.Hour), Refused: []string{}}
	}
	if _, err := db.New(e.pool).CommandExecutionInsert(context.Background(), rows); err != nil {
		e.t.Fatal(err)
	}
}

func TestSlashCommandsPastTheCapAreTheMostUsedAndChosen(t *testing.T) {
	t.Parallel()
	e := newEnv(t, true)
	e.rest.SetNow(e.clock.Now)
	e.ran("c119", 5)
	e.ran("c110", 3)
	e.clock.add(24 * time.Hour) // use ranks by whole days: yesterday's counts from today
	for i := range 120 {
		e.command(fmt.Sprintf("c%03d", i), "reply")
	}
	ctx := context.Background()
	if err := e.settings.SetSlashChoice(ctx, audit.Actor{}, e.cid, "c118", router.SlashAlways); err != nil {
		t.Fatal(err)
	}
	if err := e.settings.SetSlashChoice(ctx, audit.Actor{}, e.cid, "help", router.SlashNever); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the chosen and most used commands", func() bool {
		n := e.names()
		return slices.Contains(n, "c118") && !slices.Contains(n, "help")
	})
	got := e.names()
	if len(got) != router.MaxSlashCommands {
		t.Errorf("%d slash commands, want Discord's %d", len(got), router.MaxSlashCommands)
	}
	for _, want := range []string{"c118", "c119", "c110", "points", "c000"} {
		if !slices.Contains(got, want) {
			t.Errorf("slash commands lack %s", want)
		}
	}
	// The least used, last by name, are left out, and the plan says why.
	plan, err := e.settings.SlashCommands(ctx, e.cid, e.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range plan {
		switch p.Name {
		case "c117":
			if p.Slash || p.Reason != router.SlashOverLimit || slices.Contains(got, "c117") {
				t.Errorf("c117: slash %v, reason %q; registered %v", p.Slash, p.Reason, slices.Contains(got, "c117"))
			}
		case "help":
			if p.Slash || p.Reason == "" {
				t.Errorf("help: slash %v, reason %q", p.Slash, p.Reason)
			}
		}
	}
}

func TestSlashCreatesStayWithinTheDailyLimit(t *testing.T) {
	t.Parallel()
	e := newEnv(t, true)
	e.rest.SetNow(e.clock.Now)
	e.builtinsRegistered(t)
	before := len(e.names())
	// 195 of today's 200 creates are spent already.
	e.rest.SetCreates(appID, guild, e.clock.Now(), 195)
	e.bot.setCreates(context.Background(), guild, e.clock.Now(), 195)
	for i := range 10 {
		e.command(fmt.Sprintf("new%d", i), "reply")
	}
	eventually(t, "five new commands", func() bool { return len(e.names()) == before+5 })
	if n := e.rest.Creates(appID, guild, e.clock.Now()); n != 200 {
		t.Errorf("%d creates today, want 200", n)
	}
	for _, r := range e.rest.Find("PUT", "/applications/"+appID+"/guilds/"+guild+"/commands") {
		if strings.Contains(r.Body, "new9") {
			t.Fatalf("a registration past the daily limit was sent: %.200s", r.Body)
		}
	}
	// The next day, the rest follow.
	e.clock.add(24 * time.Hour)
	eventually(t, "the other five", func() bool { return len(e.names()) == before+10 })
}

func TestSlashRegistrationWaitsOutDiscordsRetryAfter(t *testing.T) {
	t.Parallel()
	e := newEnv(t, true)
	e.rest.SetNow(e.clock.Now)
	path := "/applications/" + appID + "/guilds/" + guild + "/commands"
	e.builtinsRegistered(t)
	// Another deployment of the app spent today's creates: Discord says so.
	e.rest.SetCreates(appID, guild, e.clock.Now(), 200)
	e.command("late", "reply")
	e.waitBody("PUT", path, `"name":"late"`)
	// Discord's retry_after runs to its next day: the bot waits that long,
	// where it used to try again on every link poll.
	midnight := e.clock.Now().UTC().Truncate(24 * time.Hour).Add(24 * time.Hour)
	eventually(t, "the registration held back until Discord's next day", func() bool {
		e.bot.mu.Lock()
		defer e.bot.mu.Unlock()
		at := e.bot.slashWait[guild].at
		return !at.Before(midnight.Add(-time.Second)) && !at.After(midnight.Add(time.Second))
	})
	puts := len(e.rest.Find("PUT", path))
	e.clock.add(time.Hour)
	time.Sleep(300 * time.Millisecond) // three link polls
	if n := len(e.rest.Find("PUT", path)); n != puts {
		t.Errorf("%d registrations before Discord's retry_after ran out", n-puts)
	}
	e.clock.add(24 * time.Hour)
	eventually(t, "the command registered the next day", func() bool { return slices.Contains(e.names(), "late") })
}

// formModule is a remote module answering with forms.
func formModule(t *testing.T) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req router.RemoteRequest
		json.NewDecoder(r.Body).Decode(&req)
		var ans router.RemoteAnswer
		switch strings.Join(req.Args, " ") {
		case "empty":
			ans.Responses = []router.Response{{Form: &router.Form{ID: "#f sent", Title: "Nothing", Fields: []router.FormField{{ID: "", Label: "No id"}}}}}
		case "form":
			ans.Responses = []router.Response{{Form: &router.Form{ID: "#f sent", Title: "Tell us", Fields: []router.FormField{{ID: "color", Label: "Colour"}}}}}
		case "sent":
			ans.Reply = fmt.Sprintf("colour is %v", req.Event.Data["color"])
		}
		json.NewEncoder(w).Encode(ans)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestFormWithoutFieldsAnswersWithANote(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false)
	if _, err := e.settings.CreateModule(context.Background(), audit.Actor{}, e.cid, router.ModuleInput{Name: "f", Kind: "webhook", URL: formModule(t), Secret: "s"}); err != nil {
		t.Fatal(err)
	}
	e.gw.Dispatch("INTERACTION_CREATE", ixPayload("710", 3, map[string]any{"custom_id": "#f empty", "component_type": 2}))
	cb := e.waitBody("POST", "/interactions/710/tok-710/callback", "no fields")
	if !strings.Contains(cb.Body, `"type":4`) || !strings.Contains(cb.Body, `"flags":64`) {
		t.Errorf("callback %s, want a private message", cb.Body)
	}
	for _, r := range e.rest.Find("POST", "/interactions/710/tok-710/callback") {
		if strings.Contains(r.Body, `"type":9`) {
			t.Errorf("a modal was sent: %s", r.Body)
		}
	}
	if v := e.rest.Views("tok-710"); len(v) != 1 || !v[0].Private {
		t.Errorf("Discord showed %+v, want one private note", v)
	}
}

func TestModalInputsSitInLabelsAndTheirSubmitIsRead(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false)
	if _, err := e.settings.CreateModule(context.Background(), audit.Actor{}, e.cid, router.ModuleInput{Name: "f", Kind: "webhook", URL: formModule(t), Secret: "s"}); err != nil {
		t.Fatal(err)
	}
	e.gw.Dispatch("INTERACTION_CREATE", ixPayload("711", 3, map[string]any{"custom_id": "#f form", "component_type": 2}))
	cb := e.waitBody("POST", "/interactions/711/tok-711/callback", `"type":9`)
	var body struct {
		Data struct {
			Components []struct {
				Type      int    `json:"type"`
				Label     string `json:"label"`
				Component struct {
					Type     int    `json:"type"`
					CustomID string `json:"custom_id"`
					Label    string `json:"label"`
				} `json:"component"`
			} `json:"components"`
		} `json:"data"`
	}
	if err := json.Unmarshal([]byte(cb.Body), &body); err != nil {
		t.Fatal(err)
	}
	if c := body.Data.Components; len(c) != 1 || c[0].Type != 18 || c[0].Label != "Colour" || c[0].Component.Type != 4 ||
		c[0].Component.CustomID != "color" || c[0].Component.Label != "" {
		t.Errorf("modal components %+v, want one Label around a text input", c)
	}
	// Discord sends the submit in the same shape.
	e.gw.Dispatch("INTERACTION_CREATE", ixPayload("712", 5, map[string]any{"custom_id": "#f sent", "components": []any{
		map[string]any{"type": 18, "id": 1, "component": map[string]any{"type": 4, "id": 2, "custom_id": "color", "value": "teal"}}}}))
	e.waitBody("PATCH", "/webhooks/"+appID+"/tok-712/messages/@original", "colour is teal")
}

func TestParseModalSubmitNeverPanics(t *testing.T) {
	for _, raw := range []string{`null`, `{}`, `{"components":null}`, `{"components":[{"type":18}]}`, `{"components":[{"type":18,"component":{"type":18,"component":{"type":4,"custom_id":"deep","value":"x"}}}]}`,
		`{"components":[{"type":1,"components":[{"type":4,"custom_id":"a","value":"1"}]}]}`, `{"components":"x"}`} {
		d, err := parseModalSubmit(json.RawMessage(raw))
		if err == nil && d.Fields["deep"] != nil {
			t.Errorf("%s: an input nested past a Label was read", raw)
		}
	}
	d, err := parseModalSubmit(json.RawMessage(`{"custom_id":"f","components":[{"type":1,"components":[{"type":4,"custom_id":"a","value":"1"}]},{"type":18,"component":{"type":4,"custom_id":"b","value":"2"}}]}`))
	if err != nil || d.CustomID != "f" || d.Fields["a"] != "1" || d.Fields["b"] != "2" {
		t.Errorf("both shapes: %+v, %v", d, err)
	}
}

func TestAuditReason(t *testing.T) {
	cases := []struct {
		name, in  string
		wantRunes int // decoded; 0: no header
	}{
		{"empty", "", 0},
		{"blank", " \n ", 0},
		{"words", "matched a moderation rule", 25},
		{"line break and accents", "spam\nà la carte", 15},
		{"long", strings.Repeat("é", 600), 512},
		{"cut before a duck", strings.Repeat("a", 511) + "🦆🦆", 512},
	}
	for _, c := range cases {
		got := auditReason(c.in)
		if c.wantRunes == 0 {
			if got != "" {
				t.Errorf("%s: %q, want no reason", c.name, got)
			}
			continue
		}
		if strings.ContainsAny(got, " \n") {
			t.Errorf("%s: %q is not URL-encoded", c.name, got)
		}
		dec, err := url.PathUnescape(got)
		if err != nil || !utf8.ValidString(dec) || utf8.RuneCountInString(dec) != c.wantRunes {
			t.Errorf("%s: decodes to %d characters (%v), want %d", c.name, utf8.RuneCountInString(dec), err, c.wantRunes)
		}
	}
}

func TestModerationSendsEncodedAuditReasons(t *testing.T) {
	t.Parallel()
	e := newEnv(t, true)
	ctx := context.Background()
	for _, r := range []router.RuleInput{
		{Match: router.MatchWord, Pattern: "badword", Action: router.ActionDelete},
		{Match: router.MatchWord, Pattern: "spam", Action: router.ActionTimeout, TimeoutSeconds: 60},
		{Match: router.MatchWord, Pattern: "evil", Action: router.ActionBan},
	} {
		if _, err := e.settings.CreateRule(ctx, audit.Actor{}, e.cid, r); err != nil {
			t.Fatal(err)
		}
	}
	e.gw.Dispatch("MESSAGE_CREATE", message("681", "42", "a badword here"))
	e.gw.Dispatch("MESSAGE_CREATE", message("682", "43", "spam spam"))
	e.gw.Dispatch("MESSAGE_CREATE", message("683", "44", "so evil"))
	eventually(t, "three reasons Discord accepted", func() bool { return len(e.rest.Reasons()) == 3 })
	for _, r := range e.rest.Reasons() {
		if r.Text != "matched a moderation rule" {
			t.Errorf("%s %s: reason %q", r.Method, r.Path, r.Text)
		}
	}
	if bans := e.rest.Find("PUT", "/guilds/"+guild+"/bans/44"); len(bans) != 1 || strings.Contains(bans[0].Query, "reason") {
		t.Errorf("bans %+v, want one with the reason in its header only", bans)
	}
}

// threadMessage is a member's message in channel.
func threadMessage(id, channel, content string) map[string]any {
	m := message(id, "42", content)
	m["channel_id"] = channel
	return m
}

func TestNoReplyInAThreadWithoutSendMessagesInThreads(t *testing.T) {
	t.Parallel()
	e := newEnv(t, true)
	e.command("hello", "Quack!")
	e.gw.Dispatch("GUILD_CREATE", map[string]any{"id": guild, "name": "Duck pond", "owner_id": "1",
		"roles": []any{
			map[string]any{"id": guild, "name": "@everyone", "permissions": "3072"}, // view channels, send messages
			map[string]any{"id": "88", "name": "waddle", "permissions": "0"}},
		"channels": []any{map[string]any{"id": "50", "type": 0, "name": "general", "permission_overwrites": []any{}}},
		"threads":  []any{map[string]any{"id": "60", "type": 11, "parent_id": "50", "name": "a thread"}},
		"members":  []any{map[string]any{"user": map[string]any{"id": botID, "username": "waddle", "bot": true}, "roles": []string{"88"}}}})
	e.rest.Thread(guild, "50", "60", false)
	e.rest.Thread(guild, "50", "61", false) // opened since: the gateway did not list it

	e.gw.Dispatch("MESSAGE_CREATE", threadMessage("690", "60", "!hello"))
	e.gw.Dispatch("MESSAGE_CREATE", threadMessage("691", "61", "!hello"))
	e.gw.Dispatch("MESSAGE_CREATE", threadMessage("692", "50", "!hello"))
	e.waitBody("POST", "/channels/50/messages", "Quack!") // one worker: the thread messages were handled first
	for _, th := range []string{"60", "61"} {
		if n := len(e.rest.Find("POST", "/channels/"+th+"/messages")); n != 0 {
			t.Errorf("%d posts in thread %s, where Discord refuses them", n, th)
		}
	}
	if n := len(e.rest.Find("GET", "/channels/61")); n != 1 {
		t.Errorf("%d lookups of the unlisted thread, want 1", n)
	}

	// Granted the permission, the bot answers in the thread.
	e.gw.Dispatch("GUILD_ROLE_UPDATE", map[string]any{"guild_id": guild, "role": map[string]any{"id": "88", "name": "waddle", "permissions": fmt.Sprint(1 << 38)}})
	e.rest.Thread(guild, "50", "60", true)
	e.gw.Dispatch("MESSAGE_CREATE", threadMessage("693", "60", "!hello"))
	e.waitBody("POST", "/channels/60/messages", "Quack!")
}

func TestThreadThatRefusedAPostIsLeftAlone(t *testing.T) {
	t.Parallel()
	e := newEnv(t, true)
	e.command("hello", "Quack!")
	// The bot believes it may post (its role grants the permission), but
	// the thread's parent took it away since, unseen.
	e.gw.Dispatch("GUILD_CREATE", map[string]any{"id": guild, "name": "Duck pond", "owner_id": "1",
		"roles": []any{
			map[string]any{"id": guild, "name": "@everyone", "permissions": "3072"},
			map[string]any{"id": "88", "name": "waddle", "permissions": fmt.Sprint(1 << 38)}},
		"channels": []any{map[string]any{"id": "50", "type": 0, "name": "general"}},
		"threads":  []any{map[string]any{"id": "60", "type": 11, "parent_id": "50", "name": "a thread"}},
		"members":  []any{map[string]any{"user": map[string]any{"id": botID, "username": "waddle", "bot": true}, "roles": []string{"88"}}}})
	e.rest.Thread(guild, "50", "60", false)
	e.gw.Dispatch("MESSAGE_CREATE", threadMessage("695", "60", "!hello"))
	eventually(t, "the refused post", func() bool { return len(e.rest.Find("POST", "/channels/60/messages")) == 1 })
	eventually(t, "the refusal counted", func() bool { return e.bot.queue.Stats().Failed == 1 })
	e.gw.Dispatch("MESSAGE_CREATE", threadMessage("696", "60", "!hello"))
	e.gw.Dispatch("MESSAGE_CREATE", threadMessage("697", "50", "!hello"))
	e.waitBody("POST", "/channels/50/messages", "Quack!")
	if n := len(e.rest.Find("POST", "/channels/60/messages")); n != 1 {
		t.Errorf("%d posts in the thread that refused one, want 1", n)
	}
}

func FuzzParseModalSubmit(f *testing.F) {
	f.Add(`{"custom_id":"f","components":[{"type":18,"component":{"type":4,"custom_id":"a","value":"1"}}]}`)
	f.Add(`{"components":[{"type":1,"components":[{"type":4,"custom_id":"a","value":"1"}]}]}`)
	f.Add(`{"components":[{"type":18,"component":null}]}`)
	f.Fuzz(func(t *testing.T, raw string) {
		d, err := parseModalSubmit(json.RawMessage(raw))
		if err != nil {
			return
		}
		if len(d.Fields) > 50 {
			t.Errorf("%d fields, want at most 50", len(d.Fields))
		}
		for k, v := range d.Fields {
			if len(k) > 100 || utf8.RuneCountInString(v.(string)) > 4000 {
				t.Errorf("field %q of %d characters", k, utf8.RuneCountInString(v.(string)))
			}
		}
	})
}

func FuzzAuditReason(f *testing.F) {
	f.Add("matched a moderation rule")
	f.Add("line\nbreak % 100%")
	f.Add(strings.Repeat("🦆", 600))
	f.Add("\xff\xfe")
	f.Fuzz(func(t *testing.T, reason string) {
		got := auditReason(reason)
		if got == "" {
			if strings.TrimSpace(strings.ToValidUTF8(reason, "\uFFFD")) != "" {
				t.Errorf("reason %q dropped", reason)
			}
			return
		}
		dec, err := url.PathUnescape(got)
		if err != nil || !utf8.ValidString(dec) || utf8.RuneCountInString(dec) > maxAuditReason || utf8.RuneCountInString(dec) < 1 {
			t.Errorf("%q → %q: decodes to %d characters (%v)", reason, got, utf8.RuneCountInString(dec), err)
		}
		for i := 0; i < len(got); i++ {
			if got[i] <= ' ' || got[i] >= 0x7f {
				t.Fatalf("%q: byte %#x is not encoded", got, got[i])
			}
		}
	})
}

// builtinsRegistered waits until the bot has registered the built-in
// commands and finished its own bookkeeping of that registration (its
// count of today's creates is written before it marks the guild done), so
// that a test's change to the count is not overwritten by the bot's.
func (e *env) builtinsRegistered(t *testing.T) {
	t.Helper()
	eventually(t, "the built-ins registered", func() bool {
		e.bot.mu.Lock()
		done := e.bot.hashes[guild] != ""
		e.bot.mu.Unlock()
		return done && slices.Contains(e.names(), "help")
	})
}
