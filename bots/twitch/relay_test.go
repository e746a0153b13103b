package twitch

import (
	"errors"
	"fmt"
	"net"
	"os"
	"testing"
	"time"
)

func TestRelayServesOnlyTheBot(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.command("hello", "Hello {user}!")
	b := e.start(e.config("a"))
	e.irc.WaitJoined(t, "duckchan")
	eventually(t, "the session up", func() bool {
		b.mu.Lock()
		defer b.mu.Unlock()
		return b.up
	})
	b.mu.Lock()
	addr, seq := b.relayAddr, b.sessionSeq
	b.mu.Unlock()
	accepted := e.irc.Accepted()

	// Local processes connect to the relay: one says nothing, one talks IRC
	// as the library does.
	idle, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	stray, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer stray.Close()
	fmt.Fprint(stray, "CAP REQ :twitch.tv/tags twitch.tv/commands\r\nPASS oauth:stolen\r\nNICK justinfan123\r\n")
	closed := func(c net.Conn, within time.Duration) {
		t.Helper()
		c.SetReadDeadline(time.Now().Add(within))
		n, err := c.Read(make([]byte, 512))
		if err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
			t.Errorf("the relay kept a stray connection open (read %d bytes, %v)", n, err)
		}
	}
	closed(stray, 3*time.Second)

	e.irc.Chat("duckchan", "300", "alice", "", "!hello")
	if got := e.irc.WaitLines(t, "duckchan", 1); got[0].Text != "Hello Alice!" {
		t.Errorf("reply %q", got[0].Text)
	}
	closed(idle, helloTimeout+3*time.Second)
	if n := e.irc.Accepted(); n != accepted {
		t.Errorf("%d connections reached Twitch, want %d: the relay let a stray one through", n, accepted)
	}
	b.mu.Lock()
	up, seqNow := b.up, b.sessionSeq
	b.mu.Unlock()
	if !up || seqNow != seq {
		t.Errorf("session up %v, seq %d (was %d): a stray connection disturbed the session", up, seqNow, seq)
	}
	if len(e.irc.Live("duckchan")) != 1 {
		t.Errorf("the bot's connection is gone")
	}
}
