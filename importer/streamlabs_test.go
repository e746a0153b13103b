package importer

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// bftFile writes content to a file named name in a temporary folder and
// describes it as an upload.
func bftFile(t *testing.T, name, content string) File {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return File{Name: name, Path: p, Size: int64(len(content))}
}

// bftFileError asserts err is a *FileError and returns it.
func bftFileError(t *testing.T, err error) *FileError {
	t.Helper()
	var fe *FileError
	if !errors.As(err, &fe) {
		t.Fatalf("want a *FileError, got %T: %v", err, err)
	}
	return fe
}

// A command group as Streamlabs Chatbot exports it (Export Group), written
// by hand in its shape: one object per command, these fields.
const slGroupExport = `[
 {"Command":"!Lurk","Permission":"Everyone","Info":"","Group":"GENERAL","Response":"$username is now lurking, see you $touser!","Cooldown":1,"UserCooldown":5,"Cost":0,"Count":12,"Usage":"SC","Enabled":true,"SoundFile":"","FKSoundFile":null},
 {"Command":"!roll","Permission":"Subscriber","Info":"","Group":"GAMES","Response":"$user rolls $randnum(1,20) for $msg","Cooldown":0,"UserCooldown":0.5,"Cost":50,"Count":0,"Usage":"SC","Enabled":false,"SoundFile":"C:\\Sounds\\dice.mp3","FKSoundFile":null},
 {"Command":"!weather","Permission":"Min_Points","Info":"1000","Group":"GENERAL","Response":"$readapi(https://wttr.in/$arg1?format=3) in $mychannel","Cooldown":2000,"UserCooldown":0,"Cost":0,"Count":3,"Usage":"SW","Enabled":true,"SoundFile":"","FKSoundFile":null},
 {"Command":"!secret","Permission":"User_Specific","Info":"ankhheart","Group":"[GAME] Pokemon Go","Response":"only for you, $user","Cooldown":0,"UserCooldown":0,"Cost":0,"Count":0,"Usage":"SC","Enabled":true,"SoundFile":"","FKSoundFile":null},
 {"Command":"!bad name","Permission":"Everyone","Info":"","Group":"GENERAL","Response":"x","Cooldown":0,"UserCooldown":0,"Cost":0,"Count":0,"Usage":"SC","Enabled":true},
 {"Command":"!LURK","Permission":"Moderator","Info":"","Group":"GENERAL","Response":"again","Cooldown":0,"UserCooldown":0,"Cost":0,"Count":0,"Usage":"SC","Enabled":true}
]`

// A single command (Export Command): one object.
const slSingleExport = "\ufeff" + `{"Command":"!quote","Permission":"Editor","Info":"","Group":"GENERAL","Response":"$randquote","Cooldown":"3","UserCooldown":0,"Cost":0,"Count":0,"Usage":"SC","Enabled":true}`

func TestReadStreamlabsCommands(t *testing.T) {
	b, err := ReadStreamlabs([]File{bftFile(t, "general.abcomg", slGroupExport), bftFile(t, "quote.abcom", slSingleExport)})
	if err != nil {
		t.Fatal(err)
	}
	if b.Source != Streamlabs {
		t.Errorf("source %q", b.Source)
	}
	want := []Command{
		{Name: "lurk", Response: "{user} is now lurking, see you {touser}!", Original: "$username is now lurking, see you $touser!",
			Permission: "everyone", SourceLevel: "Everyone", GlobalCooldown: 60, UserCooldown: 300, Enabled: true, Count: 12},
		{Name: "roll", Response: "{user} rolls {random:1-20} for {args}", Original: "$user rolls $randnum(1,20) for $msg",
			Permission: "subscriber", SourceLevel: "Subscriber", UserCooldown: 30, Enabled: false,
			Attention: []string{"cost 50 points to use; Waddle commands are free", "played the sound dice.mp3; Waddle replies play no sounds"}},
		{Name: "weather", Response: "$readapi(https://wttr.in/$arg1?format=3) in {channel}", Original: "$readapi(https://wttr.in/$arg1?format=3) in $mychannel",
			Permission: "subscriber", SourceLevel: "Min_Points: 1000", GlobalCooldown: 86400, Enabled: true, Count: 3,
			Attention: []string{
				"$readapi(https://wttr.in/$arg1?format=3): fetches a URL; Waddle does not fetch URLs in replies",
				"Min_Points (1000): Waddle has no points gate; subscribers and above may use it",
				"usage SW (stream whispers); Waddle answers in the chat the command was used in",
			}},
		{Name: "secret", Response: "only for you, {user}", Original: "only for you, $user",
			Permission: "broadcaster", SourceLevel: "User_Specific: ankhheart", Enabled: true,
			Attention: []string{
				"User_Specific (ankhheart): Waddle has no per-user permission; only the broadcaster may use it",
				`its group "[GAME] Pokemon Go" made it work only while playing that game; Waddle has no such condition`,
			}},
		{Name: "quote", Response: "{quote}", Original: "$randquote", Permission: "broadcaster", SourceLevel: "Editor", GlobalCooldown: 180, Enabled: true,
			Attention: []string{"Editor: Waddle has no editor level; only the broadcaster may use it"}},
	}
	if diff := cmp.Diff(want, b.Commands, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("commands (-want +got):\n%s", diff)
	}
	wantSkipped := []Skipped{
		{Category: "command", Name: "!bad name", Reason: "Waddle command names are letters, digits and _ only"},
		{Category: "command", Name: "!LURK", Reason: `a second command named !lurk; the first ("$username is now lurking, see you $touser!") is imported`},
	}
	if diff := cmp.Diff(wantSkipped, b.Skipped); diff != "" {
		t.Errorf("skipped (-want +got):\n%s", diff)
	}
	if len(b.Notes) != 1 || !strings.Contains(b.Notes[0], "minutes") {
		t.Errorf("notes %q: want the cooldown unit stated", b.Notes)
	}
}

func TestReadStreamlabsBadFiles(t *testing.T) {
	cases := []struct {
		name, file, content string
		wantLine            int
		wantMsg             string
	}{
		{"truncated", "cut.abcomg", "[\n {\"Command\":\"!a\",\n  \"Response\":\"hi\"", 3, "cut short"},
		{"syntax", "bad.abcomg", "[\n {\"Command\":\"!a\"},\n {\"Command\" \"!b\"}\n]", 3, "not valid JSON"},
		{"wrong type", "type.abcomg", "[\n {\"Command\":\"!a\",\n  \"Enabled\":\"yes\"}\n]", 3, "Enabled"},
		{"not a list", "num.abcomg", "42", 1, "a list of commands"},
		{"bad number", "cd.abcomg", `[{"Command":"!a","Cooldown":"soon"}]`, 0, "not a number"},
		{"empty", "empty.abcom", "  \n", 0, "empty"},
		{"unknown kind", "notes.txt", "hello", 0, "expected .abcom, .abcomg or .xlsx"},
		{"old excel", "data.xls", "\xd0\xcf\x11\xe0", 0, ".xlsx"},
		{"xlsx not zip", "fake.xlsx", "Name,Points\nbob,1\n", 0, "not an Excel .xlsx workbook"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ReadStreamlabs([]File{bftFile(t, c.file, c.content)})
			fe := bftFileError(t, err)
			if fe.File != c.file || fe.Line != c.wantLine || !strings.Contains(fe.Message, c.wantMsg) {
				t.Errorf("got %+v; want file %s, line %d, message with %q", fe, c.file, c.wantLine, c.wantMsg)
			}
		})
	}
	if _, err := ReadStreamlabs(nil); err == nil {
		t.Error("no files: want an error")
	}
}

func TestReadStreamlabsTooLarge(t *testing.T) {
	f := bftFile(t, "big.abcomg", "[]")
	f.Size = MaxCommandsBytes + 1
	fe := bftFileError(t, func() error { _, err := ReadStreamlabs([]File{f}); return err }())
	if !strings.Contains(fe.Message, "at most 5.0 MiB") {
		t.Errorf("message %q", fe.Message)
	}
}

func TestStreamlabsLevels(t *testing.T) {
	cases := []struct {
		perm, info, want string
		attention        bool
	}{
		{"Everyone", "", "everyone", false},
		{"", "", "everyone", false},
		{"Regular", "", "subscriber", true},
		{"Subscriber", "", "subscriber", false},
		{"GameWisp Subscriber", "", "subscriber", true},
		{"VIP", "", "vip", false},
		{"VIP Exclusive", "", "vip", true},
		{"Moderator", "", "moderator", false},
		{"Editor", "", "broadcaster", true},
		{"Caster", "", "broadcaster", false},
		{"Invisible", "", "broadcaster", true},
		{"User_Specific", "bob", "broadcaster", true},
		{"Min_Rank", "Lion", "subscriber", true},
		{"Min_Points", "1000", "subscriber", true},
		{"Min_Hours", "13", "subscriber", true},
		{"Something new", "", "broadcaster", true},
	}
	for _, c := range cases {
		got, why := slLevel(c.perm, c.info)
		if got != c.want || (why != "") != c.attention {
			t.Errorf("slLevel(%q, %q) = %q, %q; want %q, attention %v", c.perm, c.info, got, why, c.want, c.attention)
		}
		if c.info != "" && !strings.Contains(why, c.info) {
			t.Errorf("slLevel(%q, %q): the reason %q does not name %q", c.perm, c.info, why, c.info)
		}
	}
}
