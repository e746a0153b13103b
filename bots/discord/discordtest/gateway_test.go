package discordtest

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// client is a bare gateway connection, read past HELLO.
func client(t *testing.T, url string) *websocket.Conn {
	t.Helper()
	c, _, err := websocket.DefaultDialer.Dial(url, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	var hello struct{ Op int }
	if err := c.ReadJSON(&hello); err != nil || hello.Op != 10 {
		t.Fatalf("first message op %d (%v), want HELLO", hello.Op, err)
	}
	return c
}

type frame struct {
	Op int             `json:"op"`
	T  string          `json:"t"`
	D  json.RawMessage `json:"d"`
}

// send writes a payload and reads the answer; a close becomes code.
func send(t *testing.T, c *websocket.Conn, op int, d any) (frame, int) {
	t.Helper()
	if err := c.WriteJSON(map[string]any{"op": op, "d": d}); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	var f frame
	err := c.ReadJSON(&f)
	var ce *websocket.CloseError
	if errors.As(err, &ce) {
		return f, ce.Code
	}
	if err != nil {
		t.Fatal(err)
	}
	return f, 0
}

func identify(shard, count, intents int) map[string]any {
	return map[string]any{"token": "Bot t", "intents": intents, "shard": []int{shard, count},
		"properties": map[string]string{"os": "linux", "browser": "x", "device": "x"}}
}

func TestGatewayBotAnswersSessionStartLimit(t *testing.T) {
	g, f := StartGateway(t), StartREST(t)
	f.UseGateway(g)
	g.SetLimits(1000, 998, time.Hour)
	g.SetSharding(4, 16)
	get := func(auth string) (*http.Response, string) {
		req, _ := http.NewRequest("GET", f.URL()+"gateway/bot", nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res, string(b)
	}
	if res, _ := get(""); res.StatusCode != http.StatusUnauthorized {
		t.Errorf("without a bot token: %d, want 401", res.StatusCode)
	}
	res, body := get("Bot t")
	var got struct {
		URL    string `json:"url"`
		Shards int    `json:"shards"`
		Limit  struct {
			Total          int `json:"total"`
			Remaining      int `json:"remaining"`
			ResetAfter     int `json:"reset_after"`
			MaxConcurrency int `json:"max_concurrency"`
		} `json:"session_start_limit"`
	}
	json.Unmarshal([]byte(body), &got)
	if res.StatusCode != 200 || got.URL != g.URL() || got.Shards != 4 || got.Limit.Total != 1000 || got.Limit.Remaining != 998 || got.Limit.MaxConcurrency != 16 ||
		got.Limit.ResetAfter <= 0 || got.Limit.ResetAfter > 3600000 {
		t.Errorf("GET /gateway/bot = %d %s", res.StatusCode, body)
	}
}

func TestGatewayRefusesWhatDiscordRefuses(t *testing.T) {
	t.Run("identify too soon in a bucket", func(t *testing.T) {
		g := StartGateway(t)
		g.SetSharding(2, 1)
		if f, code := send(t, client(t, g.URL()), 2, identify(0, 2, 1)); f.T != "READY" || code != 0 {
			t.Fatalf("first IDENTIFY: %+v close %d, want READY", f, code)
		}
		c := client(t, g.URL())
		f, _ := send(t, c, 2, identify(1, 2, 1))
		if f.Op != 9 || string(f.D) != "false" || g.TooSoon() != 1 {
			t.Fatalf("second IDENTIFY in the bucket: %+v, want op 9 d=false", f)
		}
		// Another bucket is not held back.
		g.SetSharding(2, 2)
		if f, _ := send(t, client(t, g.URL()), 2, identify(1, 2, 1)); f.T != "READY" {
			t.Errorf("IDENTIFY in another bucket: %+v, want READY", f)
		}
		if g.SameSocket() != 0 {
			t.Error("SameSocket counted identifies on fresh connections")
		}
		send(t, c, 2, identify(1, 2, 1)) // again after op 9, on the same socket
		if g.SameSocket() != 1 {
			t.Errorf("SameSocket = %d, want 1", g.SameSocket())
		}
	})
	t.Run("privileged intents not granted", func(t *testing.T) {
		g := StartGateway(t)
		g.SetGranted(1 << 1) // Server Members only
		if _, code := send(t, client(t, g.URL()), 2, identify(0, 1, 1|1<<15)); code != 4014 {
			t.Errorf("IDENTIFY with Message Content: close %d, want 4014", code)
		}
		g.SetWindow(0)
		if f, code := send(t, client(t, g.URL()), 2, identify(0, 1, 1|1<<1)); f.T != "READY" || code != 0 {
			t.Errorf("IDENTIFY with the granted intent: %+v close %d, want READY", f, code)
		}
	})
	t.Run("shard out of range", func(t *testing.T) {
		g := StartGateway(t)
		if _, code := send(t, client(t, g.URL()), 2, identify(2, 2, 1)); code != 4010 {
			t.Errorf("shard [2 2]: close %d, want 4010", code)
		}
	})
	t.Run("budget spent resets the token", func(t *testing.T) {
		g := StartGateway(t)
		g.SetWindow(0)
		g.SetLimits(1000, 1, time.Hour)
		if f, _ := send(t, client(t, g.URL()), 2, identify(0, 1, 1)); f.T != "READY" {
			t.Fatalf("last IDENTIFY of the day: %+v, want READY", f)
		}
		if _, code := send(t, client(t, g.URL()), 2, identify(0, 1, 1)); code != 4004 || !g.TokenReset() {
			t.Errorf("IDENTIFY past the budget: close %d, want 4004 and the token reset", code)
		}
		if _, code := send(t, client(t, g.URL()), 2, identify(0, 1, 1)); code != 4004 {
			t.Errorf("IDENTIFY after the reset: close %d, want 4004", code)
		}
	})
	t.Run("resume only at resume_gateway_url", func(t *testing.T) {
		g := StartGateway(t)
		f, _ := send(t, client(t, g.URL()), 2, identify(0, 1, 1))
		var ready struct {
			SessionID string `json:"session_id"`
			ResumeURL string `json:"resume_gateway_url"`
		}
		json.Unmarshal(f.D, &ready)
		if ready.SessionID == "" || ready.ResumeURL != g.ResumeURL() || ready.ResumeURL == g.URL() {
			t.Fatalf("READY %s, want a session and a resume URL of its own", f.D)
		}
		resume := map[string]any{"token": "Bot t", "session_id": ready.SessionID, "seq": 1}
		if f, _ := send(t, client(t, ready.ResumeURL), 6, resume); f.T != "RESUMED" {
			t.Errorf("RESUME at resume_gateway_url: %+v, want RESUMED", f)
		}
		if f, _ := send(t, client(t, g.URL()), 6, resume); f.Op != 9 {
			t.Errorf("RESUME at the first URL: %+v, want op 9", f)
		}
		// The refused resume ended the session.
		if f, _ := send(t, client(t, ready.ResumeURL), 6, resume); f.Op != 9 {
			t.Errorf("RESUME of an ended session: %+v, want op 9", f)
		}
		if r := g.Resumes(); len(r) != 3 || !r[0].Accepted || r[1].AtResumeURL || r[1].Accepted || r[2].Accepted {
			t.Errorf("resumes %+v", r)
		}
	})
	t.Run("closing with 1000 ends the session", func(t *testing.T) {
		g := StartGateway(t)
		c := client(t, g.URL())
		f, _ := send(t, c, 2, identify(0, 1, 1))
		var ready struct {
			SessionID string `json:"session_id"`
		}
		json.Unmarshal(f.D, &ready)
		c.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""))
		deadline := time.Now().Add(5 * time.Second)
		for g.Live() > 0 && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		resume := map[string]any{"token": "Bot t", "session_id": ready.SessionID, "seq": 1}
		if f, _ := send(t, client(t, g.ResumeURL()), 6, resume); f.Op != 9 {
			t.Errorf("RESUME after a 1000 close: %+v, want op 9", f)
		}
	})
}
