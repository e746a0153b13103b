package router

import (
	"reflect"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseCommand(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, prefix, text string
		want               Invocation
		ok                 bool
	}{
		{"plain", "!", "!hello", Invocation{Name: "hello"}, true},
		{"upper case name", "!", "!HeLLo world", Invocation{Name: "hello", Args: []string{"world"}, Raw: "world"}, true},
		{"quotes keep spaces", "!", `!quote add "to be or not" 'to be'`, Invocation{Name: "quote", Args: []string{"add", "to be or not", "to be"}, Raw: `add "to be or not" 'to be'`}, true},
		{"escaped quote", "!", `!say a\"b`, Invocation{Name: "say", Args: []string{`a"b`}, Raw: `a\"b`}, true},
		{"empty quoted argument", "!", `!x "" y`, Invocation{Name: "x", Args: []string{"", "y"}, Raw: `"" y`}, true},
		{"unclosed quote runs to the end", "!", `!x "a b`, Invocation{Name: "x", Args: []string{"a b"}, Raw: `"a b`}, true},
		{"remote module", "!", "#weather paris", Invocation{Name: "weather", Args: []string{"paris"}, Raw: "paris", Remote: true}, true},
		{"community prefix", "?", "?so alice", Invocation{Name: "so", Args: []string{"alice"}, Raw: "alice"}, true},
		{"other prefix ignored", "?", "!so alice", Invocation{}, false},
		{"not a command", "!", "hello !so", Invocation{}, false},
		{"prefix alone", "!", "!", Invocation{}, false},
		{"bad name", "!", "!héllo", Invocation{}, false},
		{"name too long", "!", "!" + string(make([]byte, 33)), Invocation{}, false},
		{"tabs and newlines", "!", "!a\tb\nc", Invocation{Name: "a", Args: []string{"b", "c"}, Raw: "b\nc"}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, ok := ParseCommand(c.prefix, c.text)
			if ok != c.ok {
				t.Fatalf("ok = %v, want %v", ok, c.ok)
			}
			if diff := cmp.Diff(c.want, got); ok && diff != "" {
				t.Errorf("(-want +got)\n%s", diff)
			}
		})
	}
}

func TestSplitArgsBounded(t *testing.T) {
	t.Parallel()
	s := ""
	for range 100 {
		s += "a "
	}
	if got := SplitArgs(s); len(got) != maxArgs {
		t.Errorf("%d arguments, want at most %d", len(got), maxArgs)
	}
}

func FuzzParseCommand(f *testing.F) {
	for _, s := range []string{"!so alice", `!quote add "a b" 'c'`, "#mod x", `!a\`, `!"`, "!\x00", "!a \"\\\"", "?x"} {
		f.Add("!", s)
	}
	f.Fuzz(func(t *testing.T, prefix, text string) {
		inv, ok := ParseCommand(prefix, text)
		if !ok {
			return
		}
		if !validName(inv.Name) {
			t.Errorf("accepted invalid name %q", inv.Name)
		}
		if len(inv.Args) > maxArgs {
			t.Errorf("%d arguments", len(inv.Args))
		}
	})
}

func TestRender(t *testing.T) {
	t.Parallel()
	ev := Event{Platform: Twitch, Server: "waddlechan", Channel: "c1", User: User{ID: "1", Name: "alice", DisplayName: "Alice"}}
	inv := Invocation{Name: "hug", Args: []string{"@bob", "warmly"}, Raw: "@bob warmly"}
	count := int64(41)
	v := vars{ev: ev, inv: inv, channel: "c1", count: func() (int64, bool) { count++; return count, true },
		points: func() (int64, bool) { return 120, true }}
	cases := []struct{ tmpl, want string }{
		{"{user} hugs {touser} {2}", "Alice hugs bob warmly"},
		{"{args}!", "@bob warmly!"},
		{"#{count} on {platform} in {channel}", "#42 on twitch in c1"},
		{"{user} has {points} points", "Alice has 120 points"},
		{"{3}|{unknown}|{random:x-y}|{", "|{unknown}|{random:x-y}|{"},
		{"no variables", "no variables"},
	}
	for _, c := range cases {
		if got := render(c.tmpl, v); got != c.want {
			t.Errorf("render(%q) = %q, want %q", c.tmpl, got, c.want)
		}
	}
	for range 50 {
		got := render("{random:1-3}", v)
		if got != "1" && got != "2" && got != "3" {
			t.Fatalf("random:1-3 gave %q", got)
		}
	}
	v.inv = Invocation{}
	if got := render("{touser}", v); got != "Alice" {
		t.Errorf("{touser} without arguments = %q, want the user", got)
	}
}

func TestRenderPartsMarkWhatUsersWrote(t *testing.T) {
	t.Parallel()
	ev := Event{Platform: Slack, Server: "T1", Channel: "C1", User: User{ID: "U1", Name: "<!here>"}}
	inv := Invocation{Name: "so", Args: []string{"<!channel>"}, Raw: "<!channel>"}
	out, parts := renderParts("<!here> go follow {touser}, says {user}{nope}", vars{ev: ev, inv: inv})
	want := []ReplyPart{
		{Text: "<!here> go follow ", Template: true},
		{Text: "<!channel>"},
		{Text: ", says ", Template: true},
		{Text: "<!here>"},
		{Text: "{nope}", Template: true},
	}
	if !reflect.DeepEqual(parts, want) {
		t.Errorf("parts = %#v, want %#v", parts, want)
	}
	var joined strings.Builder
	for _, p := range parts {
		joined.WriteString(p.Text)
	}
	if joined.String() != out {
		t.Errorf("parts join to %q, reply is %q", joined.String(), out)
	}
}

func TestRenderPartsCutWithTheReply(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("é", maxReplyLen)
	out, parts := renderParts("hi {args} bye", vars{inv: Invocation{Raw: long}})
	if len(out) > maxReplyLen {
		t.Fatalf("reply of %d bytes", len(out))
	}
	if len(parts) != 2 || parts[0].Text != "hi " || !parts[0].Template || parts[1].Template || parts[0].Text+parts[1].Text != out {
		t.Errorf("parts of a cut reply = %#v", parts)
	}
}

func FuzzRender(f *testing.F) {
	f.Add("{user} {1} {random:1-9999999999999} {{}}")
	f.Fuzz(func(t *testing.T, tmpl string) {
		out := render(tmpl, vars{inv: Invocation{Args: []string{"a"}}})
		if len(out) > maxReplyLen {
			t.Errorf("reply of %d bytes", len(out))
		}
	})
}

func TestRuleMatching(t *testing.T) {
	t.Parallel()
	cases := []struct {
		match, pattern, text string
		want                 bool
	}{
		{MatchExact, "Hello", "hello", true},
		{MatchExact, "hello", "hello there", false},
		{MatchContains, "spam", "buy SPAMMY things", true},
		{MatchWord, "spam", "buy spammy things", false},
		{MatchWord, "spam", "no spam, please", true},
		{MatchWord, "free money", "get free money now", true},
		{MatchWord, "free money", "freemoney", false},
		{MatchGlob, "*discord.gg/*", "join discord.gg/abc", true},
		{MatchGlob, "h?llo", "hallo", true},
		{MatchRegex, `\bb[i1]tc[o0]in\b`, "cheap B1TCOIN here", true},
		{MatchRegex, `^\d+$`, "12a", false},
	}
	for _, c := range cases {
		rl, err := compileRule(Rule{Match: c.match, Pattern: c.pattern})
		if err != nil {
			t.Fatalf("%s %q: %v", c.match, c.pattern, err)
		}
		if got := rl.matches(c.text); got != c.want {
			t.Errorf("%s %q on %q = %v, want %v", c.match, c.pattern, c.text, got, c.want)
		}
	}
	for _, bad := range []Rule{{Match: MatchRegex, Pattern: "(unclosed"}, {Match: MatchGlob, Pattern: "[a"}, {Match: "soundex", Pattern: "x"},
		{Match: MatchRegex, Pattern: string(make([]byte, maxRegexLen+1))}} {
		if _, err := compileRule(bad); err == nil {
			t.Errorf("rule %s %.20q compiled, want an error", bad.Match, bad.Pattern)
		}
	}
}
