package importer

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
)

func TestTranslateSE(t *testing.T) {
	cases := []struct {
		name, in, want string
		attention      []string // each a prefix of one entry, in order
	}{
		{"plain", "Join the Discord!", "Join the Discord!", nil},
		{"user", "Hi ${user}", "Hi {user}", nil},
		{"user.name", "Hi ${user.name}", "Hi {user}", nil},
		{"sender", "${sender} waves", "{user} waves", nil},
		{"source", "${source} waves", "{user} waves", nil},
		{"touser", "${touser} got a hug", "{touser} got a hug", nil},
		{"touser fallback", "${1|${user}} got a hug", "{touser} got a hug", nil},
		{"touser fallback spaced", "${1 | ${sender}}", "{touser}", nil},
		{"args", "${1} vs ${2}", "{1} vs {2}", nil},
		{"all args", "You said ${1:}", "You said {args}", nil},
		{"channel", "Welcome to ${channel}", "Welcome to {channel}", nil},
		{"random range", "Roll: ${random.1-100}", "Roll: {random:1-100}", nil},
		{"counter", "Deaths: ${count deaths}", "Deaths: {counter:deaths}", nil},
		{"counter case", "Deaths: ${count Deaths}", "Deaths: {counter:deaths}", nil},
		{"getcounter", "Deaths so far: ${getcount deaths}", "Deaths so far: {getcounter:deaths}", nil},
		{"counter set", "${count deaths 0}", "${count deaths 0}", []string{"${count …}: it sets or changes"}},
		{"counter bad name", "${count death-count}", "${count death-count}", []string{`${count …}: the counter name "death-count"`}},
		{"counter no name", "${count}", "${count}", []string{"${count}: it names no counter"}},
		{"quote", "${quote}", "{quote}", nil},
		{"points", "You have ${user.points} points", "You have {points} points", nil},
		{"random pick", "${random.pick 'a' 'b'}", "${random.pick 'a' 'b'}", []string{"${random.pick …}: Waddle has no random pick"}},
		{"random chatter", "${random.chatter}", "${random.chatter}", []string{"${random.chatter}"}},
		{"customapi", "${customapi https://example.com/x}", "${customapi https://example.com/x}", []string{"${customapi …}: Waddle does not fetch URLs"}},
		{"urlfetch", "${urlfetch https://example.com}", "${urlfetch https://example.com}", []string{"${urlfetch …}"}},
		{"time", "${time Europe/Paris}", "${time Europe/Paris}", []string{"${time …}: Waddle has no clock"}},
		{"uptime", "${uptime}", "${uptime}", []string{"${uptime}: Waddle has no stream uptime"}},
		{"game", "Playing ${game}", "Playing ${game}", []string{"${game}: Waddle has no stream game"}},
		{"nested", "${customapi https://x.test/${user}}", "${customapi https://x.test/${user}}", []string{"${customapi …}: it has another variable inside"}},
		{"fallback text", "${1|'nobody'}", "${1|'nobody'}", []string{"${1|'nobody'}: Waddle has no fallback"}},
		{"unknown", "${zzz}", "${zzz}", []string{"${zzz}: Waddle has no equivalent"}},
		{"mixed", "${user} has ${count hugs} hugs at ${time UTC}", "{user} has {counter:hugs} hugs at ${time UTC}", []string{"${time …}"}},
		{"unclosed", "${user", "${user", nil},
		{"literal braces", "say {touser}", "say {touser}", []string{"{touser} was plain text"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, att := translateSE(c.in)
			if got != c.want {
				t.Errorf("translateSE(%q) = %q, want %q", c.in, got, c.want)
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

func TestSELevel(t *testing.T) {
	cases := []struct {
		level     int
		want      string
		attention bool
	}{
		{0, "everyone", false},
		{100, "everyone", false},
		{249, "everyone", false},
		{250, "subscriber", false},
		{299, "subscriber", false},
		{300, "vip", true},
		{399, "vip", true},
		{400, "vip", false},
		{499, "vip", false},
		{500, "moderator", false},
		{999, "moderator", false},
		{1000, "broadcaster", true},
		{1499, "broadcaster", true},
		{1500, "broadcaster", false},
		{2000, "broadcaster", false},
	}
	for _, c := range cases {
		got, why := seLevel(c.level)
		if got != c.want || (why != "") != c.attention {
			t.Errorf("seLevel(%d) = %q, %q; want %q, attention %v", c.level, got, why, c.want, c.attention)
		}
	}
}

func TestSECounterRefs(t *testing.T) {
	got := seCounterRefs("${count deaths} ${getcount wins} ${count  deaths 0} ${counter x} ${user}")
	if diff := cmp.Diff([]string{"deaths", "wins", "deaths"}, got); diff != "" {
		t.Errorf("seCounterRefs (-want +got):\n%s", diff)
	}
}

func FuzzTranslateSE(f *testing.F) {
	for _, s := range []string{"", "${user}", "${1|${user}}", "${${${", "}}${", "${random.0-99999999999999}", "${count a b c}", "\xff${quote}"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, att := translateSE(s)
		if !strings.Contains(s, "${") && got != s {
			t.Fatalf("translateSE(%q) = %q, changed text without variables", s, got)
		}
		for _, a := range att {
			if a == "" {
				t.Fatalf("empty attention entry for %q", s)
			}
		}
		if utf8.ValidString(s) && !utf8.ValidString(got) {
			t.Fatalf("translateSE(%q) = %q: not UTF-8", s, got)
		}
	})
}

func TestSETimers(t *testing.T) {
	cases := []struct {
		name          string
		timer         seTimer
		interval, off int
		enabled       bool
		attention     string
	}{
		{"live only", seTimer{Message: "m", Enabled: true, Online: seWhen{true, 5}, Offline: seWhen{false, 30}}, 5, 0, true, ""},
		{"both, same", seTimer{Message: "m", Enabled: true, Online: seWhen{true, 20}, Offline: seWhen{true, 20}}, 20, 20, true, ""},
		{"both, differ", seTimer{Message: "m", Enabled: true, Online: seWhen{true, 5}, Offline: seWhen{true, 30}}, 5, 30, true, "every 5 minutes while live and every 30 while offline"},
		{"offline only", seTimer{Message: "m", Enabled: true, Online: seWhen{false, 5}, Offline: seWhen{true, 45}}, 45, 45, true, "only while offline"},
		{"neither", seTimer{Message: "m", Enabled: true, Online: seWhen{false, 5}, Offline: seWhen{false, 30}}, 5, 0, false, "neither while live nor while offline"},
		{"switched off", seTimer{Message: "m", Enabled: false, Online: seWhen{true, 10}}, 10, 0, false, ""},
		{"zero interval", seTimer{Message: "m", Enabled: true, Online: seWhen{true, 0}}, 1, 0, true, ""},
		{"huge interval", seTimer{Message: "m", Enabled: true, Online: seWhen{true, 5000}}, 1440, 0, true, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := seData{timers: []seTimer{c.timer}}.bundle()
			if len(b.Timers) != 1 {
				t.Fatalf("timers = %+v", b.Timers)
			}
			got := b.Timers[0]
			if got.IntervalMinutes != c.interval || got.OfflineMinutes != c.off || got.Enabled != c.enabled {
				t.Errorf("timer = %d/%d enabled %v, want %d/%d enabled %v", got.IntervalMinutes, got.OfflineMinutes, got.Enabled, c.interval, c.off, c.enabled)
			}
			if c.attention == "" && len(got.Attention) > 0 || c.attention != "" && !strings.Contains(strings.Join(got.Attention, "|"), c.attention) {
				t.Errorf("attention = %q, want %q", got.Attention, c.attention)
			}
		})
	}
	b := seData{timers: []seTimer{{Name: "empty", Messages: []string{" ", ""}}}}.bundle()
	if len(b.Timers) != 0 || len(b.Skipped) != 1 {
		t.Errorf("a timer without messages: timers %+v, skipped %+v", b.Timers, b.Skipped)
	}
}
