package importer

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/waddle/waddle/problem"
)

// NightbotScopes are the scopes the import asks for.
const NightbotScopes = "commands timers regulars spam_protection"

// NightbotAPI reads a channel from Nightbot's API after the streamer
// authorizes the operator's Nightbot application (OAuth 2 authorization
// code). BaseURL is the API (https://api.nightbot.tv), AuthURL the OAuth
// endpoints' base (https://api.nightbot.tv/oauth2).
type NightbotAPI struct {
	BaseURL, AuthURL       string
	ClientID, ClientSecret string
	HTTP                   *http.Client
}

func (n NightbotAPI) client() *http.Client {
	if n.HTTP != nil {
		return n.HTTP
	}
	return http.DefaultClient
}

// AuthorizeURL is where to send the streamer to allow the import.
func (n NightbotAPI) AuthorizeURL(state, redirectURI string) string {
	q := url.Values{}
	q.Set("response_type", "code")
	q.Set("client_id", n.ClientID)
	q.Set("redirect_uri", redirectURI)
	q.Set("scope", NightbotScopes)
	q.Set("state", state)
	return strings.TrimRight(n.AuthURL, "/") + "/authorize?" + q.Encode()
}

// Exchange trades the code Nightbot sent back for an access token.
func (n NightbotAPI) Exchange(ctx context.Context, code, redirectURI string) (string, error) {
	if code == "" {
		return "", problem.Invalidf("code", "Nightbot sent no authorization code back.")
	}
	form := url.Values{}
	form.Set("client_id", n.ClientID)
	form.Set("client_secret", n.ClientSecret)
	form.Set("grant_type", "authorization_code")
	form.Set("redirect_uri", redirectURI)
	form.Set("code", code)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(n.AuthURL, "/")+"/token", strings.NewReader(form.Encode()))
	if err != nil {
		return "", fmt.Errorf("nightbot token request: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := n.client().Do(req)
	if err != nil {
		return "", fmt.Errorf("nightbot token: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return "", fmt.Errorf("nightbot token: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error       string `json:"error"`
			Description string `json:"error_description"`
			Message     string `json:"message"`
		}
		json.Unmarshal(body, &e)
		switch {
		case e.Error == "invalid_client" || resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
			return "", fmt.Errorf("nightbot refused the application's client id or secret (%d %s): check NIGHTBOT_CLIENT_ID and NIGHTBOT_CLIENT_SECRET", resp.StatusCode, e.Error)
		case e.Error == "invalid_grant":
			return "", problem.New(problem.Invalid, "Nightbot refused the authorization (it was used already, expired, or came back to another address). Connect again.")
		}
		return "", fmt.Errorf("nightbot token: status %d: %s", resp.StatusCode, strings.TrimSpace(string(body)))
	}
	var t struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
	}
	if err := json.Unmarshal(body, &t); err != nil || t.AccessToken == "" {
		return "", fmt.Errorf("nightbot token: the answer has no access_token: %q", apiSnippet(body))
	}
	return t.AccessToken, nil
}

// Fetch reads the channel's commands, timers, regulars and spam filters.
func (n NightbotAPI) Fetch(ctx context.Context, accessToken string) (*Bundle, error) {
	if strings.TrimSpace(accessToken) == "" {
		return nil, problem.New(problem.Unauthorized, "There is no Nightbot access token: connect Nightbot first.")
	}
	var d nbData
	var a nbAnswer
	if err := n.get(ctx, accessToken, "/1/commands", &a); err != nil {
		return nil, err
	}
	if a.Commands == nil {
		return nil, fmt.Errorf("nightbot /1/commands: the answer has no commands list")
	}
	d.commands = *a.Commands
	a = nbAnswer{}
	if err := n.get(ctx, accessToken, "/1/timers", &a); err != nil {
		return nil, err
	}
	if a.Timers == nil {
		return nil, fmt.Errorf("nightbot /1/timers: the answer has no timers list")
	}
	d.timers = *a.Timers
	const page = 100 // the API's largest
	for offset := 0; ; offset += page {
		a = nbAnswer{}
		if err := n.get(ctx, accessToken, "/1/regulars?limit="+strconv.Itoa(page)+"&offset="+strconv.Itoa(offset), &a); err != nil {
			return nil, err
		}
		if a.Regulars == nil {
			return nil, fmt.Errorf("nightbot /1/regulars: the answer has no regulars list")
		}
		d.regulars = append(d.regulars, *a.Regulars...)
		if len(*a.Regulars) < page || (a.Total != nil && len(d.regulars) >= *a.Total) || len(d.regulars) >= MaxViewers {
			break
		}
	}
	a = nbAnswer{}
	if err := n.get(ctx, accessToken, "/1/spam_protection", &a); err != nil {
		return nil, err
	}
	if a.Filters != nil {
		d.filters = *a.Filters
	}
	return d.bundle(), nil
}

func (n NightbotAPI) get(ctx context.Context, token, path string, into any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(n.BaseURL, "/")+path, nil)
	if err != nil {
		return fmt.Errorf("nightbot %s: %w", path, err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "application/json")
	resp, err := n.client().Do(req)
	if err != nil {
		return fmt.Errorf("nightbot %s: %w", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxCommandsBytes+1))
	if err != nil {
		return fmt.Errorf("nightbot %s: %w", path, err)
	}
	switch {
	case resp.StatusCode == http.StatusUnauthorized:
		return problem.New(problem.Unauthorized, "Nightbot refused the access token (it expired or was revoked): connect Nightbot again.")
	case resp.StatusCode == http.StatusForbidden:
		return problem.New(problem.Forbidden, "Nightbot did not allow reading %s: connect again and allow every permission asked.", path)
	case resp.StatusCode != http.StatusOK:
		return fmt.Errorf("nightbot %s: status %d: %q", path, resp.StatusCode, apiSnippet(body))
	case len(body) > MaxCommandsBytes:
		return fmt.Errorf("nightbot %s: the answer is larger than %d bytes", path, MaxCommandsBytes)
	}
	if err := json.Unmarshal(body, into); err != nil {
		return fmt.Errorf("nightbot %s: the answer is not Nightbot's JSON: %w (%q)", path, err, apiSnippet(body))
	}
	return nil
}

// apiSnippet is the start of an answer, for an error message.
func apiSnippet(body []byte) string {
	s := string(body)
	if len(s) > 120 {
		s = s[:120] + "…"
	}
	return s
}
