package importtest

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// SEPoints is one viewer's balance on the StreamElements leaderboard.
type SEPoints struct {
	Username string `json:"username"`
	Points   int64  `json:"points"`
}

// StreamElements is a local api.streamelements.com/kappa/v2:
// GET /channels/me, /bot/commands/:channel, /bot/timers/:channel,
// /bot/quotes/:channel (paged, limit ≤ 100), /bot/filters/:channel,
// /bot/:channel/counters/:name and /points/:channel/top (paged, limit ≤
// 1000), in StreamElements' shapes. It takes only "Authorization: Bearer"
// with a JWT it issued and that has not expired (401 otherwise), only for
// the token's own channel (403), and refuses a page larger than the API
// allows (400).
type StreamElements struct {
	// Channel is the channel's id, as the API's 24-hex-digit ids.
	Channel string
	srv     *httptest.Server
	key     []byte

	mu       sync.Mutex
	token    string
	issued   map[string]bool
	commands []json.RawMessage
	timers   []json.RawMessage
	quotes   []json.RawMessage
	filters  json.RawMessage
	counters map[string]int64
	points   []SEPoints
	answers  map[string]string
	requests []string
}

// StartStreamElements starts the fake for one channel with nothing in it,
// and issues the channel's token (Token).
func StartStreamElements(t testing.TB) *StreamElements {
	t.Helper()
	f := &StreamElements{Channel: randomHex(12), key: []byte(randomHex(32)), issued: map[string]bool{}, counters: map[string]int64{}, answers: map[string]string{}}
	f.token = f.Issue(time.Now().Add(365 * 24 * time.Hour))
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

// URL is the API's v2 root (StreamElementsAPI.BaseURL).
func (f *StreamElements) URL() string { return f.srv.URL + "/kappa/v2" }

// Token is the channel's JWT, as the dashboard shows it.
func (f *StreamElements) Token() string { return f.token }

// Issue signs another JWT for the channel, expiring at exp.
func (f *StreamElements) Issue(exp time.Time) string {
	return f.sign(map[string]any{
		"citadel": randomHex(12), "channel": f.Channel, "role": "owner", "provider": "twitch",
		"authToken": randomHex(16), "user": randomHex(12), "iss": "StreamElements",
		"exp": exp.Unix(), "jti": randomHex(16),
	})
}

// IssueFor signs a JWT for another channel id.
func (f *StreamElements) IssueFor(channel string) string {
	return f.sign(map[string]any{"channel": channel, "role": "owner", "iss": "StreamElements", "exp": time.Now().Add(time.Hour).Unix()})
}

func (f *StreamElements) sign(claims map[string]any) string {
	enc := base64.RawURLEncoding
	head := enc.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`))
	body, _ := json.Marshal(claims)
	msg := head + "." + enc.EncodeToString(body)
	mac := hmac.New(sha256.New, f.key)
	mac.Write([]byte(msg))
	tok := msg + "." + enc.EncodeToString(mac.Sum(nil))
	f.mu.Lock()
	f.issued[tok] = true
	f.mu.Unlock()
	return tok
}

// SetCommands replaces the channel's commands, each one JSON object as the
// API writes it; SetTimers and SetQuotes do the same for theirs.
func (f *StreamElements) SetCommands(items ...string) { f.set(&f.commands, items) }

// SetTimers replaces the channel's timers.
func (f *StreamElements) SetTimers(items ...string) { f.set(&f.timers, items) }

// SetQuotes replaces the channel's quotes.
func (f *StreamElements) SetQuotes(items ...string) { f.set(&f.quotes, items) }

// SetFilters replaces the answer of GET /bot/filters/:channel.
func (f *StreamElements) SetFilters(doc string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.filters = json.RawMessage(doc)
}

// SetCounter sets a named counter.
func (f *StreamElements) SetCounter(name string, value int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.counters[name] = value
}

// SetPoints replaces the leaderboard (served in this order).
func (f *StreamElements) SetPoints(p []SEPoints) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.points = p
}

// Answer makes path (under /kappa/v2) answer 200 with body, for junk and
// for the API's other shapes.
func (f *StreamElements) Answer(path, body string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.answers["/kappa/v2"+path] = body
}

// Requests lists the requests served, as "GET /kappa/v2/…".
func (f *StreamElements) Requests() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.requests)
}

func (f *StreamElements) set(list *[]json.RawMessage, items []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	*list = raws(items)
}

func seReply(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func seError(w http.ResponseWriter, status int, msg string) {
	seReply(w, status, map[string]any{"statusCode": status, "error": http.StatusText(status), "message": msg})
}

// valid says whether tok is a JWT the fake issued, signed by it, not
// expired.
func (f *StreamElements) valid(tok string) (channel string, ok bool) {
	f.mu.Lock()
	issued := f.issued[tok]
	f.mu.Unlock()
	parts := strings.Split(tok, ".")
	if !issued || len(parts) != 3 {
		return "", false
	}
	mac := hmac.New(sha256.New, f.key)
	mac.Write([]byte(parts[0] + "." + parts[1]))
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil || !hmac.Equal(sig, mac.Sum(nil)) {
		return "", false
	}
	body, _ := base64.RawURLEncoding.DecodeString(parts[1])
	var c struct {
		Channel string `json:"channel"`
		Exp     int64  `json:"exp"`
	}
	if json.Unmarshal(body, &c) != nil || time.Now().Unix() >= c.Exp {
		return "", false
	}
	return c.Channel, true
}

func (f *StreamElements) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.requests = append(f.requests, r.Method+" "+r.URL.RequestURI())
	f.mu.Unlock()
	tok, bearer := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	channel, ok := f.valid(tok)
	if !bearer || !ok {
		seError(w, 401, "Invalid or expired JWT")
		return
	}
	if r.Method != http.MethodGet {
		seError(w, 404, "Not Found")
		return
	}
	path := r.URL.Path
	rest, found := strings.CutPrefix(path, "/kappa/v2/")
	if !found {
		seError(w, 404, "Not Found")
		return
	}
	seg := strings.Split(rest, "/")
	// The channel each path names.
	var of string
	switch {
	case rest == "channels/me":
	case len(seg) == 3 && seg[0] == "bot" && slices.Contains([]string{"commands", "timers", "quotes", "filters"}, seg[1]):
		of = seg[2]
	case len(seg) == 4 && seg[0] == "bot" && seg[2] == "counters":
		of = seg[1]
	case len(seg) == 3 && seg[0] == "points" && seg[2] == "top":
		of = seg[1]
	default:
		seError(w, 404, "Not Found")
		return
	}
	if of != "" && of != channel {
		seError(w, 403, "You do not have access to this channel")
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if body, ok := f.answers[path]; ok {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Write([]byte(body))
		return
	}
	switch {
	case rest == "channels/me":
		seReply(w, 200, map[string]any{"_id": f.Channel, "username": "streamer", "alias": "streamer", "displayName": "Streamer", "provider": "twitch", "providerId": "24895647", "inactive": false})
	case seg[1] == "commands":
		seReply(w, 200, nonNil(f.commands))
	case seg[1] == "timers":
		seReply(w, 200, nonNil(f.timers))
	case seg[1] == "filters":
		if f.filters == nil {
			seReply(w, 200, map[string]any{"banphrases": []any{}})
			return
		}
		seReply(w, 200, f.filters)
	case seg[1] == "quotes":
		limit, offset, ok := page(r, 25, 100)
		if !ok {
			seError(w, 400, `"limit" must be less than or equal to 100`)
			return
		}
		from, to := min(offset, len(f.quotes)), min(offset+limit, len(f.quotes))
		seReply(w, 200, nonNil(f.quotes[from:to]))
	case seg[2] == "counters":
		v, ok := f.counters[seg[3]]
		if !ok {
			seError(w, 404, "Counter not found")
			return
		}
		seReply(w, 200, map[string]any{"counter": seg[3], "value": v})
	case seg[0] == "points":
		if !r.URL.Query().Has("limit") {
			seError(w, 400, `"limit" is required`)
			return
		}
		limit, offset, ok := page(r, 25, 1000)
		if !ok {
			seError(w, 400, `"limit" must be less than or equal to 1000`)
			return
		}
		from, to := min(offset, len(f.points)), min(offset+limit, len(f.points))
		users := f.points[from:to]
		if users == nil {
			users = []SEPoints{}
		}
		seReply(w, 200, map[string]any{"_total": len(f.points), "users": users})
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
