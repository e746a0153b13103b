package twitch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/waddle/waddle/platform"
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

// BroadcasterScopes are what a channel owner grants when linking a
// channel: the EventSub subscriptions (follows, subscriptions, cheers, bans)
// and moderation in their name when the bot account is not a moderator.
var BroadcasterScopes = []string{
	"moderator:read:followers",       // channel.follow v2
	"channel:read:subscriptions",     // channel.subscribe, channel.subscription.gift
	"bits:read",                      // channel.cheer
	"channel:moderate",               // channel.ban
	"moderator:manage:banned_users",  // timeouts and bans
	"moderator:manage:chat_messages", // deleting a message
	ChattersScope,                    // viewer tracking: who is in chat
	"channel:bot",                    // the bot account reads and sends chat here over EventSub and Helix
}

// BotScopes are what the bot account grants: chat, whispers, and
// moderation in the channels where it is a moderator.
var BotScopes = []string{
	"chat:read",
	"chat:edit",
	"user:read:chat",  // channel.chat.message over EventSub
	"user:write:chat", // Helix POST /chat/messages
	"user:bot",        // Helix chat with the app token: Twitch's chat-bot badge
	"user:manage:whispers",
	"moderator:manage:banned_users",
	"moderator:manage:chat_messages",
	ChattersScope, // viewer tracking, where the bot moderates
}

// OAuth talks to Twitch's OAuth server (authorization-code flow, refresh, app tokens).
type OAuth struct {
	ClientID, ClientSecret string
	AuthURL                string       // TWITCH_AUTH_URL; "" means TwitchAuthURL
	APIURL                 string       // TWITCH_API_URL; "" means TwitchAPIURL
	HTTP                   *http.Client // nil: a client with a 10 s timeout
}

func (o *OAuth) authURL() string {
	if o.AuthURL == "" {
		return TwitchAuthURL
	}
	return strings.TrimSuffix(o.AuthURL, "/")
}

// API is the Helix base URL.
func (o *OAuth) API() string {
	if o.APIURL == "" {
		return TwitchAPIURL
	}
	return strings.TrimSuffix(o.APIURL, "/")
}

// Client is the HTTP client used for Twitch.
func (o *OAuth) Client() *http.Client {
	if o.HTTP == nil {
		return &http.Client{Timeout: 10 * time.Second}
	}
	return o.HTTP
}

// AuthorizeURL is where to send a user to grant scopes; Twitch sends them
// back to redirectURI with code and state. force_verify makes Twitch ask
// every time, so a flow started behind the user's back cannot complete
// silently.
func (o *OAuth) AuthorizeURL(redirectURI, state string, scopes []string) string {
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
func (o *OAuth) Exchange(ctx context.Context, code, redirectURI string) (platform.Token, error) {
	if code == "" {
		return platform.Token{}, problem.Invalidf("code", "Twitch sent no authorization code back: start the connection again.")
	}
	tok, err := o.token(ctx, url.Values{
		"grant_type":   {"authorization_code"},
		"code":         {code},
		"redirect_uri": {redirectURI},
	}, func(msg string) error {
		return problem.Invalidf("code", "Twitch refused the authorization code (%s): start the connection again.", msg)
	})
	if err != nil {
		return platform.Token{}, err
	}
	return o.validate(ctx, tok)
}

// Refresh trades a refresh token for a new token and fills in its account. A
// refresh token Twitch refuses (revoked, password changed) is a
// problem.Unauthorized: the account must be connected again.
func (o *OAuth) Refresh(ctx context.Context, refreshToken string) (platform.Token, error) {
	if refreshToken == "" {
		return platform.Token{}, problem.New(problem.Unauthorized, "The Twitch token has no refresh token: connect the account again in the hub.")
	}
	tok, err := o.token(ctx, url.Values{
		"grant_type":    {"refresh_token"},
		"refresh_token": {refreshToken},
	}, func(msg string) error {
		return problem.New(problem.Unauthorized, "Twitch refused the refresh token (%s): connect the account again in the hub.", msg)
	})
	if err != nil {
		return platform.Token{}, err
	}
	return o.validate(ctx, tok)
}

// AppToken gets an app access token (client credentials), which EventSub
// webhook subscriptions are made with.
func (o *OAuth) AppToken(ctx context.Context) (platform.Token, error) {
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
func (o *OAuth) token(ctx context.Context, form url.Values, refused func(msg string) error) (platform.Token, error) {
	form.Set("client_id", o.ClientID)
	form.Set("client_secret", o.ClientSecret)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, o.authURL()+"/token", strings.NewReader(form.Encode()))
	if err != nil {
		return platform.Token{}, fmt.Errorf("twitch token request: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	status, body, err := o.do(req)
	if err != nil {
		return platform.Token{}, fmt.Errorf("twitch token (%s): %w", form.Get("grant_type"), err)
	}
	if status >= 400 && status < 500 && status != http.StatusTooManyRequests {
		return platform.Token{}, refused(twitchErrorMessage(status, body))
	}
	if status != http.StatusOK {
		return platform.Token{}, fmt.Errorf("twitch token (%s): %s", form.Get("grant_type"), twitchErrorMessage(status, body))
	}
	var r twitchTokenResponse
	if err := json.Unmarshal(body, &r); err != nil {
		return platform.Token{}, fmt.Errorf("twitch token (%s): decode: %w", form.Get("grant_type"), err)
	}
	if r.AccessToken == "" {
		return platform.Token{}, fmt.Errorf("twitch token (%s): the answer has no access_token", form.Get("grant_type"))
	}
	tok := platform.Token{Access: r.AccessToken, Refresh: r.RefreshToken, Scopes: r.Scope}
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

// errTokenRefused is Validate's answer for a token Twitch does not accept
// (revoked, expired, or its account's password changed).
var errTokenRefused = problem.New(problem.Unauthorized, "Twitch no longer accepts the token: connect the account again.")

// TokenInfo is what Twitch's validate endpoint says about a token.
type TokenInfo struct {
	ClientID, Login, UserID string
	Scopes                  []string
	Expires                 time.Time // zero: does not expire
}

// Validate asks {AuthURL}/validate about an access token, as Twitch requires
// of apps when they start and hourly after. A token Twitch refuses (401)
// is errTokenRefused; other failures are errors to try again later.
func (o *OAuth) Validate(ctx context.Context, access string) (TokenInfo, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, o.authURL()+"/validate", nil)
	if err != nil {
		return TokenInfo{}, fmt.Errorf("twitch validate request: %w", err)
	}
	req.Header.Set("Authorization", "OAuth "+access)
	status, body, err := o.do(req)
	if err != nil {
		return TokenInfo{}, fmt.Errorf("twitch validate: %w", err)
	}
	if status == http.StatusUnauthorized {
		return TokenInfo{}, errTokenRefused
	}
	if status != http.StatusOK {
		return TokenInfo{}, fmt.Errorf("twitch validate: %s", twitchErrorMessage(status, body))
	}
	var v twitchValidateResponse
	if err := json.Unmarshal(body, &v); err != nil {
		return TokenInfo{}, fmt.Errorf("twitch validate: decode: %w", err)
	}
	info := TokenInfo{ClientID: v.ClientID, Login: strings.ToLower(v.Login), UserID: v.UserID, Scopes: v.Scopes}
	if v.ExpiresIn > 0 {
		info.Expires = time.Now().Add(time.Duration(v.ExpiresIn) * time.Second)
	}
	return info, nil
}

// validate fills tok's account from {AuthURL}/validate.
func (o *OAuth) validate(ctx context.Context, tok platform.Token) (platform.Token, error) {
	v, err := o.Validate(ctx, tok.Access)
	if errors.Is(err, errTokenRefused) {
		return platform.Token{}, problem.New(problem.Unauthorized, "Twitch says the new token is not valid: connect the account again.")
	}
	if err != nil {
		return platform.Token{}, err
	}
	if v.UserID == "" || v.Login == "" {
		return platform.Token{}, fmt.Errorf("twitch validate: the answer names no user")
	}
	tok.AccountID, tok.AccountLogin = v.UserID, v.Login
	if v.Scopes != nil {
		tok.Scopes = v.Scopes
	}
	if !v.Expires.IsZero() {
		tok.Expires = v.Expires
	}
	return tok, nil
}

// do sends req and reads at most twitchMaxBody bytes of the answer.
func (o *OAuth) do(req *http.Request) (int, []byte, error) {
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

// ChannelURL is AuthorizeURL with the scopes a linked broadcaster's channel needs.
func (o *OAuth) ChannelURL(redirectURI, state string) string {
	return o.AuthorizeURL(redirectURI, state, BroadcasterScopes)
}

// BotURL is AuthorizeURL with the scopes the bot's own chat account needs.
func (o *OAuth) BotURL(redirectURI, state string) string {
	return o.AuthorizeURL(redirectURI, state, BotScopes)
}
