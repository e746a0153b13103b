package importer_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/waddle/waddle/importer"
)

// writeFile saves an upload the way the hub does before parsing it.
func writeFile(t *testing.T, name, content string) importer.File {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return importer.File{Name: name, Path: p, Size: int64(len(content))}
}

// Hand-written in the shape of GET /1/commands.
const nbCommandsJSON = `{
  "_total": 5,
  "status": 200,
  "commands": [
    {"_id": "5f0000000000000000000001", "name": "!discord", "message": "Join us: https://discord.example/abc", "coolDown": 30, "count": 12, "userLevel": "everyone",
     "createdAt": "2021-03-01T10:00:00.000Z", "updatedAt": "2022-01-01T10:00:00.000Z"},
    {"_id": "5f0000000000000000000002", "name": "!Hug", "message": "$(user) hugs $(touser)! ($(count) hugs)", "coolDown": 5, "count": 40, "userLevel": "regular",
     "createdAt": "2021-03-01T10:00:00.000Z", "updatedAt": "2021-03-01T10:00:00.000Z"},
    {"_id": "5f0000000000000000000003", "name": "!followage", "message": "$(urlfetch https://api.example/followage/$(channel)/$(user))", "coolDown": 100000, "count": 0, "userLevel": "moderator",
     "createdAt": "2021-03-01T10:00:00.000Z", "updatedAt": "2021-03-01T10:00:00.000Z"},
    {"_id": "5f0000000000000000000004", "name": "!bad-name", "message": "hi", "coolDown": 5, "count": 0, "userLevel": "owner",
     "createdAt": "2021-03-01T10:00:00.000Z", "updatedAt": "2021-03-01T10:00:00.000Z"},
    {"_id": "5f0000000000000000000005", "name": "!hug", "message": "duplicate", "coolDown": 5, "count": 0, "userLevel": "everyone",
     "createdAt": "2021-03-01T10:00:00.000Z", "updatedAt": "2021-03-01T10:00:00.000Z"}
  ]
}`

// Hand-written in the shape of GET /1/timers.
const nbTimersJSON = `{"_total": 2, "status": 200, "timers": [
  {"_id": "6a0000000000000000000001", "name": "socials", "message": "Follow $(channel) on the socials!", "interval": "*/15 * * * *", "lines": 5, "enabled": true,
   "createdAt": "2021-03-01T10:00:00.000Z", "updatedAt": "2021-03-01T10:00:00.000Z", "nextRunAt": "2021-03-01T10:15:00.000Z"},
  {"_id": "6a0000000000000000000002", "name": "hourly", "message": "Hydrate!", "interval": "0 * * * *", "lines": 0, "enabled": false,
   "createdAt": "2021-03-01T10:00:00.000Z", "updatedAt": "2021-03-01T10:00:00.000Z", "nextRunAt": "2021-03-01T11:00:00.000Z"}
]}`

func TestReadNightbot(t *testing.T) {
	b, err := importer.ReadNightbot([]importer.File{
		writeFile(t, "timers.json", nbTimersJSON),
		writeFile(t, "commands.json", nbCommandsJSON),
	})
	if err != nil {
		t.Fatalf("ReadNightbot: %v", err)
	}
	if b.Source != importer.Nightbot {
		t.Errorf("Source = %q", b.Source)
	}
	wantCommands := []importer.Command{
		{Name: "discord", Aliases: []string{}, Response: "Join us: https://discord.example/abc", Original: "Join us: https://discord.example/abc",
			Permission: "everyone", SourceLevel: "everyone", GlobalCooldown: 30, Enabled: true, Count: 12},
		{Name: "hug", Aliases: []string{}, Response: "{user} hugs {touser}! ({count} hugs)", Original: "$(user) hugs $(touser)! ($(count) hugs)",
			Attention:  []string{"Nightbot's regular level: Waddle has no regulars list, so VIPs and above may use it"},
			Permission: "vip", SourceLevel: "regular", GlobalCooldown: 5, Enabled: true, Count: 40},
		{Name: "followage", Aliases: []string{}, Response: "$(urlfetch https://api.example/followage/$(channel)/$(user))", Original: "$(urlfetch https://api.example/followage/$(channel)/$(user))",
			Attention:  []string{"$(urlfetch …): it has another variable inside; kept as written"},
			Permission: "moderator", SourceLevel: "moderator", GlobalCooldown: 86400, Enabled: true},
	}
	if diff := cmp.Diff(wantCommands, b.Commands); diff != "" {
		t.Errorf("commands (-want +got):\n%s", diff)
	}
	wantSkipped := []importer.Skipped{
		{Category: "command", Name: "!bad-name"},
		{Category: "command", Name: "!hug", Reason: "another command has the same name"},
	}
	if diff := cmp.Diff(wantSkipped, b.Skipped, cmpopts.IgnoreFields(importer.Skipped{}, "Reason")); diff != "" {
		t.Errorf("skipped (-want +got):\n%s", diff)
	}
	if !strings.Contains(b.Skipped[0].Reason, "cannot be a Waddle command name") {
		t.Errorf("skip reason = %q", b.Skipped[0].Reason)
	}
	wantTimers := []importer.Timer{
		{Name: "socials", Message: "Follow {channel} on the socials!", Original: "Follow $(channel) on the socials!", IntervalMinutes: 15, MinLines: 5, Enabled: true},
		{Name: "hourly", Message: "Hydrate!", Original: "Hydrate!", IntervalMinutes: 60, Enabled: false},
	}
	if diff := cmp.Diff(wantTimers, b.Timers); diff != "" {
		t.Errorf("timers (-want +got):\n%s", diff)
	}
	if len(b.Notes) != 1 || !strings.Contains(b.Notes[0], "only while the stream is live") {
		t.Errorf("notes = %q", b.Notes)
	}
}

func TestReadNightbotRegularsAndFilters(t *testing.T) {
	regulars := `{"_total": 2, "status": 200, "regulars": [
	  {"_id": "r1", "name": "trusted_one", "displayName": "Trusted_One", "provider": "twitch", "providerId": "111"},
	  {"_id": "r2", "name": "Helper2", "displayName": "Helper2", "provider": "twitch", "providerId": "222"}]}`
	spam := `{"status": 200, "filters": [
	  {"enabled": true, "length": 600, "blacklist": "badword\n~/fr[e3]e\\s*v-?bucks/i\nspam*\n\n~/(?<=x)y/\n", "message": "", "silent": false,
	   "exemptUserLevel": "subscriber", "_type": "blacklist", "_name": "Blacklist Words/Phrases"},
	  {"enabled": true, "length": 10, "limit": 70, "_type": "caps", "_name": "Excess Caps"},
	  {"enabled": false, "length": 10, "_type": "links", "_name": "Links"}]}`
	b, err := importer.ReadNightbot([]importer.File{writeFile(t, "regulars.json", regulars), writeFile(t, "spam.json", spam)})
	if err != nil {
		t.Fatalf("ReadNightbot: %v", err)
	}
	if diff := cmp.Diff([]string{"trusted_one", "helper2"}, b.Regulars); diff != "" {
		t.Errorf("regulars (-want +got):\n%s", diff)
	}
	wantFilters := []importer.Filter{
		{Kind: "word", Pattern: "badword"},
		{Kind: "regex", Pattern: `fr[e3]e\s*v-?bucks`},
		{Kind: "regex", Pattern: `spam\S*`},
	}
	if diff := cmp.Diff(wantFilters, b.Filters); diff != "" {
		t.Errorf("filters (-want +got):\n%s", diff)
	}
	wantSkipped := []importer.Skipped{{Category: "filter", Name: "caps"}, {Category: "filter", Name: "~/(?<=x)y/"}}
	if diff := cmp.Diff(wantSkipped, b.Skipped, cmpopts.IgnoreFields(importer.Skipped{}, "Reason"), cmpopts.SortSlices(func(a, b importer.Skipped) bool { return a.Name < b.Name })); diff != "" {
		t.Errorf("skipped (-want +got):\n%s", diff)
	}
}

func TestReadNightbotBadFiles(t *testing.T) {
	truncated := nbCommandsJSON[:strings.Index(nbCommandsJSON, `"!Hug"`)]
	cases := []struct {
		name, content string
		line          int
		want          string
	}{
		{"truncated", truncated, strings.Count(truncated, "\n") + 1, "ends too early"},
		{"syntax", "{\n  \"commands\": [\n    {\"name\": \"!a\",, \"message\": \"x\"}\n  ]\n}", 3, "malformed"},
		{"wrong type", "{\n\"commands\": [{\"name\": \"!a\", \"coolDown\": \"thirty\"}]}", 2, `"commands.coolDown" must be a whole number, not string`},
		{"wrong file", `{"users": [{"username": "a", "points": 5}]}`, 0, `no "commands" or "timers" list`},
		{"not json", "Name,Points\nalice,5\n", 1, "malformed"},
		{"empty", "", 1, "ends too early"},
		{"array", `[{"name": "!a"}]`, 1, `"document" must be an object, not array`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := importer.ReadNightbot([]importer.File{writeFile(t, "upload.json", c.content)})
			var fe *importer.FileError
			if !errors.As(err, &fe) {
				t.Fatalf("err = %v (%T), want a FileError", err, err)
			}
			if fe.File != "upload.json" || fe.Line != c.line || !strings.Contains(fe.Message, c.want) {
				t.Errorf("FileError = %+v, want line %d and %q", fe, c.line, c.want)
			}
		})
	}
	t.Run("default commands", func(t *testing.T) {
		b, err := importer.ReadNightbot([]importer.File{writeFile(t, "default.json", `{"_total": 1, "status": 200, "commands": [
		  {"_name": "!commands", "name": "!commands", "coolDown": 5, "enabled": true, "userLevel": "everyone", "_description": "Lists commands"}]}`)})
		if err != nil {
			t.Fatal(err)
		}
		if len(b.Commands) != 0 || len(b.Skipped) != 1 || !strings.Contains(b.Skipped[0].Reason, "built-in") {
			t.Errorf("commands %+v, skipped %+v", b.Commands, b.Skipped)
		}
	})
	t.Run("too large", func(t *testing.T) {
		f := writeFile(t, "big.json", `{"commands": []}`)
		f.Size = importer.MaxCommandsBytes + 1
		_, err := importer.ReadNightbot([]importer.File{f})
		var fe *importer.FileError
		if !errors.As(err, &fe) || !strings.Contains(fe.Message, "at most") {
			t.Errorf("err = %v, want the size refused", err)
		}
	})
	t.Run("no files", func(t *testing.T) {
		if _, err := importer.ReadNightbot(nil); err == nil {
			t.Error("no error for no files")
		}
	})
}
