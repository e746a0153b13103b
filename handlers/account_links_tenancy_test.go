package handlers_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"
)

// TestAccountLinkRoutesMatrix: every /account/links route, as a visitor
// signed out and as another hub user, leaves the owner's links alone; each
// route is in the matrix.
func TestAccountLinkRoutesMatrix(t *testing.T) {
	t.Parallel()
	var f accountFakes
	e := newEnv(t, withAccountOAuth(t, &f, accountOpts{}))
	duck := e.user("duck@example.com", false)
	goose := e.user("goose@example.com", false)
	hub := e.signedIn(duck.Email)
	linkAs(t, hub, &f, "twitch", duckTwitch)
	// The owner's flow in progress, whose state others try to use.
	f.discord.SignIn(duckDiscord)
	back := platformAuthorize(t, startLink(t, hub, "discord"))

	cases := []struct {
		method, pattern, path string
		form                  url.Values
		wantSignedOut         int
		wantOther             int // as goose
	}{
		{"GET", "/account/links/{platform}/start", "/account/links/discord/start", nil, http.StatusSeeOther, http.StatusSeeOther},
		{"GET", "/account/links/{platform}/callback", back.RequestURI(), nil, http.StatusSeeOther, http.StatusSeeOther},
		{"POST", "/account/links/{platform}/remove", "/account/links/twitch/remove", url.Values{"account": {duckTwitch.ID}}, http.StatusSeeOther, http.StatusNotFound},
	}
	covered := map[string]bool{}
	other := e.signedIn(goose.Email)
	for _, c := range cases {
		covered[c.method+" "+c.pattern] = true
		for who, as := range map[string]*client{"signed out": e.client(), "other user": other} {
			var res response
			if c.method == "GET" {
				res = as.get(c.path, nil)
			} else {
				res = as.post(c.path, c.form, nil)
			}
			want := c.wantOther
			if who == "signed out" {
				want = c.wantSignedOut
				if !strings.HasPrefix(res.Header.Get("Location"), "/signin") {
					t.Errorf("%s %s signed out: to %q, want the sign-in page", c.method, c.path, res.Header.Get("Location"))
				}
			}
			if res.StatusCode != want {
				t.Errorf("%s %s as %s: status %d, want %d", c.method, c.path, who, res.StatusCode, want)
			}
		}
	}
	if n := e.linkedCount(duck.ID); n != 1 {
		t.Errorf("duck has %d linked accounts, want the 1 untouched", n)
	}
	if n := e.linkedCount(goose.ID); n != 0 {
		t.Errorf("goose has %d linked accounts, want none", n)
	}
	// The owner's flow still finishes: others did not spend its state.
	if msg := callback(t, hub, back); !strings.Contains(msg, "is linked") {
		t.Errorf("the owner's flow after the others: flash %q", msg)
	}

	err := chi.Walk(e.srvRoutes(), func(method, pattern string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		if strings.HasPrefix(pattern, "/account/links/") && !covered[method+" "+pattern] {
			t.Errorf("route %s %s is not in the matrix", method, pattern)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
