package importtest_test

import (
	"net/http"
	"testing"

	"github.com/waddle/waddle/importer/importtest"
)

func get(t *testing.T, url, auth string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// The fakes refuse what the real APIs refuse.
func TestRefusals(t *testing.T) {
	se := importtest.StartStreamElements(t)
	nb := importtest.StartNightbot(t)
	other := se.IssueFor("0123456789abcdef01234567")
	cases := []struct {
		name, url, auth string
		want            int
	}{
		{"se no token", se.URL() + "/channels/me", "", 401},
		{"se not bearer", se.URL() + "/channels/me", se.Token(), 401},
		{"se good", se.URL() + "/channels/me", "Bearer " + se.Token(), 200},
		{"se other channel", se.URL() + "/bot/commands/" + se.Channel, "Bearer " + other, 403},
		{"se points page too large", se.URL() + "/points/" + se.Channel + "/top?limit=1001&offset=0", "Bearer " + se.Token(), 400},
		{"se points without limit", se.URL() + "/points/" + se.Channel + "/top", "Bearer " + se.Token(), 400},
		{"se points", se.URL() + "/points/" + se.Channel + "/top?limit=1000&offset=0", "Bearer " + se.Token(), 200},
		{"se unknown counter", se.URL() + "/bot/" + se.Channel + "/counters/nope", "Bearer " + se.Token(), 404},
		{"se quotes page too large", se.URL() + "/bot/quotes/" + se.Channel + "?limit=101", "Bearer " + se.Token(), 400},
		{"nb no token", nb.URL() + "/1/commands", "", 401},
		{"nb unknown token", nb.URL() + "/1/commands", "Bearer abc", 401},
	}
	for _, c := range cases {
		if got := get(t, c.url, c.auth); got != c.want {
			t.Errorf("%s: status %d, want %d", c.name, got, c.want)
		}
	}
}
