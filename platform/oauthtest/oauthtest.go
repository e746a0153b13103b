// Package oauthtest is the authorization-code grant (RFC 6749 section 4.1)
// as OAuth servers run it, for the local platform fakes (twitchtest,
// discordtest, slacktest) to wrap in each platform's own endpoints and
// answer shapes. It refuses what the real servers refuse: an unknown
// client, a wrong client secret, a redirect URI that is not registered or
// differs from the authorization request's, a code that is unknown, used
// (which also revokes the tokens it gave) or expired.
package oauthtest

import (
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"slices"
	"sync"
	"time"
)

// User is the account signed in at the platform's authorize page.
type User struct {
	ID, Name string
}

// Grant is what a code or token stands for.
type Grant struct {
	User     User
	Scopes   []string
	Redirect string
}

// Errors Exchange answers, as RFC 6749 section 5.2 names them.
const (
	InvalidClient = "invalid_client"
	InvalidGrant  = "invalid_grant"
)

// Server holds the codes and tokens of one OAuth application. Its methods
// are safe for concurrent use.
type Server struct {
	ClientID, ClientSecret string
	Redirects              []string      // the registered redirect URIs
	CodeTTL                time.Duration // 0: ten minutes

	mu      sync.Mutex
	user    User
	deny    string              // the error the authorize page answers with; "": consent
	grantAs []string            // the scopes granted, when not what was asked
	codes   map[string]*code    // issued codes
	tokens  map[string]Grant    // live access tokens
	byCode  map[string][]string // code → the tokens it gave
	revoked map[string]bool
	issued  []string
}

type code struct {
	Grant
	used    bool
	expires time.Time
}

func (s *Server) init() {
	if s.codes == nil {
		s.codes, s.tokens, s.byCode, s.revoked = map[string]*code{}, map[string]Grant{}, map[string][]string{}, map[string]bool{}
	}
}

// SignIn makes u the account that consents at the authorize page.
func (s *Server) SignIn(u User) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.user, s.deny = u, ""
}

// Deny makes the authorize page answer with error (e.g. access_denied), as
// when the user cancels.
func (s *Server) Deny(error string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.deny = error
}

// GrantScopes makes the next codes grant these scopes instead of the ones
// asked for (a user unticking one, where the platform allows it).
func (s *Server) GrantScopes(scopes []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.grantAs = scopes
}

// Expire makes every code issued so far expired.
func (s *Server) Expire() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.codes {
		c.expires = time.Now().Add(-time.Second)
	}
}

// Authorize answers the authorize page: the URL to send the browser back to
// (the redirect URI with code and state, or error and state), or ok false
// with why when the request itself is bad (a real server shows an error
// page and sends the browser nowhere).
func (s *Server) Authorize(q url.Values, scopes []string) (redirect string, problem string, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.init()
	switch {
	case q.Get("client_id") != s.ClientID:
		return "", "unknown client_id", false
	case !slices.Contains(s.Redirects, q.Get("redirect_uri")):
		return "", "redirect_uri is not registered for this application", false
	case q.Get("response_type") != "code":
		return "", "response_type must be code", false
	}
	back, err := url.Parse(q.Get("redirect_uri"))
	if err != nil {
		return "", "bad redirect_uri", false
	}
	v := back.Query()
	if q.Has("state") {
		v.Set("state", q.Get("state"))
	}
	if s.deny != "" {
		v.Set("error", s.deny)
		v.Set("error_description", "The user denied you access")
		back.RawQuery = v.Encode()
		return back.String(), "", true
	}
	if s.user.ID == "" {
		return "", "nobody is signed in (call SignIn)", false
	}
	if s.grantAs != nil {
		scopes = s.grantAs
	}
	ttl := s.CodeTTL
	if ttl == 0 {
		ttl = 10 * time.Minute
	}
	c := random()
	s.codes[c] = &code{Grant: Grant{User: s.user, Scopes: slices.Clone(scopes), Redirect: q.Get("redirect_uri")}, expires: time.Now().Add(ttl)}
	v.Set("code", c)
	back.RawQuery = v.Encode()
	return back.String(), "", true
}

// Why a code was refused (Exchange's reason).
const (
	UnknownCode   = "unknown code"
	UsedCode      = "used code"
	ExpiredCode   = "expired code"
	OtherRedirect = "redirect_uri differs from the authorization request's"
	WrongClient   = "wrong client_id or client_secret"
)

// Exchange trades a code for an access token, or answers the RFC 6749
// error (InvalidClient or InvalidGrant) and the reason.
func (s *Server) Exchange(clientID, clientSecret, c, redirect string) (tok string, g Grant, error, reason string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.init()
	if clientID != s.ClientID || clientSecret != s.ClientSecret {
		return "", Grant{}, InvalidClient, WrongClient
	}
	cd, ok := s.codes[c]
	switch {
	case !ok:
		return "", Grant{}, InvalidGrant, UnknownCode
	case cd.used:
		// A code used twice may have been stolen: what it gave is revoked.
		for _, t := range s.byCode[c] {
			s.revoked[t] = true
			delete(s.tokens, t)
		}
		return "", Grant{}, InvalidGrant, UsedCode
	case time.Now().After(cd.expires):
		return "", Grant{}, InvalidGrant, ExpiredCode
	case cd.Redirect != redirect:
		return "", Grant{}, InvalidGrant, OtherRedirect
	}
	cd.used = true
	t := random()
	s.tokens[t] = cd.Grant
	s.byCode[c] = append(s.byCode[c], t)
	s.issued = append(s.issued, t)
	return t, cd.Grant, "", ""
}

// Token says what a live access token stands for.
func (s *Server) Token(t string) (Grant, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, ok := s.tokens[t]
	return g, ok
}

// Revoke ends an access token.
func (s *Server) Revoke(t string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.init()
	if _, ok := s.tokens[t]; ok {
		s.revoked[t] = true
		delete(s.tokens, t)
	}
}

// Issued lists the access tokens given.
func (s *Server) Issued() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.issued)
}

// Live counts the access tokens given and not revoked.
func (s *Server) Live() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.tokens)
}

func random() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}
