package discord

import (
	"bytes"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"

	"github.com/waddle/waddle/runes"
)

// frame builds a websocket frame as a server sends it.
func frame(fin bool, op byte, payload []byte) []byte {
	b := appendFrame(nil, op, payload)
	if !fin {
		b[0] &^= 0x80
	}
	return b
}

func TestFilterConnReassemblesAndSwapsMessages(t *testing.T) {
	t.Parallel()
	big := []byte(`{"op":0,"t":"MESSAGE_CREATE","s":3,"d":{"content":"` + strings.Repeat("q", 70000) + `"}}`)
	var in bytes.Buffer
	in.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n")
	in.Write(frame(true, 1, []byte(`{"op":10,"d":{"heartbeat_interval":1}}`)))
	in.Write(frame(false, 1, []byte(`{"op":0,"t":"GUILD_CREATE",`)))
	in.Write(frame(true, 9, []byte("ping"))) // a control frame between fragments
	in.Write(frame(true, 0, []byte(`"s":2,"d":"x"}`)))
	in.Write(frame(true, 1, big))
	in.Write(frame(true, 1, []byte(`null`)))

	server, client := net.Pipe()
	go func() {
		// Dribble the bytes to exercise partial reads.
		data := in.Bytes()
		for len(data) > 0 {
			n := min(len(data), 777)
			server.Write(data[:n])
			data = data[n:]
		}
		server.Close()
	}()
	c := &filterConn{Conn: client, log: slog.New(slog.DiscardHandler)}
	got, err := io.ReadAll(c)
	if err != nil && err != io.EOF {
		t.Fatal(err)
	}
	var want bytes.Buffer
	want.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n")
	want.Write(frame(true, 1, []byte(`{"op":10,"d":{"heartbeat_interval":1}}`)))
	want.Write(frame(true, 9, []byte("ping")))
	want.Write(frame(true, 1, []byte(`{"d":{},"op":0,"s":2,"t":"WADDLE_DROPPED"}`)))
	want.Write(frame(true, 1, big))
	want.Write(frame(true, 1, []byte(`{"d":{},"op":0,"s":0,"t":"WADDLE_DROPPED"}`)))
	if !bytes.Equal(got, want.Bytes()) {
		t.Errorf("filtered stream differs:\n got %q\nwant %q", runes.Truncate(string(got), 300, ""), runes.Truncate(want.String(), 300, ""))
	}
}

func TestFilterConnRefusesBadFraming(t *testing.T) {
	t.Parallel()
	cases := map[string][]byte{
		"continuation first": frame(true, 0, []byte("x")),
		"oversize":           {0x81, 127, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
	}
	for name, f := range cases {
		t.Run(name, func(t *testing.T) {
			server, client := net.Pipe()
			go func() {
				server.Write(append([]byte("HTTP/1.1 101 OK\r\n\r\n"), f...))
				server.Close()
			}()
			c := &filterConn{Conn: client, log: slog.New(slog.DiscardHandler)}
			if _, err := io.ReadAll(c); err == nil || !strings.Contains(err.Error(), "bad websocket frame") {
				t.Errorf("err %v, want a bad frame error", err)
			}
		})
	}
}

func FuzzUnsafePayload(f *testing.F) {
	f.Add([]byte(`{"op":0,"t":"GUILD_CREATE","d":{}}`))
	f.Add([]byte(`null`))
	f.Add([]byte(`{"op":0,"t":"READY","d":{"guilds":[null]}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		unsafePayload(b) // must not panic
	})
}
