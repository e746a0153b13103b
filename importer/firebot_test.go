package importer

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// fbProfileWant is what fbProfile imports as.
func fbProfileWant() *Bundle {
	return &Bundle{
		Source: Firebot,
		Commands: []Command{
			{
				Name: "api", Response: "$readApi[https://example.com/x]", Original: "$readApi[https://example.com/x]",
				Attention:  []string{"$readApi[https://example.com/x]: fetches a URL; Waddle does not fetch URLs in replies"},
				Permission: "everyone", SourceLevel: "everyone", Enabled: true,
			},
			{
				Name: "hello", Aliases: []string{"hi", "hey"},
				Response:   "Hello {user}, welcome to {channel}! Roll: {random:1-6}",
				Original:   "Hello $user, welcome to $streamer! Roll: $randomNumber[1, 6]",
				Permission: "vip", SourceLevel: "mod, vip", UserCooldown: 60, GlobalCooldown: 30, Enabled: true, Count: 12,
			},
			{
				Name: "mixed", Response: "deaths: {getcounter:deaths}", Original: "deaths: $counter[Deaths]",
				Attention:  []string{"its other effects are not imported: plays a sound (firebot:playsound)"},
				Permission: "everyone", SourceLevel: "everyone", Enabled: true,
			},
			{
				Name:       "sub_only",
				Response:   "subs only {1} {args} {touser} {points}",
				Original:   "subs only $arg[1] $arg[1,last] $target $currency[Coins, $user]",
				Attention:  []string{"$currency[…]: Firebot had several currencies; Waddle's {points} shows the one you import"},
				Permission: "subscriber", SourceLevel: "sub, tier1", Enabled: false,
			},
			{
				Name: "welcome", Aliases: []string{"greet"}, Response: "Welcome!", Original: "Welcome!",
				Attention:  []string{`the alias "!hi" is left out: hi is already !hello's name or alias`},
				Permission: "everyone", SourceLevel: "everyone", Enabled: true,
			},
		},
		Timers: []Timer{{
			Name: "Discord", Message: "Join at example.org", Original: "Join at example.org",
			IntervalMinutes: 10, OfflineMinutes: 0, MinLines: 5, Enabled: true,
		}},
		Quotes: []Quote{
			{Number: 1, Text: "I never lose — alice", Game: "Chess", AddedBy: "bob", Date: time.Date(2021, 4, 23, 19, 1, 2, 0, time.UTC)},
			{Number: 2, Text: "second", AddedBy: "mod1", Date: time.Date(2022, 1, 2, 1, 4, 5, 0, time.UTC)},
		},
		Counters: []Counter{{Name: "deaths", Value: 42}},
		Filters:  []Filter{{Kind: "word", Pattern: "badword"}, {Kind: "regex", Pattern: `(?i)fr[e3]e\s+v-?bucks`}},
		Points: []Balance{
			{Login: "alice", UserID: "1001", Name: "Alice", Points: 550, Seconds: 7500, Currency: "Coins"},
			{Login: "alice", UserID: "1001", Name: "Alice", Points: 3, Seconds: 7500, Currency: "Gems"},
			{Login: "bob", UserID: "1002", Points: 10, Currency: "Coins"},
		},
		Currencies: []string{"Coins", "Gems"},
		Skipped: []Skipped{
			{Category: "command", Name: "!sound", Reason: "it has no chat message; its effects cannot run in Waddle: plays a sound (firebot:playsound)"},
			{Category: "command", Name: "!Ü", Reason: `the trigger "!Ü" cannot be a Waddle command name (letters, digits and _, up to 32)`},
			{Category: "command", Name: "?hello", Reason: "it would be named hello in Waddle, as !hello is"},
			{Category: "timer", Name: "Sound", Reason: "it has no chat message; its effects cannot run in Waddle: plays a sound (firebot:playsound)"},
			{Category: "filter", Name: "(?<=x)y", Reason: "Waddle's regular expressions (RE2) cannot read it: invalid named capture: `(?<=x)y`"},
		},
		Notes: []string{`Waddle's quotes have no author field: who said each quote follows its text after a dash ("text — name").`},
	}
}

var fbBundleCmp = cmpopts.EquateEmpty()

func TestReadFirebotProfile(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		files func(t *testing.T, dir string) []File
	}{
		{"zip of the profile folder", func(t *testing.T, dir string) []File {
			return []File{fbProfileZip(t, dir, "Main Profile.zip", "Main Profile/", fbProfile)}
		}},
		{"zip of the profile's contents", func(t *testing.T, dir string) []File {
			return []File{fbProfileZip(t, dir, "profile.zip", "", fbProfile)}
		}},
		{"single files", func(t *testing.T, dir string) []File {
			var files []File
			for name, content := range fbProfile {
				if name == "settings.json" || strings.HasPrefix(name, "effects/") {
					continue
				}
				files = append(files, fbWriteFile(t, dir, name, content))
			}
			return files
		}},
		{"single files renamed", func(t *testing.T, dir string) []File {
			var files []File
			for name, content := range fbProfile {
				if name == "settings.json" || strings.HasPrefix(name, "effects/") {
					continue
				}
				// A browser download adds " (1)"; the content tells what it is.
				renamed := strings.Replace(name, ".", " (1).", 1)
				files = append(files, fbWriteFile(t, dir, renamed, content))
			}
			return files
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b, err := ReadFirebot(tc.files(t, t.TempDir()))
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(fbProfileWant(), b, fbBundleCmp); d != "" {
				t.Errorf("bundle (-want +got):\n%s", d)
			}
		})
	}
}

func TestReadFirebotSetup(t *testing.T) {
	t.Parallel()
	setup := `{
  "name": "Leaderboard", "description": "d", "author": "someone", "version": 1,
  "requireCurrency": true,
  "importQuestions": [{"id": "q1", "question": "Which overlay folder?", "replaceToken": "%%FOLDER%%", "answer": ""}],
  "components": {
    "commands": [
      {"id": "s1", "trigger": "!top", "active": true, "cooldown": {"global": 5.5},
       "restrictionData": {"mode": "all", "restrictions": [{"type": "firebot:permissions", "mode": "roles", "roleIds": ["broadcaster"]},
         {"type": "firebot:channelcurrency", "selectedCurrency": "x", "amount": 5}]},
       "effects": {"id": "l1", "list": [
         {"type": "firebot:chat", "message": "$user has $currency[coins] coins; dice $randomNumber[$arg[1], 6]"},
         {"type": "firebot:chat", "message": "second message"}], "runMode": "random"},
       "subCommands": [{"arg": "rank", "effects": {}}]}
    ],
    "counters": [{"id": "k9", "name": "Wins Today", "value": 3.7}],
    "currencies": [{"id": "cx", "name": "Coins"}],
    "timers": [{"id": "t9", "name": "Promo", "active": false, "interval": 45, "requiredChatLines": 2, "onlyWhenLive": false,
      "effects": {"id": "l2", "list": [{"type": "firebot:chat", "message": "see %%FOLDER%%", "whisper": "bob"}]}}],
    "events": [{"id": "ev1"}, {"id": "ev2"}],
    "presetEffectLists": [{"id": "p1"}],
    "hotkeys": []
  }
}`
	dir := t.TempDir()
	b, err := ReadFirebot([]File{fbWriteFile(t, dir, "Leaderboard.firebotsetup", setup)})
	if err != nil {
		t.Fatal(err)
	}
	want := &Bundle{
		Source: Firebot,
		Commands: []Command{{
			Name: "top", Response: "{user} has {points} coins; dice $randomNumber[$arg[1], 6]",
			Original: "$user has $currency[coins] coins; dice $randomNumber[$arg[1], 6]",
			Attention: []string{
				"$randomNumber[$arg[1], 6]: a random range set by another variable; Waddle's {random:a-b} needs numbers",
				`Firebot sent 2 chat messages (one at random); Waddle replies with the first, the others were: "second message"`,
				`its subcommand "rank" is not imported`,
				"the restriction firebot:channelcurrency is not imported",
			},
			Permission: "broadcaster", SourceLevel: "broadcaster", GlobalCooldown: 6, Enabled: true,
		}},
		Timers: []Timer{{
			Name: "Promo", Message: "see %%FOLDER%%", Original: "see %%FOLDER%%",
			Attention: []string{
				"the chat message was whispered to bob; Waddle replies in the channel",
				"Firebot ran it every 45 seconds; Waddle runs it every 1 minute(s)",
			},
			IntervalMinutes: 1, OfflineMinutes: 1, MinLines: 2, Enabled: false,
		}},
		Counters:   []Counter{{Name: "wins_today", Value: 3}},
		Currencies: []string{"Coins"},
		Skipped: []Skipped{
			{Category: "file", Name: "Leaderboard.firebotsetup: 2 events", Reason: "Waddle has no equivalent of Firebot's events"},
			{Category: "file", Name: "Leaderboard.firebotsetup: 1 presetEffectLists", Reason: "Waddle has no equivalent of Firebot's presetEffectLists"},
		},
		Notes: []string{`The setup Leaderboard.firebotsetup asks "Which overlay folder?" on import; its answer replaces %%FOLDER%%, which is left as written.`},
	}
	if d := cmp.Diff(want, b, fbBundleCmp); d != "" {
		t.Errorf("bundle (-want +got):\n%s", d)
	}
}

// TestReadFirebotRoles is the documented role table.
func TestReadFirebotRoles(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name      string
		rd        *fbRestrictions
		want      string
		attention int
	}{
		{"none", nil, "everyone", 0},
		{"broadcaster", fbRoleIDs("broadcaster"), "broadcaster", 0},
		{"mod", fbRoleIDs("mod"), "moderator", 0},
		{"vip", fbRoleIDs("vip"), "vip", 0},
		{"sub", fbRoleIDs("sub"), "subscriber", 0},
		{"tier3", fbRoleIDs("tier3"), "subscriber", 0},
		{"mod or sub takes the lower", fbRoleIDs("mod", "sub"), "subscriber", 0},
		{"mixer owner", fbRoleIDs("Owner"), "broadcaster", 0},
		{"custom role only", fbRoleIDs("9f1c-custom"), "moderator", 1},
		{"custom role and vip", fbRoleIDs("9f1c-custom", "vip"), "vip", 1},
		{"single viewer", &fbRestrictions{Mode: "all", Restrictions: []fbRestriction{{Type: "firebot:permissions", Mode: "viewer", Username: "bob"}}}, "broadcaster", 1},
		{"inverted", &fbRestrictions{Mode: "none", Restrictions: []fbRestriction{{Type: "firebot:permissions", Mode: "roles", RoleIDs: []string{"sub"}}}}, "everyone", 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, _, att := firebotPermission(tc.rd)
			if got != tc.want || len(att) != tc.attention {
				t.Errorf("permission = %q with %d attention %q; want %q with %d", got, len(att), att, tc.want, tc.attention)
			}
		})
	}
}

func fbRoleIDs(ids ...string) *fbRestrictions {
	return &fbRestrictions{Mode: "all", Restrictions: []fbRestriction{{Type: "firebot:permissions", Mode: "roles", RoleIDs: ids}}}
}

func TestReadFirebotBadFiles(t *testing.T) {
	t.Parallel()
	commands := fbProfile["chat/commands.json"]
	truncated := commands[:len(commands)/2]
	cases := []struct {
		name     string
		files    map[string]string
		wantFile string
		wantLine int
		wantMsg  string
	}{
		{"truncated JSON", map[string]string{"commands.json": truncated},
			"commands.json", strings.Count(truncated, "\n") + 1, "the JSON ends early"},
		{"syntax error", map[string]string{"timers.json": "{\n  \"t1\": {\n    \"name\": \"x\",,\n  }\n}"},
			"timers.json", 3, "not valid JSON"},
		{"wrong type", map[string]string{"counters.json": "{\n \"k\": {\"name\": \"a\",\n \"value\": \"many\"}}"},
			"counters.json", 3, "should be a number"},
		{"two documents", map[string]string{"currency.json": "{}\n{}"}, "currency.json", 2, "more data after"},
		{"bad NeDB line", map[string]string{"users.db": "{\"_id\":\"1\",\"username\":\"a\"}\n\n{\"_id\":\"2\",\"username\":\"b\",,}\n"},
			"users.db", 3, "invalid JSON"},
		{"NeDB line not an object", map[string]string{"users.db": "{\"_id\":\"1\",\"username\":\"a\"}\n[1,2]\n"},
			"users.db", 2, "each line must be one JSON object"},
		{"NeDB balance not a number", map[string]string{"users.db": "{\"_id\":\"1\",\"username\":\"a\",\"currency\":{\"c\":\"lots\"}}\n"},
			"users.db", 1, "should be a number"},
		{"NeDB line without id", map[string]string{"quotes.db": "{\"text\":\"a\"}\n"}, "quotes.db", 1, "without an _id"},
		{"NeDB cut mid-line", map[string]string{"users.db": "{\"_id\":\"1\",\"username\":\"a\"}\n{\"_id\":\"2\",\"user"},
			"users.db", 2, "invalid JSON"},
		{"only unknown files", map[string]string{"notes.txt": "hello"}, "notes.txt", 0, "no Firebot file found"},
		{"two command files", map[string]string{"commands.json": `{"customCommands":{}}`, "chat/commands.json": `{"customCommands":{}}`},
			"commands.json", 0, "a second custom commands file"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			var files []File
			for name, content := range tc.files {
				f := fbWriteFile(t, dir, name, content)
				f.Name = fbBase(name)
				files = append(files, f)
			}
			_, err := ReadFirebot(files)
			var fe *FileError
			if !errors.As(err, &fe) {
				t.Fatalf("err = %v; want a *FileError", err)
			}
			if fe.File != tc.wantFile || fe.Line != tc.wantLine || !strings.Contains(fe.Message, tc.wantMsg) {
				t.Errorf("err = %+v; want file %q line %d message with %q", fe, tc.wantFile, tc.wantLine, tc.wantMsg)
			}
		})
	}
}

func fbBase(name string) string {
	return name[strings.LastIndex(name, "/")+1:]
}

func TestReadFirebotZipProfiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	files := map[string]string{
		"profiles/Main Profile/chat/commands.json":   `{"customCommands":{}}`,
		"profiles/Second Profile/chat/commands.json": `{"customCommands":{}}`,
	}
	_, err := ReadFirebot([]File{fbProfileZip(t, dir, "v5.zip", "", files)})
	var fe *FileError
	if !errors.As(err, &fe) || !strings.Contains(fe.Message, "several profiles") {
		t.Fatalf("err = %v; want several profiles refused", err)
	}

	empty := fbProfileZip(t, dir, "other.zip", "", map[string]string{"readme.txt": "hi"})
	_, err = ReadFirebot([]File{empty})
	if !errors.As(err, &fe) || !strings.Contains(fe.Message, "no Firebot profile files") {
		t.Fatalf("err = %v; want a zip without profile files refused", err)
	}

	// The backups folder beside the profiles is not read.
	withBackup := fbProfileZip(t, dir, "p.zip", "", map[string]string{
		"profiles/Main Profile/counters/counters.json": `{"k": {"id": "k", "name": "wins", "value": 2}}`,
		"backups/Main Profile/counters/counters.json":  `{"k": {"id": "k", "name": "wins", "value": 1}}`,
	})
	b, err := ReadFirebot([]File{withBackup})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]Counter{{Name: "wins", Value: 2}}, b.Counters); d != "" {
		t.Errorf("counters (-want +got):\n%s", d)
	}
}

// TestReadFirebotSQLiteQuotes: Firebot's newer SQLite quotes database is
// listed as not read, and the NeDB file it left behind is read.
func TestReadFirebotSQLiteQuotes(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	sqlite := "SQLite format 3\x00" + strings.Repeat("\x00", 84)
	f := fbProfileZip(t, dir, "p.zip", "Main Profile/", map[string]string{
		"databases/quotes.db":   sqlite,
		"db/quotes.db.migrated": `{"_id":1,"text":"kept","creator":"a"}` + "\n",
	})
	b, err := ReadFirebot([]File{f})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]Quote{{Number: 1, Text: "kept", AddedBy: "a"}}, b.Quotes); d != "" {
		t.Errorf("quotes (-want +got):\n%s", d)
	}
	want := []Skipped{{Category: "file", Name: "p.zip: Main Profile/databases/quotes.db", Reason: sqliteQuotes}}
	if d := cmp.Diff(want, b.Skipped); d != "" {
		t.Errorf("skipped (-want +got):\n%s", d)
	}

	_, err = ReadFirebot([]File{fbWriteFile(t, dir, "quotes.db", sqlite)})
	var fe *FileError
	if !errors.As(err, &fe) || fe.Line != 1 || !strings.Contains(fe.Message, "a SQLite database, not a NeDB one") {
		t.Fatalf("err = %v; want the SQLite file refused as not NeDB", err)
	}
}

func TestReadFirebotLimits(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	big := fbWriteFile(t, dir, "commands.json", `{"customCommands":{}}`)
	big.Size = MaxCommandsBytes + 1
	_, err := ReadFirebot([]File{big})
	var fe *FileError
	if !errors.As(err, &fe) || !strings.Contains(fe.Message, "at most 5 MiB") {
		t.Fatalf("err = %v; want a commands file over 5 MiB refused", err)
	}

	bad := fbWriteFile(t, dir, "x.firebotsetup", `{"components": {"commands": [{"trigger": 5}]}}`)
	_, err = ReadFirebot([]File{bad})
	if !errors.As(err, &fe) || fe.Message != "components.commands: the field trigger should be text, not number" {
		t.Fatalf("err = %v; want the setup's bad command named", err)
	}
}
