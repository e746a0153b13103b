package importer

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestFirebotTranslate(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in        string
		want      string
		attention []string
	}{
		{"plain text", "plain text", nil},
		{"costs $5", "costs $5", nil},
		{"$user", "{user}", nil},
		{"$username and $userDisplayName", "{user} and {user}", nil},
		{"hi $target", "hi {touser}", nil},
		{"$streamer is live", "{channel} is live", nil},
		{"used $count times", "used {count} times", nil},
		{"$arg[1] $arg[2] $arg[9]", "{1} {2} {9}", nil},
		{"$arg[all]", "{args}", nil},
		{"$arg[1,last]", "{args}", nil},
		{"$arg[1, -1]", "{args}", nil},
		{"$arg[3,3]", "{3}", nil},
		{"$args", "{args}", nil},
		{"$randomNumber[1,100]", "{random:1-100}", nil},
		{"$randomNumber[ 10 , 2 ]", "{random:2-10}", nil},
		{"$counter[Deaths]", "{getcounter:deaths}", nil},
		{"$counter[boss kills]", "{getcounter:boss_kills}", nil},
		{"$currency[coins]", "{points}", nil},
		{"$currency[coins, $user]", "{points}", nil},
		{"$USER", "{user}", nil},
		{"$user's turn", "{user}'s turn", nil},
		{"($target)", "({touser})", nil},
		{"$arg[2,last]", "$arg[2,last]", []string{"$arg[2,last]: a range of arguments; Waddle has {1}…{9} and all of them, {args}"}},
		{"$arg[10]", "$arg[10]", []string{"$arg[10]: Waddle's arguments are {1}…{9} and {args}"}},
		{"$arg", "$arg", []string{"$arg: Waddle's arguments are {1}…{9} and {args}"}},
		{"$arg[$arg[1]]", "$arg[$arg[1]]", []string{"$arg[$arg[1]]: an argument chosen by another variable; Waddle cannot"}},
		{"$randomNumber[-5,5]", "$randomNumber[-5,5]", []string{"$randomNumber[-5,5]: Waddle's {random:a-b} takes two whole numbers, 0 or more"}},
		{"$currency[coins, $target]", "$currency[coins, $target]", []string{"$currency[coins, $target]: another viewer's balance; Waddle's {points} is the speaker's"}},
		{"$counter[Ünits]", "$counter[Ünits]", []string{"$counter[Ünits]: the counter's name cannot be a Waddle counter name"}},
		{"$readApi[https://x.test/a]", "$readApi[https://x.test/a]", []string{"$readApi[https://x.test/a]: fetches a URL; Waddle does not fetch URLs in replies"}},
		{"$evalJs[return 1]", "$evalJs[return 1]", []string{"$evalJs[return 1]: runs JavaScript; Waddle does not run scripts in replies"}},
		{"$quote", "$quote", []string{"$quote: Waddle's {quote} shows a random quote, without Firebot's options"}},
		{"$time[HH:mm]", "$time[HH:mm]", []string{"$time[HH:mm]: depends on the streamer's time zone; Waddle has no time variable"}},
		{"$uptime", "$uptime", []string{"$uptime: Waddle has no uptime variable"}},
		{"$somethingNew[a]", "$somethingNew[a]", []string{"$somethingNew[a]: Waddle has no equivalent"}},
		{"$user[x]", "$user[x]", []string{"$user[x]: takes arguments Waddle's equivalent does not"}},
		{"$if[$arg[1] == a, yes, no] $user", "$if[$arg[1] == a, yes, no] {user}", []string{"$if[$arg[1] == a, yes, no]: a condition; Waddle replies have no conditions"}},
		{"open $arg[1 $user", "open $arg[1 $user", []string{"$arg[ has no closing ]; kept as written"}},
		{"$readApi[" + strings.Repeat("a", 80) + "]", "$readApi[" + strings.Repeat("a", 80) + "]",
			[]string{"$readApi[" + strings.Repeat("a", 51) + "…: fetches a URL; Waddle does not fetch URLs in replies"}},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			got, att := firebotTranslate(tc.in)
			if got != tc.want {
				t.Errorf("translate(%q) = %q; want %q", tc.in, got, tc.want)
			}
			if d := cmp.Diff(tc.attention, att); d != "" {
				t.Errorf("attention (-want +got):\n%s", d)
			}
		})
	}
}

func TestFirebotCommandName(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in   string
		want string
		ok   bool
	}{
		{"!hello", "hello", true},
		{"!Hello", "hello", true},
		{"?so", "so", true},
		{"!!double", "double", true},
		{"hello", "hello", true},
		{"!lurk-mode", "lurk_mode", true},
		{"!two words", "two_words", true},
		{"!", "", false},
		{"!café", "", false},
		{"!" + strings.Repeat("a", 33), "", false},
		{"!" + strings.Repeat("a", 32), strings.Repeat("a", 32), true},
		{"!a.b", "", false},
	}
	for _, tc := range cases {
		got, ok := firebotCommandName(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("firebotCommandName(%q) = %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

// FuzzFirebotTranslate: any text translates without panicking, text
// without a variable is kept as is, and what is kept as written is in the
// output.
func FuzzFirebotTranslate(f *testing.F) {
	for _, s := range []string{"$user", "$arg[1,last]", "$randomNumber[1,$arg[1]]", "$a[[[", "$x[\\]]", "$readApi[x] $target", "€$ü[]"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out, att := firebotTranslate(s)
		if !strings.Contains(s, "$") && (out != s || att != nil) {
			t.Fatalf("translate(%q) = %q, %q; want it unchanged", s, out, att)
		}
		for _, a := range att {
			if a == "" {
				t.Fatalf("an empty attention for %q", s)
			}
		}
		if len(att) == 0 && strings.Count(out, "$") > strings.Count(s, "$") {
			t.Fatalf("translate(%q) = %q added a $", s, out)
		}
	})
}
