package discord

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/waddle/waddle/identity"
	"github.com/waddle/waddle/problem"
	"github.com/waddle/waddle/runes"
)

// Discord's default endpoints for OAuth2.
const (
	discordAPI       = "https://discord.com/api/v10/"
	discordAuthorize = "https://discord.com/oauth2/authorize"
)

// oauthMaxBody bounds an answer from Discord's OAuth2 endpoints.
const oauthMaxBody = 64 << 10

// OAuth is Discord's OAuth2 authorization-code flow with the identify
// scope, with which a hub user links their own Discord account. It needs
// the application's client secret (DISCORD_CLIENT_SECRET); the bot token
// plays no part.
type OAuth struct {
	ClientID, ClientSecret string       // DISCORD_APP_ID, DISCORD_CLIENT_SECRET
	APIURL                 string       // DISCORD_API_URL; "" means https://discord.com/api/v10/
	HTTP                   *http.Client // nil: a client with a 10 s timeout
}

func (o *OAuth) api() string {
	if o.APIURL == "" {
		return discordAPI
	}
	if !strings.HasSuffix(o.APIURL, "/") {
		return o.APIURL + "/"
	}
	return o.APIURL
}

// authorizeURL is Discord's authorize page, on the API URL's host when it
// is replaced (a local server in tests).
func (o *OAuth) authorizeURL() string {
	if o.APIURL == "" {
		return discordAuthorize
	}
	u, err := url.Parse(o.APIURL)
	if err != nil {
		return discordAuthorize
	}
	return u.Scheme + "://" + u.Host + "/oauth2/authorize"
}

// IdentifyURL is where to send a hub user linking their Discord account.
// prompt=consent asks every time, so a flow started behind the user's back
// cannot complete silently.
func (o *OAuth) IdentifyURL(redirectURI, state string) string {
	q := url.Values{
		"response_type": {"code"},
		"client_id":     {o.ClientID},
		"scope":         {"identify"},
		"redirect_uri":  {redirectURI},
		"state":         {state},
		"prompt":        {"consent"},
	}
	return o.authorizeURL() + "?" + q.Encode()
}

type discordToken struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	Scope       string `json:"scope"`
}

type discordOAuthError struct {
	Error       string `json:"error"`
	Description string `json:"error_description"`
	Message     string `json:"message"`
}

type discordUser struct {
	ID       string `json:"id"`
	Username string `json:"username"`
}

// Identify trades the code for a token (POST /oauth2/token), asks whose it
// is (GET /users/@me) and revokes it: it is used once and never stored. A
// code Discord refuses, or a token without the identify scope, is a
// problem.Invalid on "code".
func (o *OAuth) Identify(ctx context.Context, code, redirectURI string) (identity.Account, error) {
	if code == "" {
		return identity.Account{}, problem.Invalidf("code", "Discord sent no authorization code back: start again.")
	}
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirectURI}}
	status, body, err := o.post(ctx, "oauth2/token", form)
	if err != nil {
		return identity.Account{}, fmt.Errorf("discord oauth2 token: %w", err)
	}
	if status >= 400 && status < 500 && status != http.StatusTooManyRequests {
		return identity.Account{}, problem.Invalidf("code", "Discord refused the sign-in (%s): start again.", oauthErrorMessage(status, body))
	}
	if status != http.StatusOK {
		return identity.Account{}, fmt.Errorf("discord oauth2 token: %s", oauthErrorMessage(status, body))
	}
	var tok discordToken
	if err := json.Unmarshal(body, &tok); err != nil {
		return identity.Account{}, fmt.Errorf("discord oauth2 token: decode: %w", err)
	}
	if tok.AccessToken == "" || !strings.EqualFold(tok.TokenType, "Bearer") {
		return identity.Account{}, fmt.Errorf("discord oauth2 token: no bearer access token in the answer (token_type %q)", tok.TokenType)
	}
	defer o.post(ctx, "oauth2/token/revoke", url.Values{"token": {tok.AccessToken}, "token_type_hint": {"access_token"}}) // best effort
	if !slices.Contains(strings.Fields(tok.Scope), "identify") {
		return identity.Account{}, problem.Invalidf("code", "Discord did not grant the identify scope (granted: %q): start again and allow it.", tok.Scope)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, o.api()+"users/@me", nil)
	if err != nil {
		return identity.Account{}, fmt.Errorf("discord users/@me request: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	status, body, err = o.do(req)
	if err != nil {
		return identity.Account{}, fmt.Errorf("discord users/@me: %w", err)
	}
	if status != http.StatusOK {
		return identity.Account{}, fmt.Errorf("discord users/@me: %s", oauthErrorMessage(status, body))
	}
	var u discordUser
	if err := json.Unmarshal(body, &u); err != nil {
		return identity.Account{}, fmt.Errorf("discord users/@me: decode: %w", err)
	}
	if u.ID == "" {
		return identity.Account{}, errors.New("discord users/@me: the answer names no user")
	}
	return identity.Account{Platform: identity.Discord, ID: u.ID, Name: u.Username}, nil
}

// post sends a form to an OAuth2 endpoint with the client's credentials in
// Basic authentication, as Discord takes them.
func (o *OAuth) post(ctx context.Context, path string, form url.Values) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, o.api()+path, strings.NewReader(form.Encode()))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(o.ClientID, o.ClientSecret)
	return o.do(req)
}

// do sends req and reads at most oauthMaxBody bytes of the answer.
func (o *OAuth) do(req *http.Request) (int, []byte, error) {
	hc := o.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: 10 * time.Second}
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, oauthMaxBody+1))
	if err != nil {
		return 0, nil, fmt.Errorf("read answer: %w", err)
	}
	if len(body) > oauthMaxBody {
		return 0, nil, fmt.Errorf("the answer is larger than %d bytes", oauthMaxBody)
	}
	return resp.StatusCode, body, nil
}

// oauthErrorMessage reads Discord's {"error","error_description"} body.
func oauthErrorMessage(status int, body []byte) string {
	var e discordOAuthError
	if json.Unmarshal(body, &e) == nil {
		switch {
		case e.Error != "" && e.Description != "":
			return runes.Truncate(e.Error+": "+e.Description, 200, "")
		case e.Error != "":
			return runes.Truncate(e.Error, 200, "")
		case e.Message != "":
			return runes.Truncate(e.Message, 200, "")
		}
	}
	return fmt.Sprintf("HTTP %d", status)
}
