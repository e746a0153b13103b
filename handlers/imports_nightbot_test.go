package handlers_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/waddle/waddle/handlers"
	"github.com/waddle/waddle/importer"
	"github.com/waddle/waddle/importer/importtest"
)

// "Connect Nightbot": the OAuth state is tied to the session and works
// once; the account's commands become an import's preview.
func TestImportNightbotConnect(t *testing.T) {
	t.Parallel()
	nb := importtest.StartNightbot(t)
	nb.SetCommands(`{"_id": "5f01", "name": "!hello", "message": "Hi $(user)!", "coolDown": 5, "count": 1, "userLevel": "everyone"}`)
	e := newEnv(t, func(c *handlers.Config) {
		c.NightbotAPI = &importer.NightbotAPI{BaseURL: nb.URL(), AuthURL: nb.AuthURL(), ClientID: importtest.NightbotClientID,
			ClientSecret: importtest.NightbotClientSecret, HTTP: http.DefaultClient}
	})
	root := e.user("root@example.com", true)
	c := e.community(root, "ducks", nil)
	nb.Redirects = []string{e.srv.URL + "/oauth/nightbot/callback"} // the app's registered redirect URI
	mgr := e.signedIn("root@example.com")
	if mgr.get(fmt.Sprintf("/c/%d/imports/new/nightbot", c.ID), nil).doc(t).Find(`[data-testid=nightbot-connect]`).Length() != 1 {
		t.Fatal("no Connect Nightbot with an app configured")
	}
	res := mgr.get(fmt.Sprintf("/c/%d/imports/nightbot/connect", c.ID), nil)
	if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), nb.AuthURL()) {
		t.Fatalf("connect: %d %q", res.StatusCode, res.Header.Get("Location"))
	}
	req, _ := http.NewRequest("GET", res.Header.Get("Location"), nil)
	back, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	back.Body.Close()
	callback := strings.TrimPrefix(back.Header.Get("Location"), e.srv.URL)
	if !strings.HasPrefix(callback, "/oauth/nightbot/callback?") {
		t.Fatalf("Nightbot sent the browser to %q", back.Header.Get("Location"))
	}
	id := importOf(t, mgr.get(callback, nil))
	pv := mgr.get(fmt.Sprintf("/c/%d/imports/%d", c.ID, id), nil).doc(t)
	if !strings.Contains(pv.Find(`[data-testid=import-category-command]`).Text(), "Hi {user}!") {
		t.Errorf("preview: %s", pv.Find("main").Text())
	}
	if res := mgr.get(callback, nil); res.StatusCode != http.StatusBadRequest {
		t.Errorf("the same state twice: %d", res.StatusCode)
	}
	if res := e.signedIn("root@example.com").get(callback, nil); res.StatusCode != http.StatusBadRequest {
		t.Errorf("another session's state: %d", res.StatusCode)
	}
	if n := e.count("SELECT count(*) FROM imports"); n != 1 {
		t.Errorf("%d imports, want 1", n)
	}
}
