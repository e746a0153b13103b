package handlers_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestSignInNextStaysOnSite replays the off-site redirects found in the
// attack (a tab, a dot segment, a backslash that browsers read as "/") and
// their relatives: after sign-in, Location is a path of this site, read the
// way a browser reads it, or "/".
func TestSignInNextStaysOnSite(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.user("ann@example.com", false)
	cases := []struct {
		name, next, want string
	}{
		{"a page", "/account", "/account"},
		{"a page with a query", "/c/1/commands?edit=2&x=%2F%2Fa", "/c/1/commands?edit=2&x=%2F%2Fa"},
		{"escaped tab, kept escaped", "/%09/evil.example", "/%09/evil.example"},
		{"tab then slash", "/\t/evil.example/x", "/"},
		{"dot, backslash, slash", "/./\\/evil.example", "/"},
		{"tab then backslash", "/\t\\evil.example", "/"},
		{"newline then slash", "/\n/evil.example", "/"},
		{"carriage return then slash", "/\r/evil.example", "/"},
		{"slash backslash", "/\\evil.example", "/"},
		{"two slashes", "//evil.example", "/"},
		{"three slashes", "///evil.example", "/"},
		{"encoded slash after slash", "/%2F/evil.example", "/"},
		{"absolute URL", "https://evil.example/", "/"},
		{"scheme-relative with backslashes", "\\\\evil.example", "/"},
		{"javascript", "javascript:alert(1)", "/"},
		{"leading space", " /account", "/"},
		{"non-ASCII", "/\u3000/evil.example", "/"},
		{"DEL", "/\x7f/evil.example", "/"},
		{"empty", "", "/"},
		{"too long", "/" + strings.Repeat("a", 1000), "/"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := e.client()
			// The sign-in page carries next in its form only when it is safe.
			page := c.get("/signin?next="+url.QueryEscape(tc.next), nil)
			if got, _ := page.doc(t).Find(`input[name=next]`).Attr("value"); got != tc.want {
				t.Errorf("GET /signin?next=%q: the form's next is %q, want %q", tc.next, got, tc.want)
			}
			res := c.post("/signin", url.Values{"email": {"ann@example.com"}, "password": {testPassword}, "next": {tc.next}}, nil)
			loc := res.Header.Get("Location")
			if res.StatusCode != http.StatusSeeOther || loc != tc.want {
				t.Errorf("sign in with next=%q: %d to %q, want 303 to %q", tc.next, res.StatusCode, loc, tc.want)
			}
			// As a browser reads it: without tabs and newlines, "\" as "/".
			browser := strings.NewReplacer("\t", "", "\n", "", "\r", "", "\\", "/").Replace(loc)
			if !strings.HasPrefix(browser, "/") || strings.HasPrefix(browser, "//") {
				t.Errorf("sign in with next=%q: Location %q leaves the site", tc.next, loc)
			}
		})
	}
}
