package importer

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
)

func TestTranslateNightbot(t *testing.T) {
	cases := []struct {
		name, in, want string
		attention      []string // each a prefix of one entry, in order
	}{
		{"plain", "Follow the stream!", "Follow the stream!", nil},
		{"user", "Hi $(user)!", "Hi {user}!", nil},
		{"touser", "$(touser) was hugged by $(user)", "{touser} was hugged by {user}", nil},
		{"query", "You said: $(query)", "You said: {args}", nil},
		{"args", "$(1) and $(2) and $(9)", "{1} and {2} and {9}", nil},
		{"count", "Used $(count) times", "Used {count} times", nil},
		{"channel", "Welcome to $(channel)", "Welcome to {channel}", nil},
		{"provider", "on $(provider)", "on {platform}", nil},
		{"random spaces", "roll $(randomnum 1 6)", "roll {random:1-6}", nil},
		{"random dash", "roll $(randomnum 10-20)", "roll {random:10-20}", nil},
		{"random comma", "roll $(randomnum 0,100)", "roll {random:0-100}", nil},
		{"random backwards", "$(randomnum 6 1)", "$(randomnum 6 1)", []string{"$(randomnum …): Waddle's {random:a-b}"}},
		{"random negative", "$(randomnum -5 5)", "$(randomnum -5 5)", []string{"$(randomnum …)"}},
		{"random negative dash", "$(randomnum -5-5)", "$(randomnum -5-5)", []string{"$(randomnum …)"}},
		{"case", "$(USER)", "{user}", nil},
		{"urlfetch", "$(urlfetch https://example.com/api)", "$(urlfetch https://example.com/api)", []string{"$(urlfetch …): Waddle does not fetch URLs"}},
		{"customapi", "$(customapi https://example.com)", "$(customapi https://example.com)", []string{"$(customapi …): Waddle does not fetch URLs"}},
		{"eval", "$(eval 1+(2*3))", "$(eval 1+(2*3))", []string{"$(eval …): Waddle does not run code"}},
		{"time", "It is $(time Europe/Paris)", "It is $(time Europe/Paris)", []string{"$(time …): Waddle has no clock"}},
		{"countdown", "$(countdown Dec 25 2026 00:00:00 GMT)", "$(countdown Dec 25 2026 00:00:00 GMT)", []string{"$(countdown …)"}},
		{"uptime", "Live for $(uptime)", "Live for $(uptime)", []string{"$(uptime): Waddle has no stream uptime"}},
		{"unknown", "$(frobnicate)", "$(frobnicate)", []string{"$(frobnicate): Waddle has no equivalent"}},
		{"nested", "$(urlfetch https://x.test/$(user))", "$(urlfetch https://x.test/$(user))", []string{"$(urlfetch …): it has another variable inside"}},
		{"mixed", "$(user): $(eval 2) and $(user)", "{user}: $(eval 2) and {user}", []string{"$(eval …)"}},
		{"twice kept, listed once", "$(uptime) $(uptime)", "$(uptime) $(uptime)", []string{"$(uptime)"}},
		{"unclosed", "oops $(user", "oops $(user", nil},
		{"user with args", "$(user extra)", "$(user extra)", []string{"$(user …): Waddle has no equivalent"}},
		{"literal braces", "type {user} here", "type {user} here", []string{"{user} was plain text"}},
		{"empty", "", "", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, att := translateNightbot(c.in)
			if got != c.want {
				t.Errorf("translateNightbot(%q) = %q, want %q", c.in, got, c.want)
			}
			if len(att) != len(c.attention) {
				t.Fatalf("attention = %q, want %d entries like %q", att, len(c.attention), c.attention)
			}
			for i, p := range c.attention {
				if !strings.HasPrefix(att[i], p) {
					t.Errorf("attention[%d] = %q, want it to start %q", i, att[i], p)
				}
			}
		})
	}
}

func TestNightbotLevel(t *testing.T) {
	cases := []struct {
		level, want string
		attention   bool
	}{
		{"everyone", "everyone", false},
		{"", "everyone", false},
		{"subscriber", "subscriber", false},
		{"regular", "vip", true},
		{"twitch_vip", "vip", false},
		{"moderator", "moderator", false},
		{"owner", "broadcaster", false},
		{"admin", "broadcaster", false},
		{"Moderator", "moderator", false},
		{"superfan", "moderator", true},
	}
	for _, c := range cases {
		got, why := nightbotLevel(c.level)
		if got != c.want || (why != "") != c.attention {
			t.Errorf("nightbotLevel(%q) = %q, %q; want %q, attention %v", c.level, got, why, c.want, c.attention)
		}
	}
}

func TestNightbotInterval(t *testing.T) {
	cases := []struct {
		cron string
		want int
		note bool
	}{
		{"*/15 * * * *", 15, false},
		{"*/5 * * * *", 5, false},
		{"*/7 * * * *", 7, true}, // 0,7,…,56 and again at 0: uneven
		{"0 * * * *", 60, false},
		{"30 * * * *", 60, false},
		{"0,30 * * * *", 30, false},
		{"0,20,40 * * * *", 20, false},
		{"0,10,40 * * * *", 20, true},
		{"0 */2 * * *", 120, false},
		{"0 9 * * *", 1440, false},
		{"0 9,21 * * *", 720, false},
		{"* * * * *", 1, false},
		{"*/15 * * * 1-5", 15, true},
		{"every hour", 15, true},
		{"", 15, true},
		{"*/0 * * * *", 15, true},
		{"99 * * * *", 15, true},
		{"*/15 */2 * * *", 30, true}, // 4 posts every other hour
	}
	for _, c := range cases {
		got, why := nightbotInterval(c.cron)
		if got != c.want || (why != "") != c.note {
			t.Errorf("nightbotInterval(%q) = %d, %q; want %d, note %v", c.cron, got, why, c.want, c.note)
		}
	}
}

func TestNightbotBlacklistEntry(t *testing.T) {
	cases := []struct {
		line string
		want Filter
		skip bool
	}{
		{"badword", Filter{Kind: "word", Pattern: "badword"}, false},
		{"two words", Filter{Kind: "word", Pattern: "two words"}, false},
		{"~/b[a4]d/", Filter{Kind: "regex", Pattern: "b[a4]d"}, false},
		{"~/b[a4]d/i", Filter{Kind: "regex", Pattern: "b[a4]d"}, false},
		{"~/^spam$/m", Filter{Kind: "regex", Pattern: "(?m)^spam$"}, false},
		{"spam*", Filter{Kind: "regex", Pattern: `spam\S*`}, false},
		{"a.b*c", Filter{Kind: "regex", Pattern: `a\.b\S*c`}, false},
		{"~/(?=look)ahead/", Filter{}, true},
		{"~/unclosed", Filter{}, true},
		{"~/x/q", Filter{}, true},
		{"~/" + strings.Repeat("a", 301) + "/", Filter{}, true},
	}
	for _, c := range cases {
		got, why := nightbotBlacklistEntry(c.line)
		if (why != "") != c.skip {
			t.Errorf("nightbotBlacklistEntry(%q) skipped = %q, want skip %v", c.line, why, c.skip)
			continue
		}
		if diff := cmp.Diff(c.want, got); diff != "" {
			t.Errorf("nightbotBlacklistEntry(%q) (-want +got):\n%s", c.line, diff)
		}
	}
}

func TestCommandName(t *testing.T) {
	cases := []struct {
		in, want string
		ok       bool
	}{
		{"!Discord", "discord", true},
		{"discord", "discord", true},
		{"!so_2", "so_2", true},
		{"!my-cmd", "my-cmd", false},
		{"!", "", false},
		{"!" + strings.Repeat("a", 33), strings.Repeat("a", 33), false},
		{"!héllo", "héllo", false},
	}
	for _, c := range cases {
		got, ok := apiCommandName(c.in)
		if got != c.want || ok != c.ok {
			t.Errorf("apiCommandName(%q) = %q, %v; want %q, %v", c.in, got, ok, c.want, c.ok)
		}
	}
}

// FuzzTranslateNightbot: no input panics; text outside variables is kept;
// a reply without "$(" comes back unchanged.
func FuzzTranslateNightbot(f *testing.F) {
	for _, s := range []string{"", "$(user)", "$(urlfetch $(user))", "$($($(", "))$(", "$(randomnum 1 9999999999999)", "{user} $(1)", "\xff$(eval \xfe)"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, att := translateNightbot(s)
		if !strings.Contains(s, "$(") && got != s {
			t.Fatalf("translateNightbot(%q) = %q, changed text without variables", s, got)
		}
		for _, a := range att {
			if a == "" {
				t.Fatalf("empty attention entry for %q", s)
			}
		}
		if utf8.ValidString(s) && !utf8.ValidString(got) {
			t.Fatalf("translateNightbot(%q) = %q: not UTF-8", s, got)
		}
	})
}

func TestTimerName(t *testing.T) {
	long := strings.Repeat("é", 70)
	if got := apiTimerName(long, ""); utf8.RuneCountInString(got) != 64 || !strings.HasSuffix(got, "…") {
		t.Errorf("apiTimerName(70 runes) = %q (%d runes)", got, utf8.RuneCountInString(got))
	}
	if got := apiTimerName(long, " (2 of 3)"); utf8.RuneCountInString(got) != 64 || !strings.HasSuffix(got, "… (2 of 3)") {
		t.Errorf("apiTimerName with suffix = %q", got)
	}
	if got := apiTimerName(" socials ", " (1 of 2)"); got != "socials (1 of 2)" {
		t.Errorf("apiTimerName = %q", got)
	}
}

func TestLongReplyAttention(t *testing.T) {
	b := nbData{
		commands: []nbCommand{{Name: "!long", Message: strings.Repeat("a", 501)}},
		timers:   []nbTimer{{Name: strings.Repeat("t", 80), Message: strings.Repeat("b", 600), Interval: "*/10 * * * *"}},
	}.bundle()
	if len(b.Commands) != 1 || len(b.Commands[0].Attention) != 1 || !strings.Contains(b.Commands[0].Attention[0], "longer than 500") {
		t.Errorf("command attention = %q", b.Commands[0].Attention)
	}
	if len(b.Timers) != 1 || len(b.Timers[0].Attention) != 1 || utf8.RuneCountInString(b.Timers[0].Name) != 64 {
		t.Errorf("timer = %q, attention %q", b.Timers[0].Name, b.Timers[0].Attention)
	}
}
