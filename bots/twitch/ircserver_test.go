package twitch

import (
	"bufio"
	"crypto/rand"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// ircServer is a local Twitch chat server speaking enough IRC for
// go-twitch-irc: CAP, PASS/NICK, the welcome, JOIN/PART with USERSTATE,
// PING/PONG and PRIVMSG with IRCv3 tags.
type ircServer struct {
	t  *testing.T
	ln net.Listener

	mu     sync.Mutex
	accept func(pass, nick string) bool // nil accepts everyone
	mods   map[string]bool              // channels where the bot gets moderator badges
	conns  []*ircConn
	said   []saidLine
	wg     sync.WaitGroup
}

type ircConn struct {
	id       int
	c        net.Conn
	nick     string
	pass     string
	welcomed bool
	closed   bool
	joined   map[string]bool
	wmu      sync.Mutex
}

// saidLine is a PRIVMSG the bot sent.
type saidLine struct {
	conn    int
	channel string
	text    string
	replyTo string
	at      time.Time
}

func newIRCServer(t *testing.T) *ircServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &ircServer{t: t, ln: ln, mods: map[string]bool{}}
	s.wg.Add(1)
	go s.serve(ln)
	t.Cleanup(func() {
		s.listener().Close()
		s.dropAll()
		s.wg.Wait()
	})
	return s
}

func (s *ircServer) addr() string { return "irc://" + s.listener().Addr().String() }

func (s *ircServer) listener() net.Listener {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ln
}

// pause stops accepting connections, as if Twitch were unreachable.
func (s *ircServer) pause(t *testing.T) {
	t.Helper()
	s.listener().Close()
}

// resume accepts connections again on the same address.
func (s *ircServer) resume(t *testing.T) {
	t.Helper()
	ln, err := net.Listen("tcp", s.listener().Addr().String())
	if err != nil {
		t.Fatalf("listen again: %v", err)
	}
	s.mu.Lock()
	s.ln = ln
	s.mu.Unlock()
	s.wg.Add(1)
	go s.serve(ln)
}

func (s *ircServer) setAccept(f func(pass, nick string) bool) {
	s.mu.Lock()
	s.accept = f
	s.mu.Unlock()
}

func (s *ircServer) setMod(channel string, mod bool) {
	s.mu.Lock()
	s.mods[channel] = mod
	s.mu.Unlock()
}

func (s *ircServer) serve(ln net.Listener) {
	defer s.wg.Done()
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		ic := &ircConn{id: len(s.conns) + 1, c: c, joined: map[string]bool{}}
		s.conns = append(s.conns, ic)
		s.mu.Unlock()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.handle(ic)
		}()
	}
}

func (ic *ircConn) send(line string) {
	ic.wmu.Lock()
	defer ic.wmu.Unlock()
	ic.c.SetWriteDeadline(time.Now().Add(5 * time.Second))
	ic.c.Write([]byte(line + "\r\n"))
}

func (s *ircServer) handle(ic *ircConn) {
	defer func() {
		ic.c.Close()
		s.mu.Lock()
		ic.closed = true
		s.mu.Unlock()
	}()
	sc := bufio.NewScanner(ic.c)
	sc.Buffer(make([]byte, 4096), 64<<10)
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		tags := map[string]string{}
		if strings.HasPrefix(line, "@") {
			raw, rest, _ := strings.Cut(line, " ")
			for _, kv := range strings.Split(raw[1:], ";") {
				k, v, _ := strings.Cut(kv, "=")
				tags[k] = v
			}
			line = rest
		}
		cmd, args, _ := strings.Cut(line, " ")
		switch cmd {
		case "CAP":
			ic.send(":tmi.twitch.tv CAP * ACK :" + strings.TrimPrefix(strings.TrimPrefix(args, "REQ "), ":"))
		case "PASS":
			s.mu.Lock()
			ic.pass = args
			s.mu.Unlock()
		case "NICK":
			s.mu.Lock()
			ic.nick = args
			ok := s.accept == nil || s.accept(ic.pass, ic.nick)
			ic.welcomed = ok
			s.mu.Unlock()
			if !ok {
				ic.send(":tmi.twitch.tv NOTICE * :Login authentication failed")
				continue
			}
			ic.send(":tmi.twitch.tv 001 " + args + " :Welcome, GLHF!")
			ic.send(":tmi.twitch.tv 376 " + args + " :>")
		case "JOIN":
			for _, ch := range strings.Split(args, ",") {
				ch = strings.TrimPrefix(strings.TrimSpace(ch), "#")
				s.mu.Lock()
				ic.joined[ch] = true
				mod := s.mods[ch]
				s.mu.Unlock()
				ic.send(fmt.Sprintf(":%s!%s@%s.tmi.twitch.tv JOIN #%s", ic.nick, ic.nick, ic.nick, ch))
				badges, m := "", "0"
				if mod {
					badges, m = "moderator/1", "1"
				}
				ic.send(fmt.Sprintf("@badge-info=;badges=%s;color=;display-name=%s;emote-sets=0;mod=%s;subscriber=0;user-type= :tmi.twitch.tv USERSTATE #%s", badges, ic.nick, m, ch))
			}
		case "PART":
			s.mu.Lock()
			delete(ic.joined, strings.TrimPrefix(args, "#"))
			s.mu.Unlock()
		case "PING":
			ic.send(":tmi.twitch.tv PONG tmi.twitch.tv " + args)
		case "PRIVMSG":
			ch, text, _ := strings.Cut(args, " ")
			s.mu.Lock()
			s.said = append(s.said, saidLine{conn: ic.id, channel: strings.TrimPrefix(ch, "#"), text: strings.TrimPrefix(text, ":"),
				replyTo: tags["reply-parent-msg-id"], at: time.Now()})
			s.mu.Unlock()
		}
	}
}

// live returns the welcomed open connections that joined channel.
func (s *ircServer) live(channel string) []*ircConn {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*ircConn
	for _, c := range s.conns {
		if !c.closed && c.welcomed && c.joined[channel] {
			out = append(out, c)
		}
	}
	return out
}

// welcomedConns counts the open connections that were welcomed.
func (s *ircServer) welcomedConns() []*ircConn {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*ircConn
	for _, c := range s.conns {
		if !c.closed && c.welcomed {
			out = append(out, c)
		}
	}
	return out
}

// waitJoined waits until exactly one open connection joined channel and returns it.
func (s *ircServer) waitJoined(t *testing.T, channel string) *ircConn {
	t.Helper()
	var c *ircConn
	eventually(t, "a connection joins #"+channel, func() bool {
		l := s.live(channel)
		if len(l) == 1 {
			c = l[0]
		}
		return len(l) == 1
	})
	return c
}

// chat sends a user's PRIVMSG to every connection in channel and returns its id.
func (s *ircServer) chat(channel, userID, login, badges, text string) string {
	id := strings.ToLower(rand.Text())
	mod := "0"
	if strings.Contains(badges, "moderator") {
		mod = "1"
	}
	line := fmt.Sprintf("@badge-info=;badges=%s;color=#FF0000;display-name=%s;emotes=;first-msg=0;flags=;id=%s;mod=%s;room-id=200;subscriber=0;tmi-sent-ts=%d;turbo=0;user-id=%s;user-type= :%s!%s@%s.tmi.twitch.tv PRIVMSG #%s :%s",
		badges, strings.ToUpper(login[:1])+login[1:], id, mod, time.Now().UnixMilli(), userID, login, login, login, channel, text)
	s.raw(channel, line)
	return id
}

// raw sends a line to every connection in channel.
func (s *ircServer) raw(channel, line string) {
	for _, c := range s.live(channel) {
		c.send(line)
	}
}

// dropAll closes every connection, as a server restart would.
func (s *ircServer) dropAll() {
	s.mu.Lock()
	conns := append([]*ircConn(nil), s.conns...)
	s.mu.Unlock()
	for _, c := range conns {
		c.c.Close()
	}
}

// lines returns what the bot said in channel.
func (s *ircServer) lines(channel string) []saidLine {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []saidLine
	for _, l := range s.said {
		if l.channel == channel {
			out = append(out, l)
		}
	}
	return out
}

// waitLines waits until the bot said n lines in channel.
func (s *ircServer) waitLines(t *testing.T, channel string, n int) []saidLine {
	t.Helper()
	var got []saidLine
	eventually(t, fmt.Sprintf("%d lines in #%s", n, channel), func() bool {
		got = s.lines(channel)
		return len(got) >= n
	})
	return got
}

// eventually polls cond until it holds or 15 s pass.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
