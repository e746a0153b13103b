package importer

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/waddle/waddle/problem"
)

// StreamElementsAPI reads a channel from StreamElements' API with the
// account's JWT (the dashboard shows it under "Show secrets"). BaseURL is
// the API's v2 root (https://api.streamelements.com/kappa/v2).
type StreamElementsAPI struct {
	BaseURL string
	HTTP    *http.Client
	// Now is the clock the token's expiry is checked against; nil: time.Now.
	Now func() time.Time
}

// sePointsPage is how many balances one request asks for: the API's
// largest.
const sePointsPage = 1000

var seChannelID = regexp.MustCompile(`^[0-9a-f]{24}$`)

// seClaims are the JWT claims the import reads. The signature is not
// checked here (only StreamElements can); the API refuses a forged token.
type seClaims struct {
	Channel string   `json:"channel"`
	Exp     *float64 `json:"exp"`
}

// seTokenChannel reads the channel id from a StreamElements JWT.
func (s StreamElementsAPI) seTokenChannel(jwt string) (string, error) {
	jwt = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(jwt), "Bearer "))
	bad := func(why string) error {
		return problem.Invalidf("token", "This is not a StreamElements JWT (%s): copy it from the dashboard, Account, Channels, Show secrets.", why)
	}
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 || parts[0] == "" || parts[1] == "" || parts[2] == "" {
		return "", bad("it should be three parts separated by dots")
	}
	if len(jwt) > 8<<10 {
		return "", bad("it is too long")
	}
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return "", bad("its middle part is not base64url")
	}
	var c seClaims
	if err := json.Unmarshal(raw, &c); err != nil {
		return "", bad("its claims are not JSON")
	}
	if !seChannelID.MatchString(c.Channel) {
		return "", bad("it names no StreamElements channel")
	}
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	if c.Exp != nil {
		exp := time.Unix(int64(*c.Exp), 0)
		if now().After(exp) {
			return "", problem.Invalidf("token", "This StreamElements token expired on %s: copy the current one from the dashboard.", exp.UTC().Format("2006-01-02 15:04 MST"))
		}
	}
	return c.Channel, nil
}

// StreamElements' answers.
type seCommand struct {
	Command        string   `json:"command"`
	Reply          string   `json:"reply"`
	Aliases        []string `json:"aliases"`
	Keywords       []string `json:"keywords"`
	Regex          string   `json:"regex"`
	AccessLevel    int      `json:"accessLevel"`
	Type           string   `json:"type"`
	Cost           int64    `json:"cost"`
	Enabled        *bool    `json:"enabled"`
	EnabledOnline  *bool    `json:"enabledOnline"`
	EnabledOffline *bool    `json:"enabledOffline"`
	Cooldown       struct {
		User   int64 `json:"user"`
		Global int64 `json:"global"`
	} `json:"cooldown"`
}

type seTimer struct {
	Name      string   `json:"name"`
	Message   string   `json:"message"`
	Messages  []string `json:"messages"`
	ChatLines int      `json:"chatLines"`
	Enabled   bool     `json:"enabled"`
	Online    seWhen   `json:"online"`
	Offline   seWhen   `json:"offline"`
}

type seWhen struct {
	Enabled  bool `json:"enabled"`
	Interval int  `json:"interval"` // minutes
}

type seQuote struct {
	ID        json.RawMessage `json:"id"`
	Text      string          `json:"text"`
	Message   string          `json:"message"`
	Quote     string          `json:"quote"`
	Game      string          `json:"game"`
	CreatedAt time.Time       `json:"createdAt"`
	Username  string          `json:"username"`
	Creator   string          `json:"creator"`
}

type seQuotes struct {
	Total  *int      `json:"_total"`
	Quotes []seQuote `json:"quotes"`
	Docs   []seQuote `json:"docs"`
}

type sePoints struct {
	Total *int `json:"_total"`
	Users []struct {
		Username string `json:"username"`
		Points   int64  `json:"points"`
	} `json:"users"`
}

type seFilters struct {
	Banphrases []struct {
		Name    string   `json:"name"`
		Enabled *bool    `json:"enabled"`
		Phrases []string `json:"phrases"`
	} `json:"banphrases"`
}

// seData is everything read from StreamElements, before translation.
type seData struct {
	commands []seCommand
	timers   []seTimer
	quotes   []seQuote
	filters  seFilters
	counters map[string]int64 // by name as the source spells it
	missing  []string         // counters the API did not know
	points   sePoints
	dupes    int
}

// Fetch reads the channel the token belongs to: its commands, timers,
// quotes, the counters its replies use, banned phrases and every
// viewer's points.
func (s StreamElementsAPI) Fetch(ctx context.Context, jwt string) (*Bundle, error) {
	channel, err := s.seTokenChannel(jwt)
	if err != nil {
		return nil, err
	}
	jwt = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(jwt), "Bearer "))
	var me struct {
		ID       string `json:"_id"`
		Username string `json:"username"`
	}
	if err := s.get(ctx, jwt, "/channels/me", MaxCommandsBytes, &me); err != nil {
		return nil, err
	}
	if me.ID != channel {
		return nil, problem.Invalidf("token", "The token names channel %s but StreamElements says it belongs to %q: copy the token again.", channel, me.ID)
	}
	var d seData
	ch := url.PathEscape(channel)
	if err := s.get(ctx, jwt, "/bot/commands/"+ch, MaxCommandsBytes, &d.commands); err != nil {
		return nil, err
	}
	if err := s.get(ctx, jwt, "/bot/timers/"+ch, MaxCommandsBytes, &d.timers); err != nil {
		return nil, err
	}
	if err := s.fetchQuotes(ctx, jwt, ch, &d); err != nil {
		return nil, err
	}
	if err := s.get(ctx, jwt, "/bot/filters/"+ch, MaxCommandsBytes, &d.filters); err != nil {
		return nil, err
	}
	if err := s.fetchCounters(ctx, jwt, ch, &d); err != nil {
		return nil, err
	}
	if err := s.fetchPoints(ctx, jwt, ch, &d); err != nil {
		return nil, err
	}
	return d.bundle(), nil
}

func (s StreamElementsAPI) fetchQuotes(ctx context.Context, jwt, ch string, d *seData) error {
	const page = 100
	for offset := 0; len(d.quotes) < MaxQuotes; {
		var raw json.RawMessage
		path := "/bot/quotes/" + ch + "?limit=" + strconv.Itoa(page) + "&offset=" + strconv.Itoa(offset)
		if err := s.get(ctx, jwt, path, MaxCommandsBytes, &raw); err != nil {
			return err
		}
		var batch []seQuote
		var total *int
		if err := json.Unmarshal(raw, &batch); err != nil {
			var q seQuotes
			if err2 := json.Unmarshal(raw, &q); err2 != nil {
				return fmt.Errorf("streamelements %s: the answer is not a list of quotes: %w", path, err)
			}
			batch, total = append(q.Quotes, q.Docs...), q.Total
		}
		d.quotes = append(d.quotes, batch...)
		offset += len(batch)
		if len(batch) < page || (total != nil && offset >= *total) {
			return nil
		}
	}
	return nil
}

func (s StreamElementsAPI) fetchCounters(ctx context.Context, jwt, ch string, d *seData) error {
	d.counters = map[string]int64{}
	var names []string
	for _, c := range d.commands {
		names = append(names, seCounterRefs(c.Reply)...)
	}
	for _, t := range d.timers {
		names = append(names, seCounterRefs(t.Message)...)
		for _, m := range t.Messages {
			names = append(names, seCounterRefs(m)...)
		}
	}
	for _, name := range names {
		if _, ok := d.counters[name]; ok || len(d.counters) >= MaxCounters {
			continue
		}
		var c struct {
			Counter string `json:"counter"`
			Value   int64  `json:"value"`
		}
		err := s.get(ctx, jwt, "/bot/"+ch+"/counters/"+url.PathEscape(name), 64<<10, &c)
		var nf seNotFound
		if errors.As(err, &nf) {
			d.counters[name] = 0
			d.missing = append(d.missing, name)
			continue
		}
		if err != nil {
			return err
		}
		d.counters[name] = c.Value
	}
	return nil
}

func (s StreamElementsAPI) fetchPoints(ctx context.Context, jwt, ch string, d *seData) error {
	seen := map[string]bool{}
	for offset := 0; len(d.points.Users) < MaxViewers; {
		var p sePoints
		path := "/points/" + ch + "/top?limit=" + strconv.Itoa(sePointsPage) + "&offset=" + strconv.Itoa(offset)
		if err := s.get(ctx, jwt, path, 8<<20, &p); err != nil {
			return err
		}
		if p.Users == nil {
			return fmt.Errorf("streamelements %s: the answer has no users list", path)
		}
		for _, u := range p.Users {
			login := strings.ToLower(strings.TrimSpace(u.Username))
			if login == "" {
				continue
			}
			if seen[login] {
				d.dupes++
				continue
			}
			seen[login] = true
			u.Username = login
			d.points.Users = append(d.points.Users, u)
		}
		offset += len(p.Users)
		if len(p.Users) < sePointsPage || (p.Total != nil && offset >= *p.Total) {
			return nil
		}
	}
	return nil
}

// seNotFound is a 404 from the API.
type seNotFound struct{ path string }

func (e seNotFound) Error() string { return "streamelements " + e.path + ": not found" }

func (s StreamElementsAPI) get(ctx context.Context, jwt, path string, limit int64, into any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(s.BaseURL, "/")+path, nil)
	if err != nil {
		return fmt.Errorf("streamelements %s: %w", path, err)
	}
	req.Header.Set("Authorization", "Bearer "+jwt)
	req.Header.Set("Accept", "application/json")
	client := s.HTTP
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("streamelements %s: %w", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return fmt.Errorf("streamelements %s: %w", path, err)
	}
	switch {
	case resp.StatusCode == http.StatusUnauthorized:
		return problem.New(problem.Unauthorized, "StreamElements refused the token (it expired or was replaced): copy the current one from the dashboard.")
	case resp.StatusCode == http.StatusForbidden:
		return problem.New(problem.Forbidden, "StreamElements did not allow this token to read %s.", path)
	case resp.StatusCode == http.StatusNotFound:
		return seNotFound{path}
	case resp.StatusCode != http.StatusOK:
		return fmt.Errorf("streamelements %s: status %d: %q", path, resp.StatusCode, apiSnippet(body))
	case int64(len(body)) > limit:
		return fmt.Errorf("streamelements %s: the answer is larger than %d bytes", path, limit)
	}
	if err := json.Unmarshal(body, into); err != nil {
		return fmt.Errorf("streamelements %s: the answer is not StreamElements' JSON: %w (%q)", path, err, apiSnippet(body))
	}
	return nil
}
