package twitch

import (
	"bufio"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	irc "github.com/gempir/go-twitch-irc/v4"
	"github.com/google/go-cmp/cmp"

	"github.com/waddle/waddle/platform"
	"github.com/waddle/waddle/router"
)

func TestParseIRCAddr(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in      string
		want    ircTarget
		wantErr bool
	}{
		{in: "", want: ircTarget{addr: "irc.chat.twitch.tv:6697", tls: true}},
		{in: "irc.example:6697", want: ircTarget{addr: "irc.example:6697", tls: true}},
		{in: "ircs://irc.example:6697", want: ircTarget{addr: "irc.example:6697", tls: true}},
		{in: "irc://127.0.0.1:6667", want: ircTarget{addr: "127.0.0.1:6667"}},
		{in: "http://irc.example:80", wantErr: true},
		{in: "irc.example", wantErr: true},
		{in: "irc://", wantErr: true},
	}
	for _, c := range cases {
		got, err := parseIRCAddr(c.in)
		if (err != nil) != c.wantErr {
			t.Errorf("%q: err %v, want error %v", c.in, err, c.wantErr)
			continue
		}
		if err == nil && got != c.want {
			t.Errorf("%q: %+v, want %+v", c.in, got, c.want)
		}
		if err != nil && !strings.Contains(err.Error(), "TWITCH_IRC_ADDR") {
			t.Errorf("%q: error %q does not name the variable", c.in, err)
		}
	}
}

func TestNewValidates(t *testing.T) {
	t.Parallel()
	full := Config{Router: &router.Router{}, Tokens: &platform.Tokens{}, Links: &platform.Links{}, Leases: &platform.Leases{},
		Status: platform.NewStatus(Platform), OAuth: &OAuth{}}
	if _, err := New(full); err != nil {
		t.Fatalf("complete config: %v", err)
	}
	cases := []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"no router", func(c *Config) { c.Router = nil }, "Router"},
		{"no oauth", func(c *Config) { c.OAuth = nil }, "TWITCH_CLIENT_ID"},
		{"bad irc addr", func(c *Config) { c.IRCAddr = "nope" }, "TWITCH_IRC_ADDR"},
		{"bad callback", func(c *Config) { c.CallbackURL = "ftp://x/y" }, "BASE_URL"},
	}
	for _, c := range cases {
		cfg := full
		c.edit(&cfg)
		if _, err := New(cfg); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error naming %s", c.name, err, c.want)
		}
	}
}

func TestToEventRoles(t *testing.T) {
	t.Parallel()
	cases := []struct {
		badges string
		want   []string
	}{
		{"", nil},
		{"broadcaster/1,subscriber/0", []string{"broadcaster", "subscriber"}},
		{"moderator/1", []string{"moderator"}},
		{"vip/1,founder/0", []string{"subscriber", "vip"}},
		{"founder/0,subscriber/3,premium/1", []string{"subscriber"}},
	}
	for _, c := range cases {
		line := "@badges=" + c.badges + ";display-name=Alice;id=abc-1;room-id=200;tmi-sent-ts=1700000000000;user-id=300 :alice!alice@alice.tmi.twitch.tv PRIVMSG #DuckChan :!hi there"
		m, ok := irc.ParseMessage(line).(*irc.PrivateMessage)
		if !ok {
			t.Fatalf("%q did not parse as PRIVMSG", line)
		}
		ev, ok := toEvent(*m)
		if !ok {
			t.Fatalf("%q: no event", c.badges)
		}
		if diff := cmp.Diff(c.want, ev.User.Roles); diff != "" {
			t.Errorf("badges %q (-want +got):\n%s", c.badges, diff)
		}
		if ev.ID != "twitch:abc-1" || ev.Server != "duckchan" || ev.Channel != "duckchan" || ev.User.ID != "300" || ev.User.Name != "alice" ||
			ev.User.DisplayName != "Alice" || ev.Text != "!hi there" || ev.Kind != router.ChatMessage || ev.Platform != "twitch" {
			t.Errorf("event %+v", ev)
		}
		if err := ev.Validate(); err != nil {
			t.Errorf("event does not validate: %v", err)
		}
	}
	if _, ok := toEvent(irc.PrivateMessage{Channel: "x", Message: "no tags"}); ok {
		t.Errorf("a message without id and user-id tags became an event")
	}
}

func TestCleanKeepsOneLine(t *testing.T) {
	t.Parallel()
	cases := []struct{ in, want string }{
		{"hello", "hello"},
		{"a\r\nPRIVMSG #other :pwned", "a  PRIVMSG #other :pwned"},
		{"  \n ", ""},
		{"bad \xff utf8", "bad ? utf8"},
		{strings.Repeat("é", 600), strings.Repeat("é", 499) + "…"},
	}
	for _, c := range cases {
		if got := clean(c.in, maxChat); got != c.want {
			t.Errorf("clean(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestResponseText(t *testing.T) {
	t.Parallel()
	r := router.Response{Reply: "Poll:", Embed: &router.Embed{Title: "Best duck", Fields: []router.EmbedField{{Name: "Mallard", Value: "3"}}},
		Buttons: []router.Button{{ID: "!vote 1", Label: "Mallard"}, {ID: "!vote 2", Label: "Teal"}}}
	want := "Poll: — Best duck — Mallard: 3 — (Mallard: !vote 1 | Teal: !vote 2)"
	if got := responseText(r); got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestResetWait(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_700_000_000, 0)
	cases := []struct {
		header string
		want   time.Duration
	}{
		{"1700000003", 3 * time.Second},
		{"1699999990", 100 * time.Millisecond},
		{"1800000000", time.Minute},
		{"", time.Second},
		{"soon", time.Second},
	}
	for _, c := range cases {
		if got := resetWait(c.header, now); got != c.want {
			t.Errorf("Ratelimit-Reset %q: %v, want %v", c.header, got, c.want)
		}
	}
}

func TestReadLine(t *testing.T) {
	t.Parallel()
	in := "PING :a\r\n" + strings.Repeat("x", 100) + "\r\nshort\nlast"
	br := bufio.NewReaderSize(strings.NewReader(in), 16)
	var got []string
	var tooLong int
	for {
		l, err := readLine(br, 50)
		if errors.Is(err, errLineTooLong) {
			tooLong++
			continue
		}
		if err != nil {
			if err != io.EOF {
				t.Fatal(err)
			}
			break
		}
		got = append(got, l)
	}
	if diff := cmp.Diff([]string{"PING :a", "short"}, got); diff != "" || tooLong != 1 {
		t.Errorf("lines (-want +got):\n%s\ntoo long: %d", diff, tooLong)
	}
}

// FuzzServerLine: whatever line the server sends, the relay's filter and
// the event translation never panic, and a line the filter passes is one
// the library handles.
func FuzzServerLine(f *testing.F) {
	for _, s := range []string{
		"@badges=moderator/1;id=a;user-id=1;room-id=2 :u!u@u.tmi.twitch.tv PRIVMSG #c :!hi",
		"@badges=moderator :u!u@u PRIVMSG #c :x",
		"PRIVMSG",
		"@emotes=1:0-4;id=a;user-id=1 :u!u@u PRIVMSG #c :Kappa",
		":tmi.twitch.tv USERSTATE",
		"@",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		if !parses(line) {
			return
		}
		if m, ok := irc.ParseMessage(line).(*irc.PrivateMessage); ok {
			if ev, ok := toEvent(*m); ok {
				ev.Validate()
			}
		}
	})
}

func TestChatWindows(t *testing.T) {
	t.Parallel()
	b := unitBot(t)
	b.login = "duckbot"
	b.modIn["modchan"] = true
	mod := []platform.Window{{Key: "account", N: 100, Per: 30 * time.Second}}
	cases := []struct {
		channel string
		want    []platform.Window
	}{
		{"#modchan", mod},
		{"#duckbot", mod},
		{"#plainchan", []platform.Window{{Key: "account", N: 20, Per: 30 * time.Second}, {Key: "channel:plainchan", N: 1, Per: time.Second}}},
		{"whisper", []platform.Window{{Key: "whisper", N: 3, Per: time.Second}, {Key: "whisper-minute", N: 100, Per: time.Minute}}},
		{"helix:modchan", nil},
	}
	for _, c := range cases {
		if diff := cmp.Diff(c.want, b.windows(c.channel)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", c.channel, diff)
		}
	}
}

// Twitch counts every chat message of the bot account in one window: 20
// messages where it moderates leave no room where it does not.
func TestModeratorMessagesCountAgainstTheAccount(t *testing.T) {
	t.Parallel()
	b := unitBot(t)
	b.modIn["modchan"] = true
	o := platform.NewSendQueue(platform.SendQueueConfig{Platform: Platform, Windows: b.windows, DrainTimeout: time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		o.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	for range 20 {
		if err := o.Send("#modchan", platform.High, func(context.Context) error { return nil }); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, "20 messages sent", func() bool { return o.Stats().Sent == 20 })
	plain := make(chan struct{})
	if err := o.Send("#plainchan", platform.High, func(context.Context) error { close(plain); return nil }); err != nil {
		t.Fatal(err)
	}
	select {
	case <-plain:
		t.Errorf("a message went to a channel the bot does not moderate after 20 within 30 s")
	case <-time.After(300 * time.Millisecond):
	}
}
