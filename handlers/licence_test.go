package handlers_test

import (
	"crypto/ed25519"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/waddle/waddle/auth"
	"github.com/waddle/waddle/community"
	"github.com/waddle/waddle/workflow"
)

// The key pair that signs the test environments' licence keys.
var testLicencePublic, testLicencePrivate, _ = ed25519.GenerateKey(nil)

func TestSettingsLicence(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	root := e.user("root@example.com", true)
	admin := e.user("admin@example.com", false)
	other := e.user("other@example.com", false)
	c := e.community(root, "licensed", map[auth.User]community.Role{admin: community.Admin})
	o := e.community(root, "elsewhere", map[auth.User]community.Role{other: community.Admin})
	cl := e.signedIn("admin@example.com")
	path := fmt.Sprintf("/c/%d/settings", c.ID)

	doc := cl.get(path, nil).doc(t)
	if got := doc.Find(`[data-testid="licence-plan"]`).Text(); !strings.Contains(got, "free") {
		t.Fatalf("plan %q, want free", got)
	}
	// Bad keys: each refused beside the field, nothing stored.
	forOther, _, err := workflow.IssueLicence(testLicencePrivate, o.ID, time.Now(), 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	_, strangerPriv, _ := ed25519.GenerateKey(nil)
	forged, _, _ := workflow.IssueLicence(strangerPriv, c.ID, time.Now(), 24*time.Hour)
	for name, key := range map[string]string{"garbage": "not a key", "another community's": forOther, "forged": forged} {
		res := cl.post(path+"/licence", url.Values{"key": {key}}, nil)
		if res.StatusCode != http.StatusBadRequest {
			t.Errorf("%s key: status %d, want 400", name, res.StatusCode)
			continue
		}
		if msg := res.doc(t).Find(`[data-testid="licence-error"]`).Text(); msg == "" {
			t.Errorf("%s key: no error beside the field", name)
		}
	}
	if got := cl.get(path, nil).doc(t).Find(`[data-testid="licence-plan"]`).Text(); !strings.Contains(got, "free") {
		t.Fatalf("after refused keys the plan is %q", got)
	}
	// A good key makes it pro; removing it makes it free again.
	good, _, err := workflow.IssueLicence(testLicencePrivate, c.ID, time.Now(), 30*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if res := cl.post(path+"/licence", url.Values{"key": {good}}, nil); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("good key: status %d", res.StatusCode)
	}
	doc = cl.get(path, nil).doc(t)
	if got := doc.Find(`[data-testid="licence-plan"]`).Text(); !strings.Contains(got, "pro") {
		t.Fatalf("plan %q, want pro", got)
	}
	if strings.Contains(doc.Text(), good) {
		t.Error("the page shows the licence key itself")
	}
	if res := cl.post(path+"/licence/remove", nil, nil); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("remove: status %d", res.StatusCode)
	}
	if got := cl.get(path, nil).doc(t).Find(`[data-testid="licence-plan"]`).Text(); !strings.Contains(got, "free") {
		t.Fatalf("after removing, plan %q", got)
	}
	// Another community's admin cannot set this community's key.
	oc := e.signedIn("other@example.com")
	if res := oc.post(path+"/licence", url.Values{"key": {good}}, nil); res.StatusCode != http.StatusNotFound {
		t.Errorf("outsider: status %d, want 404", res.StatusCode)
	}
}
