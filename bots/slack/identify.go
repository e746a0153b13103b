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

	"github.com/waddle/waddle/identity"
	"github.com/waddle/waddle/problem"
)

// IdentityScopes are what Sign in with Slack asks for: who the user is.
var IdentityScopes = []string{"openid", "profile"}

// IdentifyURL is where to send a hub user linking their own Slack account:
// Sign in with Slack (OpenID Connect).
func (o *OAuth) IdentifyURL(redirectURI, state string) string {
	base := "https://slack.com/openid/connect/authorize"
	if o.APIURL != "" {
		base = strings.TrimSuffix(webAPIURL(o.APIURL), "api/") + "openid/connect/authorize"
	}
	q := url.Values{
		"response_type": {"code"},
		"client_id":     {o.ClientID},
		"scope":         {strings.Join(IdentityScopes, " ")},
		"redirect_uri":  {redirectURI},
		"state":         {state},
		"nonce":         {state},
	}
	return base + "?" + q.Encode()
}

// Identify trades the code for a user token (openid.connect.token), asks
// who it belongs to (openid.connect.userInfo) and revokes it (auth.revoke):
// it is used once and never stored. A code Slack refuses is a
// problem.Invalid on "code".
func (o *OAuth) Identify(ctx context.Context, code, redirectURI string) (identity.Account, error) {
	if code == "" {
		return identity.Account{}, problem.Invalidf("code", "Slack sent no authorization code back: start again.")
	}
	hc := o.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: 10 * time.Second}
	}
	api := webAPIURL(o.APIURL)
	tok, err := slack.GetOpenIDConnectTokenContext(ctx, hc, o.ClientID, o.ClientSecret, code, redirectURI, slack.OAuthOptionAPIURL(api))
	var se slack.SlackErrorResponse
	if errors.As(err, &se) {
		return identity.Account{}, problem.Invalidf("code", "Slack refused the sign-in (%s): start again.", se.Err)
	}
	if err != nil {
		return identity.Account{}, fmt.Errorf("slack openid.connect.token: %w", err)
	}
	if tok.AccessToken == "" {
		return identity.Account{}, errors.New("slack openid.connect.token: the answer has no access_token")
	}
	c := slack.New(tok.AccessToken, slack.OptionAPIURL(api), slack.OptionHTTPClient(hc))
	defer c.SendAuthRevokeContext(ctx, "") // best effort: it was never stored
	info, err := c.GetOpenIDConnectUserInfoContext(ctx)
	if errors.As(err, &se) {
		return identity.Account{}, problem.Invalidf("code", "Slack would not say who signed in (%s): start again.", se.Err)
	}
	if err != nil {
		return identity.Account{}, fmt.Errorf("slack openid.connect.userInfo: %w", err)
	}
	if info.UserID == "" {
		return identity.Account{}, errors.New("slack openid.connect.userInfo: the answer names no user")
	}
	return identity.Account{Platform: identity.Slack, ID: info.UserID, Name: info.Name}, nil
}
