// Package twitchtest is a local Twitch for tests: an IRC chat server that
// go-twitch-irc talks to (CAP, PASS/NICK, the welcome, JOIN/PART with
// USERSTATE, PING/PONG and PRIVMSG with IRCv3 tags), and an HTTP server for
// id.twitch.tv (under /oauth2) and Helix (under /helix). Both record what
// they receive, and tests push chat lines and change their answers through
// methods. Every server stops when the test that started it ends.
package twitchtest

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

// IRC is a running chat server. Its methods are safe for concurrent use.
type IRC struct {
	mu     sync.Mutex
	ln     net.Listener
	accept func(pass, nick string) bool // nil accepts everyone
	mods   map[string]bool              // channels where the bot gets moderator badges
	conns  []*Conn
	said   []Line
	wg     sync.WaitGroup
}

// Conn is one client connection to the chat server.
type Conn struct {
	s        *IRC
	id       int
	c        net.Conn
	nick     string
	pass     string
	welcomed bool
	closed   bool
	joined   map[string]bool
	wmu      sync.Mutex
}

// Line is a PRIVMSG a client sent.
type Line struct {
	Conn    int    // the connection's number, from 1
	Channel string // without the #
	Text    string
	ReplyTo string // the reply-parent-msg-id tag
	At      time.Time
}

// StartIRC starts a chat server on 127.0.0.1 and stops it when the test ends.
func StartIRC(t testing.TB) *IRC {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("twitchtest: listen: %v", err)
	}
	s := &IRC{ln: ln, mods: map[string]bool{}}
	s.wg.Add(1)
	go s.serve(ln)
	t.Cleanup(func() {
		s.listener().Close()
		s.DropAll()
		s.wg.Wait()
	})
	return s
}

// Addr is a TWITCH_IRC_ADDR for the server: irc://127.0.0.1:PORT (plain).
func (s *IRC) Addr() string { return "irc://" + s.listener().Addr().String() }

func (s *IRC) listener() net.Listener {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ln
}

// Pause stops accepting connections, as if Twitch were unreachable.
func (s *IRC) Pause() { s.listener().Close() }

// Resume accepts connections again on the same address.
func (s *IRC) Resume(t testing.TB) {
	t.Helper()
	ln, err := net.Listen("tcp", s.listener().Addr().String())
	if err != nil {
		t.Fatalf("twitchtest: listen again: %v", err)
	}
	s.mu.Lock()
	s.ln = ln
	s.mu.Unlock()
	s.wg.Add(1)
	go s.serve(ln)
}

// SetAccept decides which logins get the welcome; the others get "Login
// authentication failed". nil accepts everyone.
func (s *IRC) SetAccept(f func(pass, nick string) bool) {
	s.mu.Lock()
	s.accept = f
	s.mu.Unlock()
}

// SetMod gives the bot moderator badges in channel when it joins.
func (s *IRC) SetMod(channel string, mod bool) {
	s.mu.Lock()
	s.mods[channel] = mod
	s.mu.Unlock()
}

func (s *IRC) serve(ln net.Listener) {
	defer s.wg.Done()
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		ic := &Conn{s: s, id: len(s.conns) + 1, c: c, joined: map[string]bool{}}
		s.conns = append(s.conns, ic)
		s.mu.Unlock()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.handle(ic)
		}()
	}
}

// Nick is the nickname the client logged in with.
func (c *Conn) Nick() string {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	return c.nick
}

// Pass is the password the client logged in with ("oauth:TOKEN").
func (c *Conn) Pass() string {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	return c.pass
}

func (c *Conn) send(line string) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.c.SetWriteDeadline(time.Now().Add(5 * time.Second))
	c.c.Write([]byte(line + "\r\n"))
}

func (s *IRC) handle(ic *Conn) {
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
				nick := ic.nick
				s.mu.Unlock()
				ic.send(fmt.Sprintf(":%s!%s@%s.tmi.twitch.tv JOIN #%s", nick, nick, nick, ch))
				badges, m := "", "0"
				if mod {
					badges, m = "moderator/1", "1"
				}
				ic.send(fmt.Sprintf("@badge-info=;badges=%s;color=;display-name=%s;emote-sets=0;mod=%s;subscriber=0;user-type= :tmi.twitch.tv USERSTATE #%s", badges, nick, m, ch))
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
			s.said = append(s.said, Line{Conn: ic.id, Channel: strings.TrimPrefix(ch, "#"), Text: strings.TrimPrefix(text, ":"),
				ReplyTo: tags["reply-parent-msg-id"], At: time.Now()})
			s.mu.Unlock()
		}
	}
}

// Live returns the welcomed open connections that joined channel.
func (s *IRC) Live(channel string) []*Conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*Conn
	for _, c := range s.conns {
		if !c.closed && c.welcomed && c.joined[channel] {
			out = append(out, c)
		}
	}
	return out
}

// Accepted returns how many connections the server accepted in all.
func (s *IRC) Accepted() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

// Welcomed returns the open connections that were welcomed.
func (s *IRC) Welcomed() []*Conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*Conn
	for _, c := range s.conns {
		if !c.closed && c.welcomed {
			out = append(out, c)
		}
	}
	return out
}

// WaitJoined waits up to 15 s until exactly one open connection joined
// channel and returns it.
func (s *IRC) WaitJoined(t testing.TB, channel string) *Conn {
	t.Helper()
	var c *Conn
	poll(t, "a connection joins #"+channel, func() bool {
		l := s.Live(channel)
		if len(l) == 1 {
			c = l[0]
		}
		return len(l) == 1
	})
	return c
}

// Chat sends a user's PRIVMSG, tagged as Twitch tags it, to every connection
// in channel and returns the message's id. badges is the badges tag, such
// as "moderator/1,subscriber/12".
func (s *IRC) Chat(channel, userID, login, badges, text string) string {
	id := strings.ToLower(rand.Text())
	mod := "0"
	if strings.Contains(badges, "moderator") {
		mod = "1"
	}
	line := fmt.Sprintf("@badge-info=;badges=%s;color=#FF0000;display-name=%s;emotes=;first-msg=0;flags=;id=%s;mod=%s;room-id=200;subscriber=0;tmi-sent-ts=%d;turbo=0;user-id=%s;user-type= :%s!%s@%s.tmi.twitch.tv PRIVMSG #%s :%s",
		badges, strings.ToUpper(login[:1])+login[1:], id, mod, time.Now().UnixMilli(), userID, login, login, login, channel, text)
	s.Raw(channel, line)
	return id
}

// Raw sends a line as is to every connection in channel.
func (s *IRC) Raw(channel, line string) {
	for _, c := range s.Live(channel) {
		c.send(line)
	}
}

// DropAll closes every connection, as a server restart would.
func (s *IRC) DropAll() {
	s.mu.Lock()
	conns := append([]*Conn(nil), s.conns...)
	s.mu.Unlock()
	for _, c := range conns {
		c.c.Close()
	}
}

// Lines returns what clients said in channel, oldest first.
func (s *IRC) Lines(channel string) []Line {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Line
	for _, l := range s.said {
		if l.Channel == channel {
			out = append(out, l)
		}
	}
	return out
}

// Said returns what clients said in every channel, oldest first.
func (s *IRC) Said() []Line {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Line(nil), s.said...)
}

// WaitLines waits up to 15 s until clients said n lines in channel and
// returns them all.
func (s *IRC) WaitLines(t testing.TB, channel string, n int) []Line {
	t.Helper()
	var got []Line
	poll(t, fmt.Sprintf("%d lines in #%s", n, channel), func() bool {
		got = s.Lines(channel)
		return len(got) >= n
	})
	return got
}

// poll checks cond until it holds, failing the test after 15 s.
func poll(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("twitchtest: timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
