package importer

import (
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// pbRow is one (variable, value) of a PhantomBot table.
type pbRow struct{ variable, value string }

// pbDatabase writes an SQLite file laid out as PhantomBot's SqliteStore
// lays out its own: one table phantombot_<name> (section, variable,
// value) per PhantomBot "file", every value text.
func pbDatabase(t testing.TB, tables map[string][]pbRow) File {
	t.Helper()
	p := filepath.Join(t.TempDir(), "phantombot.db")
	db, err := sql.Open("sqlite", p)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	for name, rows := range tables {
		table := pbQuote("phantombot_" + name)
		if _, err := tx.Exec(`CREATE TABLE ` + table + ` (section string, variable string, value string)`); err != nil {
			t.Fatal(err)
		}
		stmt, err := tx.Prepare(`INSERT INTO ` + table + ` (section, variable, value) VALUES ('', ?, ?)`)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			if _, err := stmt.Exec(r.variable, r.value); err != nil {
				t.Fatal(err)
			}
		}
		stmt.Close()
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	return File{Name: "phantombot.db", Path: p}
}

func TestReadPhantomBot(t *testing.T) {
	f := pbDatabase(t, map[string][]pbRow{
		"command": {
			{"lurk", "(sender) is lurking. Bye (touser)!"},
			{"roll", "(@sender) rolled (# 1,6) and (#)"},
			{"hug", "(sender) hugs (1) (count) times (customapi https://api.test/hug?u=(1))"},
			{"secret", "only (sender) (onlineonly)"},
			{"shout", "Go follow (touser) at twitch.tv/(1) (they are great)"},
			{"bad name", "x"},
		},
		"aliases":          {{"l", "lurk"}, {"brb", "lurk"}, {"sr", "songrequest"}, {"h", "hug me"}, {"roll", "lurk"}},
		"permcom":          {{"lurk", "7"}, {"roll", "3"}, {"hug", "6"}, {"secret", "1"}, {"shout", "2"}, {"songrequest", "0"}},
		"cooldown":         {{"lurk", `{"command":"lurk","globalSec":30,"userSec":-1,"modsSkip":false,"clearOnOnline":false}`}, {"roll", `{"command":"roll","seconds":10,"isGlobal":"false"}`}, {"hug", "45"}, {"secret", "soon"}},
		"cooldownSettings": {{"defaultCooldownTime", "3"}},
		"pricecom":         {{"hug", "25"}, {"lurk", "0"}},
		"commandCount":     {{"hug", "41"}},
		"disabledCommands": {{"secret", "true"}},
		"points":           {{"alice", "1500"}, {"bob_99", "20.0"}, {"bad user!", "3"}},
		"time":             {{"bob_99", "3600"}, {"carol", "7200"}},
		"quotes": {
			{"1", `["bob_99","Second quote",1619195400000,"Portal 2"]`},
			{"0", `["alice","First quote","1420070400000","Just Chatting"]`},
			{"2", `["carol","Old quote"]`},
			{"x", `["a","b",0,"c"]`},
			{"3", `not json`},
		},
		"settings": {{"quoteMode", "true"}},
	})
	b, err := ReadPhantomBot([]File{f})
	if err != nil {
		t.Fatal(err)
	}
	if b.Source != PhantomBot {
		t.Errorf("source %q", b.Source)
	}
	want := []Command{
		{Name: "lurk", Aliases: []string{"l", "brb"}, Response: "{user} is lurking. Bye {touser}!", Original: "(sender) is lurking. Bye (touser)!",
			Permission: "everyone", SourceLevel: "7 Viewer", GlobalCooldown: 30, Enabled: true},
		{Name: "roll", Response: "@{user}, rolled {random:1-6} and {random:1-100}", Original: "(@sender) rolled (# 1,6) and (#)",
			Permission: "subscriber", SourceLevel: "3 Subscriber", UserCooldown: 10, Enabled: true},
		{Name: "hug", Response: "{user} hugs {1} {count} times (customapi https://api.test/hug?u=(1))", Original: "(sender) hugs (1) (count) times (customapi https://api.test/hug?u=(1))",
			Permission: "subscriber", SourceLevel: "6 Regular", GlobalCooldown: 45, Enabled: true, Count: 41,
			Attention: []string{
				"(customapi https://api.test/hug?u=(1)): fetches a URL; Waddle does not fetch URLs in replies",
				"Regular: Waddle has no regular level; subscribers and above may use it",
				"cost 25 points to use; Waddle commands are free",
			}},
		{Name: "secret", Response: "only {user} (onlineonly)", Original: "only (sender) (onlineonly)",
			Permission: "broadcaster", SourceLevel: "1 Administrator", GlobalCooldown: 3, Enabled: false,
			Attention: []string{
				"(onlineonly): limited the command to live streams; Waddle has no such condition",
				"Administrator: Waddle has no admin level; only the broadcaster may use it",
				`its cooldown "soon" could not be read; PhantomBot's default of 3 seconds is used`,
			}},
		{Name: "shout", Response: "Go follow {touser} at twitch.tv/{1} (they are great)", Original: "Go follow (touser) at twitch.tv/(1) (they are great)",
			Permission: "moderator", SourceLevel: "2 Moderator", GlobalCooldown: 3, Enabled: true},
	}
	if diff := cmp.Diff(want, b.Commands, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("commands (-want +got):\n%s", diff)
	}
	wantPoints := []Balance{
		{Login: "alice", Points: 1500},
		{Login: "bob_99", Points: 20, Seconds: 3600},
		{Login: "carol", Seconds: 7200},
	}
	if diff := cmp.Diff(wantPoints, b.Points); diff != "" {
		t.Errorf("points (-want +got):\n%s", diff)
	}
	wantQuotes := []Quote{
		{Number: 1, Text: "First quote", AddedBy: "alice", Game: "Just Chatting", Date: time.Date(2015, 1, 1, 0, 0, 0, 0, time.UTC)},
		{Number: 2, Text: "Second quote", AddedBy: "bob_99", Game: "Portal 2", Date: time.Date(2021, 4, 23, 16, 30, 0, 0, time.UTC)},
		{Number: 3, Text: "Old quote", AddedBy: "carol"},
	}
	if diff := cmp.Diff(wantQuotes, b.Quotes); diff != "" {
		t.Errorf("quotes (-want +got):\n%s", diff)
	}
	var skipped []string
	for _, s := range b.Skipped {
		skipped = append(skipped, s.Category+" "+s.Name+": "+s.Reason)
	}
	wantSkipped := []string{
		"command !bad name: Waddle command names are letters, digits and _ only",
		"command !sr: an alias of !songrequest, a PhantomBot built-in command Waddle does not import",
		`command !h: an alias of !hug that adds arguments ("hug me"); Waddle's aliases add none`,
		"command !roll: an alias of !lurk with the name of another command",
		`points bad user!: "bad user!" is not a Twitch login; 3 points not imported`,
		"quote x: the quote's number is not a number",
		"quote #3: not PhantomBot's quote form [user, text, time, game]",
	}
	if diff := cmp.Diff(wantSkipped, skipped); diff != "" {
		t.Errorf("skipped (-want +got):\n%s", diff)
	}
	notes := strings.Join(b.Notes, "\n")
	for _, w := range []string{"default global cooldown, 3 seconds", "numbers quotes from 0"} {
		if !strings.Contains(notes, w) {
			t.Errorf("notes %q lack %q", notes, w)
		}
	}
}

func TestReadPhantomBotBadFiles(t *testing.T) {
	write := func(t *testing.T, content []byte) File {
		p := filepath.Join(t.TempDir(), "phantombot.db")
		if err := os.WriteFile(p, content, 0o600); err != nil {
			t.Fatal(err)
		}
		return File{Name: "phantombot.db", Path: p, Size: int64(len(content))}
	}
	otherDB := func(t *testing.T) File {
		p := filepath.Join(t.TempDir(), "other.db")
		db, err := sql.Open("sqlite", p)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if _, err := db.Exec(`CREATE TABLE notes (id integer, body text)`); err != nil {
			t.Fatal(err)
		}
		return File{Name: "other.db", Path: p}
	}
	truncated := func(t *testing.T) File {
		rows := make([]pbRow, 5000)
		for i := range rows {
			rows[i] = pbRow{fmt.Sprintf("viewer%d", i), strings.Repeat("9", 10)}
		}
		f := pbDatabase(t, map[string][]pbRow{"points": rows})
		data, err := os.ReadFile(f.Path)
		if err != nil {
			t.Fatal(err)
		}
		return write(t, data[:len(data)/2])
	}
	cases := []struct {
		name string
		file func(t *testing.T) File
		want string
	}{
		{"text", func(t *testing.T) File { return write(t, []byte("name,points\nbob,1\n")) }, "not an SQLite database"},
		{"empty", func(t *testing.T) File { return write(t, nil) }, "not an SQLite database"},
		{"h2", func(t *testing.T) File { return write(t, []byte("H:2,block:4,blockSize:1000")) }, "H2 database"},
		{"no tables", otherDB, "not PhantomBot's"},
		{"bad points", func(t *testing.T) File {
			return pbDatabase(t, map[string][]pbRow{"points": {{"bob", "12"}, {"eve", "a lot"}}})
		}, `table phantombot_points, viewer "eve": "a lot" is not a whole number`},
		{"two columns", func(t *testing.T) File {
			f := otherDB(t)
			db, err := sql.Open("sqlite", f.Path)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if _, err := db.Exec(`CREATE TABLE phantombot_points (variable string, value string)`); err != nil {
				t.Fatal(err)
			}
			return f
		}, "not PhantomBot's three"},
		{"truncated", truncated, "damaged"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ReadPhantomBot([]File{c.file(t)})
			fe := bftFileError(t, err)
			if !strings.Contains(fe.Error(), c.want) {
				t.Errorf("error %q lacks %q", fe.Error(), c.want)
			}
		})
	}
	if _, err := ReadPhantomBot(nil); err == nil {
		t.Error("no file: want an error")
	}
}

// The database is opened read-only: reading leaves the file as it was.
func TestReadPhantomBotLeavesFileAlone(t *testing.T) {
	f := pbDatabase(t, map[string][]pbRow{"command": {{"hi", "hello (sender)"}}})
	before, err := os.ReadFile(f.Path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ReadPhantomBot([]File{f}); err != nil {
		t.Fatal(err)
	}
	after, err := os.ReadFile(f.Path)
	if err != nil {
		t.Fatal(err)
	}
	if string(before) != string(after) {
		t.Error("the database file changed")
	}
	entries, err := os.ReadDir(filepath.Dir(f.Path))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("files beside the database: %v", entries)
	}
}

func TestPhantomBotLevels(t *testing.T) {
	cases := []struct {
		raw, want, source string
		attention         bool
	}{
		{"0", "broadcaster", "0 Caster", false},
		{"1", "broadcaster", "1 Administrator", true},
		{"2", "moderator", "2 Moderator", false},
		{"3", "subscriber", "3 Subscriber", false},
		{"4", "subscriber", "4 Donator", true},
		{"5", "vip", "5 VIP", false},
		{"6", "subscriber", "6 Regular", true},
		{"7", "everyone", "7 Viewer", false},
		{" Moderators ", "moderator", "2 Moderator", false},
		{"42", "broadcaster", "42", true},
		{"", "broadcaster", "", true},
	}
	for _, c := range cases {
		perm, source, why := pbLevel(c.raw)
		if perm != c.want || source != c.source || (why != "") != c.attention {
			t.Errorf("pbLevel(%q) = %q, %q, %q; want %q, %q, attention %v", c.raw, perm, source, why, c.want, c.source, c.attention)
		}
	}
}

func TestPhantomBotCooldowns(t *testing.T) {
	cases := []struct {
		raw          string
		global, user int
		ok           bool
	}{
		{`{"command":"a","globalSec":30,"userSec":5}`, 30, 5, true},
		{`{"command":"a","globalSec":-1,"userSec":120}`, 0, 120, true},
		{`{"command":"a","seconds":10,"isGlobal":"true"}`, 10, 0, true},
		{`{"command":"a","seconds":10,"isGlobal":false}`, 0, 10, true},
		{"15", 15, 0, true},
		{"999999", 86400, 0, true},
		{`{"command":"a"}`, 0, 0, false},
		{"soon", 0, 0, false},
	}
	for _, c := range cases {
		g, u, ok := pbCooldownOf(c.raw)
		if g != c.global || u != c.user || ok != c.ok {
			t.Errorf("pbCooldownOf(%q) = %d, %d, %v; want %d, %d, %v", c.raw, g, u, ok, c.global, c.user, c.ok)
		}
	}
}

func TestPhantomBotTranslate(t *testing.T) {
	cases := []struct {
		in, want  string
		attention []string
	}{
		{"(sender) (baresender) (@sender)", "{user} {user} @{user},", nil},
		{"(touser) (pointtouser)", "{touser} {touser} ->", nil},
		{"(1)(2)(9) (echo)", "{1}{2}{9} {args}", nil},
		{"(count) (points) (channelname)", "{count} {points} {channel}", nil},
		{"(#) (# 5, 10) (# 2,3)", "{random:1-100} {random:5-10} {random:2-3}", nil},
		{"(# 10,5)", "(# 10,5)", []string{"(# 10,5): Waddle's {random:a-b}"}},
		{"(1=hello) (1|friend)", "(1=hello) (1|friend)", []string{"(1=hello): gives a default", "(1|friend): gives a default"}},
		{"(readfile ./addons/x.txt)", "(readfile ./addons/x.txt)", []string{"reads a file"}},
		{"(runcode $.say('hi'))", "(runcode $.say('hi'))", []string{"runs JavaScript"}},
		{"(random) and (game)", "(random) and (game)", []string{"(random): picks a random viewer", "(game): Waddle does not show"}},
		{"(sender extra)", "(sender extra)", []string{"takes arguments here"}},
		{"smile (like this) :) (", "smile (like this) :) (", nil},
		{"((sender))", "({user})", nil},
		{"(customapijson http://a.test/x {a.b})", "(customapijson http://a.test/x {a.b})", []string{"(customapijson http://a.test/x {a.b}): fetches a URL"}},
		{"(customapi https://api.test/a/very/long/path?with=query)", "(customapi https://api.test/a/very/long/path?with=query)", []string{"(customapi …): fetches a URL"}},
		{"", "", nil},
	}
	for _, c := range cases {
		got, attention := pbTranslate(c.in)
		if got != c.want {
			t.Errorf("pbTranslate(%q) = %q; want %q", c.in, got, c.want)
		}
		if len(attention) != len(c.attention) {
			t.Errorf("pbTranslate(%q) attention %q; want %d like %q", c.in, attention, len(c.attention), c.attention)
			continue
		}
		for i, w := range c.attention {
			if !strings.Contains(attention[i], w) {
				t.Errorf("pbTranslate(%q) attention[%d] = %q; want %q in it", c.in, i, attention[i], w)
			}
		}
	}
}

// FuzzPhantomBotTranslate: no input panics; text without parentheses is
// unchanged; a kept tag is still in the reply.
func FuzzPhantomBotTranslate(f *testing.F) {
	for _, s := range []string{"(sender)", "(# 1,2)", "(customapi http://a(b)c)", "(", ")(", "((1))", "(1=x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out, attention := pbTranslate(s)
		if !strings.Contains(s, "(") && out != s {
			t.Fatalf("pbTranslate(%q) = %q; text without tags must not change", s, out)
		}
		for _, a := range attention {
			shown, _, _ := strings.Cut(a, ": ")
			shown = strings.TrimSuffix(shown, " …)")
			if !strings.Contains(out, shown) {
				t.Fatalf("pbTranslate(%q) = %q: attention %q names what is not in the reply", s, out, a)
			}
		}
	})
}

// BenchmarkReadPhantomBotPoints100k reads a generated database of 100,000
// viewers' points and time.
func BenchmarkReadPhantomBotPoints100k(b *testing.B) {
	points := make([]pbRow, 100_000)
	seconds := make([]pbRow, 100_000)
	for i := range points {
		points[i] = pbRow{fmt.Sprintf("viewer_%06d", i), fmt.Sprint(i * 3)}
		seconds[i] = pbRow{fmt.Sprintf("viewer_%06d", i), fmt.Sprint(i * 60)}
	}
	f := pbDatabase(b, map[string][]pbRow{"points": points, "time": seconds})
	b.ResetTimer()
	for b.Loop() {
		bundle, err := ReadPhantomBot([]File{f})
		if err != nil {
			b.Fatal(err)
		}
		if len(bundle.Points) != 100_000 || bundle.Points[99_999].Seconds != 99_999*60 {
			b.Fatalf("read %d viewers", len(bundle.Points))
		}
	}
}
