package platform

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/waddle/waddle/problem"
	"github.com/waddle/waddle/runes"
)

// Twitch's default endpoints.
const (
	TwitchAuthURL = "https://id.twitch.tv/oauth2"
	TwitchAPIURL  = "https://api.twitch.tv/helix"
)

// twitchMaxBody bounds a response from Twitch's OAuth server.
const twitchMaxBody = 64 << 10

// TwitchBroadcasterScopes are what a channel owner grants when linking a
// channel: the EventSub subscriptions (follows, subscriptions, cheers, bans)
// and moderation in their name when the bot account is not a moderator.
var TwitchBroadcasterScopes = []string{
	"moderator:read:followers",       // channel.follow v2
	"channel:read:subscriptions",     // channel.subscribe, channel.subscription.gift
	"bits:read",                      // channel.cheer
	"channel:moderate",               // channel.ban
	"moderator:manage:banned_users",  // timeouts and bans
	"moderator:manage:chat_messages", // deleting a message
}

// TwitchBotScopes are what the bot account grants: chat, whispers, and
// moderation in the channels where it is a moderator.
var TwitchBotScopes = []string{
	"chat:read",
	"chat:edit",
	"user:manage:whispers",
	"moderator:manage:banned_users",
	"moderator:manage:chat_messages",
}

// TwitchOAuth talks to Twitch's OAuth server (authorization-code flow, refresh, app tokens).
type TwitchOAuth struct {
	ClientID, ClientSecret string
	AuthURL                string       // TWITCH_AUTH_URL; "" means TwitchAuthURL
	APIURL                 string       // TWITCH_API_URL; "" means TwitchAPIURL
	HTTP                   *http.Client // nil: a client with a 10 s timeout
}

func (o *TwitchOAuth) authURL() string {
	if o.AuthURL == "" {
		return TwitchAuthURL
	}
	return strings.TrimSuffix(o.AuthURL, "/")
}

// API is the Helix base URL.
func (o *TwitchOAuth) API() string {
	if o.APIURL == "" {
		return TwitchAPIURL
	}
	return strings.TrimSuffix(o.APIURL, "/")
}

// Client is the HTTP client used for Twitch.
func (o *TwitchOAuth) Client() *http.Client {
	if o.HTTP == nil {
		return &http.Client{Timeout: 10 * time.Second}
	}
	return o.HTTP
}

// AuthorizeURL is where to send a user to grant scopes; Twitch sends them
// back to redirectURI with code and state. force_verify makes Twitch ask
// every time, so a flow started behind the user's back cannot complete
// silently.
func (o *TwitchOAuth) AuthorizeURL(redirectURI, state string, scopes []string) string {
	q := url.Values{
		"force_verify":  {"true"},
		"response_type": {"code"},
		"client_id":     {o.ClientID},
		"redirect_uri":  {redirectURI},
		"scope":         {strings.Join(scopes, " ")},
		"state":         {state},
	}
	return o.authURL() + "/authorize?" + q.Encode()
}

// Exchange trades an authorization code for a token and fills in the account
// that granted it. A code Twitch refuses is a problem.Invalid on "code".
func (o *TwitchOAuth) Exchange(ctx context.Context, code, redirectURI string) (Token, error) {
	if code == "" {
		return Token{}, problem.Invalidf("code", "Twitch sent no authorization code back: start the connection again.")
	}
	tok, err := o.token(ctx, url.Values{
		"grant_type":   {"authorization_code"},
		"code":         {code},
		"redirect_uri": {redirectURI},
	}, func(msg string) error {
		return problem.Invalidf("code", "Twitch refused the authorization code (%s): start the connection again.", msg)
	})
	if err != nil {
		return Token{}, err
	}
	return o.validate(ctx, tok)
}

// Refresh trades a refresh token for a new token and fills in its account. A
// refresh token Twitch refuses (revoked, password changed) is a
// problem.Unauthorized: the account must be connected again.
func (o *TwitchOAuth) Refresh(ctx context.Context, refreshToken string) (Token, error) {
	if refreshToken == "" {
		return Token{}, problem.New(problem.Unauthorized, "The Twitch token has no refresh token: connect the account again in the hub.")
	}
	tok, err := o.token(ctx, url.Values{
		"grant_type":    {"refresh_token"},
		"refresh_token": {refreshToken},
	}, func(msg string) error {
		return problem.New(problem.Unauthorized, "Twitch refused the refresh token (%s): connect the account again in the hub.", msg)
	})
	if err != nil {
		return Token{}, err
	}
	return o.validate(ctx, tok)
}

// AppToken gets an app access token (client credentials), which EventSub
// webhook subscriptions are made with.
func (o *TwitchOAuth) AppToken(ctx context.Context) (Token, error) {
	return o.token(ctx, url.Values{"grant_type": {"client_credentials"}}, func(msg string) error {
		return problem.New(problem.Unauthorized, "Twitch refused the app credentials (%s): check TWITCH_CLIENT_ID and TWITCH_CLIENT_SECRET.", msg)
	})
}

type twitchTokenResponse struct {
	AccessToken  string   `json:"access_token"`
	RefreshToken string   `json:"refresh_token"`
	ExpiresIn    int64    `json:"expires_in"`
	Scope        []string `json:"scope"`
}

type twitchError struct {
	Status  int    `json:"status"`
	Message string `json:"message"`
	Error   string `json:"error"`
}

// twitchErrorMessage reads Twitch's {"status","message"} error body.
func twitchErrorMessage(status int, body []byte) string {
	var e twitchError
	if json.Unmarshal(body, &e) == nil {
		if e.Message != "" {
			return runes.Truncate(e.Message, 200, "")
		}
		if e.Error != "" {
			return runes.Truncate(e.Error, 200, "")
		}
	}
	return fmt.Sprintf("HTTP %d", status)
}

// token posts a grant to {AuthURL}/token. refused builds the error for a 4xx.
func (o *TwitchOAuth) token(ctx context.Context, form url.Values, refused func(msg string) error) (Token, error) {
	form.Set("client_id", o.ClientID)
	form.Set("client_secret", o.ClientSecret)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, o.authURL()+"/token", strings.NewReader(form.Encode()))
	if err != nil {
		return Token{}, fmt.Errorf("twitch token request: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	status, body, err := o.do(req)
	if err != nil {
		return Token{}, fmt.Errorf("twitch token (%s): %w", form.Get("grant_type"), err)
	}
	if status >= 400 && status < 500 && status != http.StatusTooManyRequests {
		return Token{}, refused(twitchErrorMessage(status, body))
	}
	if status != http.StatusOK {
		return Token{}, fmt.Errorf("twitch token (%s): %s", form.Get("grant_type"), twitchErrorMessage(status, body))
	}
	var r twitchTokenResponse
	if err := json.Unmarshal(body, &r); err != nil {
		return Token{}, fmt.Errorf("twitch token (%s): decode: %w", form.Get("grant_type"), err)
	}
	if r.AccessToken == "" {
		return Token{}, fmt.Errorf("twitch token (%s): the answer has no access_token", form.Get("grant_type"))
	}
	tok := Token{Access: r.AccessToken, Refresh: r.RefreshToken, Scopes: r.Scope}
	if r.ExpiresIn > 0 {
		tok.Expires = time.Now().Add(time.Duration(r.ExpiresIn) * time.Second)
	}
	return tok, nil
}

type twitchValidateResponse struct {
	ClientID  string   `json:"client_id"`
	Login     string   `json:"login"`
	UserID    string   `json:"user_id"`
	Scopes    []string `json:"scopes"`
	ExpiresIn int64    `json:"expires_in"`
}

// validate fills tok's account from {AuthURL}/validate.
func (o *TwitchOAuth) validate(ctx context.Context, tok Token) (Token, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, o.authURL()+"/validate", nil)
	if err != nil {
		return Token{}, fmt.Errorf("twitch validate request: %w", err)
	}
	req.Header.Set("Authorization", "OAuth "+tok.Access)
	status, body, err := o.do(req)
	if err != nil {
		return Token{}, fmt.Errorf("twitch validate: %w", err)
	}
	if status == http.StatusUnauthorized {
		return Token{}, problem.New(problem.Unauthorized, "Twitch says the new token is not valid (%s): connect the account again.", twitchErrorMessage(status, body))
	}
	if status != http.StatusOK {
		return Token{}, fmt.Errorf("twitch validate: %s", twitchErrorMessage(status, body))
	}
	var v twitchValidateResponse
	if err := json.Unmarshal(body, &v); err != nil {
		return Token{}, fmt.Errorf("twitch validate: decode: %w", err)
	}
	if v.UserID == "" || v.Login == "" {
		return Token{}, fmt.Errorf("twitch validate: the answer names no user")
	}
	tok.AccountID, tok.AccountLogin = v.UserID, strings.ToLower(v.Login)
	if v.Scopes != nil {
		tok.Scopes = v.Scopes
	}
	if v.ExpiresIn > 0 {
		tok.Expires = time.Now().Add(time.Duration(v.ExpiresIn) * time.Second)
	}
	return tok, nil
}

// do sends req and reads at most twitchMaxBody bytes of the answer.
func (o *TwitchOAuth) do(req *http.Request) (int, []byte, error) {
	resp, err := o.Client().Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, twitchMaxBody+1))
	if err != nil {
		return 0, nil, fmt.Errorf("read answer: %w", err)
	}
	if len(body) > twitchMaxBody {
		return 0, nil, fmt.Errorf("the answer is larger than %d bytes", twitchMaxBody)
	}
	return resp.StatusCode, body, nil
}
