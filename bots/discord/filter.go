package discord

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/bwmarrin/discordgo"
)

// discordgo v0.29.0 dereferences some gateway payloads without checking
// them, on its own reader goroutine, where no recover can reach: a frame
// that is JSON null, a READY/GUILD_CREATE/GUILD_UPDATE whose "d" is not a
// guild (or lists null channels, members or voice states), or a
// VOICE_STATE_UPDATE without a voice state. filterConn sits under the
// websocket and swaps such messages for an unknown event the library
// only logs, so a bad payload never stops the process.

// maxGatewayMessage bounds one gateway message (a large GUILD_CREATE is a few MB).
const maxGatewayMessage = 64 << 20

// dialer wraps the network connections of a gateway websocket.
type dialer struct {
	log   *slog.Logger
	open  time.Duration // how long until the gateway's second message (READY or RESUMED)
	watch *gwWatch      // the shard session's; nil for none
}

func (d dialer) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	if d.watch != nil && !d.watch.dialOK(addr) {
		return nil, errRedirect
	}
	c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	return d.wrap(c), nil
}

// wrap filters c, and bounds its reads until the gateway answered twice
// (HELLO, then READY or RESUMED): discordgo's Open reads both without a
// deadline, so a gateway that goes silent would hold it forever.
func (d dialer) wrap(c net.Conn) *filterConn {
	f := &filterConn{Conn: c, log: d.log, watch: d.watch}
	if d.open > 0 {
		f.openBy = time.Now().Add(d.open)
		c.SetReadDeadline(f.openBy)
	}
	return f
}

func (d dialer) dialTLS(ctx context.Context, network, addr string) (net.Conn, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	if d.watch != nil && !d.watch.dialOK(addr) {
		return nil, errRedirect
	}
	td := &tls.Dialer{Config: &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}}
	c, err := td.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	return d.wrap(c), nil
}

// filterConn passes the HTTP upgrade through, then reads websocket frames,
// reassembles each data message, checks it, and hands the library one
// unfragmented frame per message.
type filterConn struct {
	net.Conn
	log   *slog.Logger
	watch *gwWatch // told of op 9, close codes and READY; nil for none

	in       []byte // read from the network, not yet parsed
	out      []byte // ready for the library
	upgraded bool   // past the HTTP response
	msg      []byte // data message being reassembled
	msgOp    byte
	inMsg    bool
	msgs     int // data messages passed on

	mu       sync.Mutex
	openBy   time.Time // reads fail after this until the second message; zero: no bound
	deadline time.Time // the read deadline the library set
}

// SetDeadline and SetReadDeadline keep the open bound, which the websocket
// handshake would otherwise clear.
func (c *filterConn) SetDeadline(t time.Time) error {
	if err := c.SetReadDeadline(t); err != nil {
		return err
	}
	return c.Conn.SetWriteDeadline(t)
}

func (c *filterConn) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.deadline = t
	return c.Conn.SetReadDeadline(c.readDeadline())
}

// readDeadline is the earlier of the library's deadline and the open bound; c.mu is held.
func (c *filterConn) readDeadline() time.Time {
	if !c.openBy.IsZero() && (c.deadline.IsZero() || c.openBy.Before(c.deadline)) {
		return c.openBy
	}
	return c.deadline
}

// opened lifts the open bound.
func (c *filterConn) opened() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.openBy.IsZero() {
		c.openBy = time.Time{}
		c.Conn.SetReadDeadline(c.deadline)
	}
}

func (c *filterConn) Read(p []byte) (int, error) {
	for len(c.out) == 0 {
		if err := c.parse(); err != nil {
			return 0, err
		}
		if len(c.out) > 0 {
			break
		}
		buf := make([]byte, 32<<10)
		n, err := c.Conn.Read(buf)
		c.in = append(c.in, buf[:n]...)
		if n == 0 && err != nil {
			return 0, err
		}
	}
	n := copy(p, c.out)
	c.out = c.out[n:]
	return n, nil
}

// Write passes the library's frames on, except a close frame on a
// connection the bot did not mean to end: discordgo closes with 1000 after
// any read error or missed heartbeat ack, and Discord ends the session of a
// client that closes with 1000 or 1001, so it could not be resumed. Such a
// connection is dropped without a close frame instead. (Frames the library
// writes go out in one Write each; an HTTP request never starts with 0x88.)
func (c *filterConn) Write(p []byte) (int, error) {
	if c.watch != nil && len(p) > 0 && p[0]&0x0f == 8 && !c.watch.ending() {
		c.Conn.Close()
		return len(p), nil
	}
	return c.Conn.Write(p)
}

var errGatewayFrame = errors.New("discord gateway: bad websocket frame")

// parse moves complete units (the HTTP head, control frames, whole messages) from in to out.
func (c *filterConn) parse() error {
	if !c.upgraded {
		i := bytes.Index(c.in, []byte("\r\n\r\n"))
		if i < 0 {
			if len(c.in) > 64<<10 {
				return errGatewayFrame
			}
			return nil
		}
		c.out = append(c.out, c.in[:i+4]...)
		c.in = c.in[i+4:]
		c.upgraded = true
	}
	for {
		if len(c.in) == 0 {
			c.in = nil // let the buffer go
		}
		if len(c.in) < 2 {
			return nil
		}
		fin, op := c.in[0]&0x80 != 0, c.in[0]&0x0f
		masked, n, h := c.in[1]&0x80 != 0, uint64(c.in[1]&0x7f), 2
		switch n {
		case 126:
			if len(c.in) < 4 {
				return nil
			}
			n, h = uint64(binary.BigEndian.Uint16(c.in[2:4])), 4
		case 127:
			if len(c.in) < 10 {
				return nil
			}
			n, h = binary.BigEndian.Uint64(c.in[2:10]), 10
		}
		if n > maxGatewayMessage {
			return fmt.Errorf("%w: %d bytes", errGatewayFrame, n)
		}
		var key []byte
		if masked {
			if len(c.in) < h+4 {
				return nil
			}
			key, h = c.in[h:h+4], h+4
		}
		if uint64(len(c.in)-h) < n {
			return nil
		}
		payload := c.in[h : h+int(n)]
		if masked {
			payload = append([]byte(nil), payload...)
			for i := range payload {
				payload[i] ^= key[i%4]
			}
		}
		raw := c.in[:h+int(n)]
		c.in = c.in[h+int(n):]
		switch {
		case op >= 8: // control frames pass as they are
			if op == 8 && c.watch != nil {
				c.watch.closed(payload)
			}
			c.out = append(c.out, raw...)
			continue
		case op == 0 && !c.inMsg, op != 0 && c.inMsg:
			return errGatewayFrame
		case op != 0:
			c.msgOp, c.msg, c.inMsg = op, nil, true
		}
		c.msg = append(c.msg, payload...)
		if len(c.msg) > maxGatewayMessage {
			return fmt.Errorf("%w: message over %d bytes", errGatewayFrame, maxGatewayMessage)
		}
		if !fin {
			continue
		}
		msg := c.msg
		c.msg, c.inMsg = nil, false
		if c.msgOp == 1 {
			if c.watch != nil {
				if err := c.watch.saw(msg); err != nil {
					// The library must not answer op 9 itself, nor close
					// with 1000, which would end a resumable session.
					c.Conn.Close()
					return err
				}
			}
			msg = c.check(msg)
		}
		c.out = appendFrame(c.out, c.msgOp, msg)
		if c.msgs++; c.msgs == 2 {
			c.opened()
		}
	}
}

// appendFrame writes one final, unmasked frame.
func appendFrame(out []byte, op byte, payload []byte) []byte {
	out = append(out, 0x80|op)
	switch n := len(payload); {
	case n < 126:
		out = append(out, byte(n))
	case n <= 0xffff:
		out = append(out, 126)
		out = binary.BigEndian.AppendUint16(out, uint16(n))
	default:
		out = append(out, 127)
		out = binary.BigEndian.AppendUint64(out, uint64(n))
	}
	return append(out, payload...)
}

// check returns the message, or a harmless stand-in when it would crash the library.
func (c *filterConn) check(msg []byte) []byte {
	why := unsafePayload(msg)
	if why == "" {
		return msg
	}
	var head struct {
		S int64 `json:"s"`
	}
	json.Unmarshal(msg, &head)
	c.log.Warn("malformed gateway message dropped", "why", why, "size", len(msg))
	out, _ := json.Marshal(map[string]any{"op": 0, "t": "WADDLE_DROPPED", "s": head.S, "d": map[string]any{}})
	return out
}

// unsafePayload says why discordgo would crash on msg, or "".
func unsafePayload(msg []byte) string {
	trimmed := bytes.TrimSpace(msg)
	if bytes.Equal(trimmed, []byte("null")) {
		return "the message is null"
	}
	var head struct {
		Op int             `json:"op"`
		T  string          `json:"t"`
		D  json.RawMessage `json:"d"`
	}
	if json.Unmarshal(trimmed, &head) != nil || head.Op != 0 {
		return "" // the library reports what it cannot decode
	}
	switch head.T {
	case "READY":
		var r discordgo.Ready
		json.Unmarshal(head.D, &r)
		for _, g := range r.Guilds {
			if g == nil || !guildSafe(g) {
				return "READY lists a bad guild"
			}
		}
	case "GUILD_CREATE", "GUILD_UPDATE":
		var g discordgo.GuildCreate
		json.Unmarshal(head.D, &g)
		if g.Guild == nil || !guildSafe(g.Guild) {
			return head.T + " without a guild"
		}
	case "VOICE_STATE_UPDATE":
		var v discordgo.VoiceStateUpdate
		json.Unmarshal(head.D, &v)
		if v.VoiceState == nil {
			return "VOICE_STATE_UPDATE without a voice state"
		}
	}
	return ""
}

func guildSafe(g *discordgo.Guild) bool {
	for _, c := range g.Channels {
		if c == nil {
			return false
		}
	}
	for _, m := range g.Members {
		if m == nil {
			return false
		}
	}
	for _, v := range g.VoiceStates {
		if v == nil {
			return false
		}
	}
	return true
}
