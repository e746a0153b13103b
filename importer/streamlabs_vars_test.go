package importer

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestStreamlabsTranslate(t *testing.T) {
	cases := []struct {
		in, want  string
		attention []string // each must appear in one entry
	}{
		{"hi $user", "hi {user}", nil},
		{"hi $USERNAME and $userid", "hi {user} and {user}", nil},
		{"$touser $tousername $target $targetid", "{touser} {touser} {touser} {touser}", nil},
		{"$msg|$dummyormsg", "{args}|{args}", nil},
		{"$arg1 $arg9 $num2", "{1} {9} {2}", nil},
		{"used $count times", "used {count} times", nil},
		{"you have $points", "you have {points}", nil},
		{"in $mychannel", "in {channel}", nil},
		{"$randquote", "{quote}", nil},
		{"$randnum(1,20)", "{random:1-20}", nil},
		{"$randnum( 5 , 6 )", "{random:5-6}", nil},
		{"$randnum(20,1)", "$randnum(20,1)", []string{"$randnum(20,1): Waddle's {random:a-b}"}},
		{"$randnum(10)", "$randnum(10)", []string{"$randnum(10): Waddle's {random:a-b}"}},
		{"$argl1", "$argl1", []string{"lower-cased"}},
		{"$readapi(https://x.test/a?b=(c))!", "$readapi(https://x.test/a?b=(c))!", []string{"fetches a URL"}},
		{`$addpoints("$targetid","$arg2","$arg2","ok","no")`, `$addpoints("$targetid","$arg2","$arg2","ok","no")`, []string{"changes viewers' points"}},
		{"$savetofile(C:\\a.txt,$msg)", "$savetofile(C:\\a.txt,$msg)", []string{"writes a file"}},
		{"$dummy $readrandline(C:\\8ball.txt)", "$dummy $readrandline(C:\\8ball.txt)", []string{"$dummy: stopped the reply", "reads a file"}},
		{"costs $5 or $ 5", "costs $5 or $ 5", nil},
		{"$frobnicate", "$frobnicate", []string{"$frobnicate: Waddle has no equivalent"}},
		{"$user(x)", "$user(x)", []string{"takes arguments here"}},
		{"unclosed $readapi(http://x", "unclosed $readapi(http://x", []string{"$readapi: fetches a URL"}},
		{"", "", nil},
		{"trailing $", "trailing $", nil},
	}
	for _, c := range cases {
		got, attention := slTranslate(c.in)
		if got != c.want {
			t.Errorf("slTranslate(%q) = %q; want %q", c.in, got, c.want)
		}
		if len(attention) != len(c.attention) {
			t.Errorf("slTranslate(%q) attention %q; want %d entries like %q", c.in, attention, len(c.attention), c.attention)
			continue
		}
		for i, w := range c.attention {
			if !strings.Contains(attention[i], w) {
				t.Errorf("slTranslate(%q) attention[%d] = %q; want it to contain %q", c.in, i, attention[i], w)
			}
		}
	}
}

func TestStreamlabsLiteralWaddleVariable(t *testing.T) {
	c, why := slCommandFrom(slCommand{Command: "!x", Response: "type {user} to win"})
	if why != "" {
		t.Fatal(why)
	}
	if len(c.Attention) != 1 || !strings.Contains(c.Attention[0], "{user} was plain text") {
		t.Errorf("attention %q", c.Attention)
	}
}

// FuzzStreamlabsTranslate: no input panics; text without $ is unchanged;
// every attention entry names a parameter that is still in the reply.
func FuzzStreamlabsTranslate(f *testing.F) {
	for _, s := range []string{"$user", "$randnum(1,2)", "$readapi(http://a(b)c)", "$", "$$$arg1", "(((", "$a(", "\xff$user"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out, attention := slTranslate(s)
		if !strings.Contains(s, "$") && out != s {
			t.Fatalf("slTranslate(%q) = %q; text without parameters must not change", s, out)
		}
		for _, a := range attention {
			name, _, _ := strings.Cut(a, ":")
			name = strings.TrimSuffix(name, "(…)")
			if !strings.Contains(out, name) {
				t.Fatalf("slTranslate(%q) = %q: attention %q names what is not in the reply", s, out, a)
			}
		}
		if utf8.ValidString(s) && !utf8.ValidString(out) {
			t.Fatalf("slTranslate(%q) made invalid UTF-8: %q", s, out)
		}
	})
}

// FuzzReadStreamlabsCommands: any bytes in a command export either read
// or give a *FileError; never a panic.
func FuzzReadStreamlabsCommands(f *testing.F) {
	f.Add([]byte(slGroupExport))
	f.Add([]byte(slSingleExport))
	f.Add([]byte(`[{"Command":"!a","Cooldown":"1e999"}]`))
	f.Add([]byte(`{"Command":null}`))
	f.Add([]byte("[\n{"))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(dir, "fuzz.abcomg")
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		b, err := ReadStreamlabs([]File{{Name: "fuzz.abcomg", Path: p, Size: int64(len(data))}})
		if err != nil {
			bftFileError(t, err)
			return
		}
		for _, c := range b.Commands {
			if !bfNameRe.MatchString(c.Name) {
				t.Fatalf("command name %q", c.Name)
			}
			if c.GlobalCooldown < 0 || c.GlobalCooldown > 86400 || c.UserCooldown < 0 || c.UserCooldown > 86400 {
				t.Fatalf("cooldowns %d, %d out of range", c.GlobalCooldown, c.UserCooldown)
			}
		}
		if !json.Valid(bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))) && len(b.Commands) > 0 {
			t.Fatalf("invalid JSON %q gave commands", data)
		}
	})
}
