package runes_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/waddle/waddle/runes"
)

func TestTruncate(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in   string
		n    int
		tail string
		want string
	}{
		{"quack", 10, "", "quack"},
		{"quack", 5, "…", "quack"},
		{"quack", 3, "", "qua"},
		{"ééééé", 2, "", "éé"}, // runes, not bytes: never half a character
		{"🦆🦆🦆", 1, "", "🦆"},
		{"", 0, "", ""},
		{"quack", 0, "", ""},
		{"quack", -1, "", ""},
		{"quack", 4, "…", "qua…"}, // the tail counts against n
		{strings.Repeat("é", 600), 500, "…", strings.Repeat("é", 499) + "…"},
		{"quack", 1, "...", "."}, // a tail longer than n is itself cut
	}
	for _, c := range cases {
		if got := runes.Truncate(c.in, c.n, c.tail); got != c.want {
			t.Errorf("Truncate(%q, %d, %q) = %q, want %q", c.in, c.n, c.tail, got, c.want)
		}
	}
}

func TestTruncateBytes(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in   string
		n    int
		want string
	}{
		{"quack", 10, "quack"},
		{"quack", 3, "qua"},
		{"ééé", 3, "é"}, // 2 bytes each: the second would be cut in half
		{"ééé", 4, "éé"},
		{"🦆x", 3, ""},
		{"quack", 0, ""},
		{"quack", -2, ""},
	}
	for _, c := range cases {
		if got := runes.TruncateBytes(c.in, c.n); got != c.want {
			t.Errorf("TruncateBytes(%q, %d) = %q, want %q", c.in, c.n, got, c.want)
		}
	}
}

func FuzzTruncate(f *testing.F) {
	f.Add("quack 🦆 é", 3)
	f.Fuzz(func(t *testing.T, s string, n int) {
		n %= 1000
		got := runes.Truncate(s, n, "…")
		if utf8.ValidString(s) && !utf8.ValidString(got) {
			t.Errorf("Truncate(%q, %d) = %q: not valid UTF-8", s, n, got)
		}
		if c := utf8.RuneCountInString(got); c > max(n, 0) && got != s {
			t.Errorf("Truncate(%q, %d) has %d runes", s, n, c)
		}
		b := runes.TruncateBytes(s, n)
		if len(b) > max(n, 0) || !strings.HasPrefix(s, b) || (utf8.ValidString(s) && !utf8.ValidString(b)) {
			t.Errorf("TruncateBytes(%q, %d) = %q", s, n, b)
		}
	})
}
