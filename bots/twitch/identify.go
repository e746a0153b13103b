package twitch

import (
	"context"
	"net/http"
	"net/url"
	"strings"

	"github.com/waddle/waddle/identity"
)

// IdentifyURL is where to send a hub user linking their own Twitch account:
// Twitch's authorization-code flow with no scopes, which only says who they
// are.
func (o *OAuth) IdentifyURL(redirectURI, state string) string {
	return o.AuthorizeURL(redirectURI, state, nil)
}

// Identify trades the code for a token, learns the account from Twitch's
// validate endpoint, and revokes the token: it is used once and never
// stored. A code Twitch refuses is a problem.Invalid on "code".
func (o *OAuth) Identify(ctx context.Context, code, redirectURI string) (identity.Account, error) {
	tok, err := o.Exchange(ctx, code, redirectURI)
	if err != nil {
		return identity.Account{}, err
	}
	o.revoke(ctx, tok.Access)
	return identity.Account{Platform: identity.Twitch, ID: tok.AccountID, Name: tok.AccountLogin}, nil
}

// revoke asks Twitch to forget an access token ({AuthURL}/revoke). It is
// best effort: the token expires anyway, and it was never stored.
func (o *OAuth) revoke(ctx context.Context, access string) {
	form := url.Values{"client_id": {o.ClientID}, "token": {access}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, o.authURL()+"/revoke", strings.NewReader(form.Encode()))
	if err != nil {
		return
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	o.do(req)
}
