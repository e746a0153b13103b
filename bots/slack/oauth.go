package slackbot

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/waddle/waddle/platform"
	"github.com/waddle/waddle/problem"
)

// BotScopes are the bot token scopes Waddle asks for when a workspace
// installs the app: reading the events it maps to router events, answering
// in channels and threads, slash commands, and user names.
var BotScopes = []string{
	"app_mentions:read", // app_mention events
	"channels:history",  // message events in public channels
	"channels:read",     // member_joined_channel in public channels
	"chat:write",        // chat.postMessage, chat.postEphemeral, chat.delete of its own messages
	"commands",          // /waddlebot
	"files:read",        // file_shared events
	"groups:history",    // message events in private channels it was invited to
	"groups:read",       // member_joined_channel in private channels
	"im:history",        // direct messages to the bot
	"reactions:read",    // reaction_added events
	"users:read",        // users.info for names; team_join events
}

// OAuth is Slack's OAuth v2 install flow.
type OAuth struct {
	ClientID, ClientSecret string
	APIURL                 string       // SLACK_API_URL; "" means "https://slack.com/api/"
	HTTP                   *http.Client // nil: 10 s timeout
}

// webAPIURL returns the Web API base URL ending in "/": apiURL, or
// Slack's own when it is empty.
func webAPIURL(apiURL string) string {
	if apiURL == "" {
		return slack.APIURL
	}
	if !strings.HasSuffix(apiURL, "/") {
		apiURL += "/"
	}
	return apiURL
}

// AuthorizeURL is where to send the installing admin's browser.
func (o *OAuth) AuthorizeURL(redirectURI, state string) string {
	base := "https://slack.com/oauth/v2/authorize"
	if o.APIURL != "" {
		base = strings.TrimSuffix(webAPIURL(o.APIURL), "api/") + "oauth/v2/authorize"
	}
	q := url.Values{
		"client_id":    {o.ClientID},
		"scope":        {strings.Join(BotScopes, ",")},
		"redirect_uri": {redirectURI},
		"state":        {state},
	}
	return base + "?" + q.Encode()
}

// Exchange trades the code Slack sent to the redirect URI for the
// workspace's bot token (oauth.v2.access). A code Slack refuses (used,
// expired, for another redirect URI) is a problem.Invalid error.
func (o *OAuth) Exchange(ctx context.Context, code, redirectURI string) (platform.Install, error) {
	if code == "" {
		return platform.Install{}, problem.Invalidf("code", "Slack sent no authorization code: the install was cancelled or refused.")
	}
	hc := o.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: 10 * time.Second}
	}
	resp, err := slack.GetOAuthV2ResponseContext(ctx, hc, o.ClientID, o.ClientSecret, code, redirectURI,
		slack.OAuthOptionAPIURL(webAPIURL(o.APIURL)))
	var se slack.SlackErrorResponse
	if errors.As(err, &se) {
		return platform.Install{}, problem.Invalidf("code", "Slack refused the install (%s): start it again from the hub.", se.Err)
	}
	if err != nil {
		return platform.Install{}, fmt.Errorf("slack oauth.v2.access: %w", err)
	}
	if resp.Team.ID == "" || resp.AccessToken == "" || resp.TokenType != "bot" {
		return platform.Install{}, fmt.Errorf("slack oauth.v2.access: no bot token for a workspace in the answer (token_type %q, team %q)", resp.TokenType, resp.Team.ID)
	}
	tok := platform.Token{Access: resp.AccessToken, Refresh: resp.RefreshToken, AccountID: resp.BotUserID}
	if resp.Scope != "" {
		tok.Scopes = strings.Split(resp.Scope, ",")
	}
	if resp.ExpiresIn > 0 {
		// Token rotation is on: the bot refreshes the token before it
		// expires, which it can only do with a refresh token.
		if resp.RefreshToken == "" {
			return platform.Install{}, problem.Invalidf("code", "Slack gave a bot token that expires in %s without a refresh token: turn token rotation off in the app's OAuth & Permissions page, or on with refresh tokens, and install again.", time.Duration(resp.ExpiresIn)*time.Second)
		}
		tok.Expires = time.Now().Add(time.Duration(resp.ExpiresIn) * time.Second)
	}
	return platform.Install{Server: resp.Team.ID, Name: resp.Team.Name, BotUserID: resp.BotUserID, Token: tok}, nil
}

// Refresh trades the refresh token of an install with token rotation on for
// a new access token and refresh token (oauth.v2.access with grant_type
// refresh_token); Slack revokes the refresh token it was given. A refresh
// token Slack refuses (revoked, used, the app uninstalled) is a
// problem.Unauthorized error: the app must be installed again.
func (o *OAuth) Refresh(ctx context.Context, refreshToken string) (platform.Token, error) {
	hc := o.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: 10 * time.Second}
	}
	resp, err := slack.RefreshOAuthV2TokenContext(ctx, hc, o.ClientID, o.ClientSecret, refreshToken,
		slack.OAuthOptionAPIURL(webAPIURL(o.APIURL)))
	var se slack.SlackErrorResponse
	if errors.As(err, &se) {
		return platform.Token{}, problem.New(problem.Unauthorized, "Slack refused to refresh the bot token (%s): install the app again from the hub.", se.Err)
	}
	if err != nil {
		return platform.Token{}, fmt.Errorf("slack oauth.v2.access refresh: %w", err)
	}
	if resp.AccessToken == "" || resp.RefreshToken == "" || resp.ExpiresIn <= 0 {
		return platform.Token{}, errors.New("slack oauth.v2.access refresh: the answer lacks an access token, refresh token or expiry")
	}
	tok := platform.Token{Access: resp.AccessToken, Refresh: resp.RefreshToken, AccountID: resp.BotUserID,
		Expires: time.Now().Add(time.Duration(resp.ExpiresIn) * time.Second)}
	if resp.Scope != "" {
		tok.Scopes = strings.Split(resp.Scope, ",")
	}
	return tok, nil
}
