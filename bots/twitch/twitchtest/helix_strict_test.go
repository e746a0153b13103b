package twitchtest_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/waddle/waddle/bots/twitch/twitchtest"
)

// do sends one request to the fake and returns its status and JSON body.
func do(t *testing.T, method, url, auth, body string) (int, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	req.Header.Set("Client-Id", twitchtest.ClientID)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	data, _ := io.ReadAll(resp.Body)
	if len(data) > 0 {
		if err := json.Unmarshal(data, &out); err != nil {
			t.Fatalf("%s %s: answer %q is not JSON: %v", method, url, data, err)
		}
	}
	return resp.StatusCode, out
}

// TestHelixRefusesWhatTwitchRefuses: each case is a call Twitch's reference
// refuses, with the status and message it answers; the fake used to accept
// every one of them.
func TestHelixRefusesWhatTwitchRefuses(t *testing.T) {
	t.Parallel()
	api := twitchtest.StartAPI(t)
	api.AddToken("noscope-1", "", "400", "plainuser", "chat:read")
	h := api.HelixURL()
	long := strings.Repeat("é", 501)
	cases := []struct {
		name, method, path, auth, body string
		wantStatus                     int
		wantMessage                    string // a part of it
	}{
		{"ban with the app token", "POST", "/moderation/bans?broadcaster_id=200&moderator_id=200", "Bearer app-1",
			`{"data":{"user_id":"300"}}`, 401, "user access token"},
		{"delete with the app token", "DELETE", "/moderation/chat?broadcaster_id=200&moderator_id=200", "Bearer app-1", "", 401, "user access token"},
		{"whisper with the app token", "POST", "/whispers?from_user_id=100&to_user_id=300", "Bearer app-1", `{"message":"hi"}`, 401, "user access token"},
		{"webhook subscription with a user token", "POST", "/eventsub/subscriptions", "Bearer caster-1",
			`{"type":"stream.online","version":"1","condition":{"broadcaster_user_id":"200"},"transport":{"method":"webhook","callback":"https://example.com/cb","secret":"0123456789"}}`,
			401, "app access token"},
		{"ban without the scope", "POST", "/moderation/bans?broadcaster_id=200&moderator_id=400", "Bearer noscope-1",
			`{"data":{"user_id":"300"}}`, 401, "Missing scope: moderator:manage:banned_users"},
		{"delete without the scope", "DELETE", "/moderation/chat?broadcaster_id=200&moderator_id=400", "Bearer noscope-1", "", 401, "Missing scope: moderator:manage:chat_messages"},
		{"whisper without the scope", "POST", "/whispers?from_user_id=400&to_user_id=300", "Bearer noscope-1", `{"message":"hi"}`, 401, "Missing scope: user:manage:whispers"},
		{"ban as another moderator", "POST", "/moderation/bans?broadcaster_id=200&moderator_id=100", "Bearer caster-1",
			`{"data":{"user_id":"300"}}`, 401, "moderator_id must match"},
		{"delete as another moderator", "DELETE", "/moderation/chat?broadcaster_id=200&moderator_id=100", "Bearer caster-1", "", 401, "moderator_id must match"},
		{"whisper from another user", "POST", "/whispers?from_user_id=200&to_user_id=300", "Bearer bot-1", `{"message":"hi"}`, 401, "from_user_id must match"},
		{"ban without the data wrapper", "POST", "/moderation/bans?broadcaster_id=200&moderator_id=200", "Bearer caster-1",
			`{"user_id":"300","duration":60}`, 400, "data"},
		{"ban without a user", "POST", "/moderation/bans?broadcaster_id=200&moderator_id=200", "Bearer caster-1", `{"data":{"reason":"x"}}`, 400, "user_id"},
		{"timeout of 0 seconds", "POST", "/moderation/bans?broadcaster_id=200&moderator_id=200", "Bearer caster-1",
			`{"data":{"user_id":"300","duration":0}}`, 400, "duration"},
		{"timeout over two weeks", "POST", "/moderation/bans?broadcaster_id=200&moderator_id=200", "Bearer caster-1",
			`{"data":{"user_id":"300","duration":1209601}}`, 400, "duration"},
		{"reason over 500 characters", "POST", "/moderation/bans?broadcaster_id=200&moderator_id=200", "Bearer caster-1",
			`{"data":{"user_id":"300","reason":"` + long + `"}}`, 400, "reason"},
		{"ban without a broadcaster", "POST", "/moderation/bans?moderator_id=200", "Bearer caster-1", `{"data":{"user_id":"300"}}`, 400, "broadcaster_id"},
		{"whisper without a message", "POST", "/whispers?from_user_id=100&to_user_id=300", "Bearer bot-1", `{}`, 400, "message"},
		{"whisper to oneself", "POST", "/whispers?from_user_id=100&to_user_id=100", "Bearer bot-1", `{"message":"hi"}`, 400, "to_user_id"},
		{"a revoked token", "GET", "/users?login=duckchan", "Bearer gone-1", "", 401, "Invalid OAuth token"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, body := do(t, c.method, h+c.path, c.auth, c.body)
			msg, _ := body["message"].(string)
			if status != c.wantStatus || !strings.Contains(msg, c.wantMessage) || body["status"] != float64(c.wantStatus) {
				t.Errorf("answer %d %v, want %d with a message containing %q", status, body, c.wantStatus, c.wantMessage)
			}
		})
	}
	if n := len(api.Find("POST", "/helix/whispers")); n != 5 {
		t.Errorf("%d whisper calls recorded, want every refused one", n)
	}
}

// TestHelixTakesWhatTwitchTakes: the bounds themselves are accepted, and a
// ban answers with Twitch's shape.
func TestHelixTakesWhatTwitchTakes(t *testing.T) {
	t.Parallel()
	api := twitchtest.StartAPI(t)
	h := api.HelixURL()
	for _, body := range []string{
		`{"data":{"user_id":"300","duration":1}}`,
		`{"data":{"user_id":"300","duration":1209600,"reason":"` + strings.Repeat("é", 500) + `"}}`,
		`{"data":{"user_id":"300"}}`,
	} {
		status, out := do(t, "POST", h+"/moderation/bans?broadcaster_id=200&moderator_id=200", "Bearer caster-1", body)
		data, _ := out["data"].([]any)
		if status != 200 || len(data) != 1 {
			t.Errorf("ban %s: %d %v", body[:40], status, out)
		}
	}
	if status, out := do(t, "POST", h+"/whispers?from_user_id=100&to_user_id=300", "Bearer bot-1", `{"message":"hi"}`); status != 204 {
		t.Errorf("whisper: %d %v", status, out)
	}
}

func TestGetUsersLeavesOutUnknownLogins(t *testing.T) {
	t.Parallel()
	api := twitchtest.StartAPI(t)
	h := api.HelixURL()
	logins := func(out map[string]any) []string {
		var got []string
		data, _ := out["data"].([]any)
		for _, d := range data {
			u, _ := d.(map[string]any)
			got = append(got, u["login"].(string)+"="+u["id"].(string))
		}
		return got
	}
	status, out := do(t, "GET", h+"/users?login=nobodyhere", "Bearer app-1", "")
	if data, ok := out["data"].([]any); status != 200 || !ok || len(data) != 0 {
		t.Errorf("unknown login: %d %v, want 200 with empty data", status, out)
	}
	_, out = do(t, "GET", h+"/users?login=duckchan&login=nobodyhere&login=gooschan", "Bearer app-1", "")
	if diff := cmp.Diff([]string{"duckchan=200", "gooschan=300"}, logins(out)); diff != "" {
		t.Errorf("logins (-want +got):\n%s", diff)
	}
	_, out = do(t, "GET", h+"/users", "Bearer bot-1", "")
	if diff := cmp.Diff([]string{"duckbot=100"}, logins(out)); diff != "" {
		t.Errorf("a user token without login (-want +got):\n%s", diff)
	}
	if status, _ := do(t, "GET", h+"/users", "Bearer app-1", ""); status != 400 {
		t.Errorf("the app token without login: %d, want 400", status)
	}
}

func TestValidateAnswersLikeTwitch(t *testing.T) {
	t.Parallel()
	api := twitchtest.StartAPI(t)
	api.AddToken("caster-7", "caster-r7", "700", "otherchan", "bits:read")
	v := api.AuthURL() + "/validate"

	status, out := do(t, "GET", v, "OAuth caster-7", "")
	want := map[string]any{"client_id": twitchtest.ClientID, "login": "otherchan", "user_id": "700", "scopes": []any{"bits:read"}, "expires_in": float64(14000)}
	if diff := cmp.Diff(want, out); status != 200 || diff != "" {
		t.Errorf("valid token: %d (-want +got):\n%s", status, diff)
	}
	status, out = do(t, "GET", v, "OAuth app-1", "")
	if status != 200 || out["client_id"] != twitchtest.ClientID || out["login"] != nil {
		t.Errorf("app token: %d %v, want the client id and no user", status, out)
	}

	api.AddRefresh("caster-r7", "caster-8", "caster-r8")
	api.Revoke("caster-7")
	status, out = do(t, "GET", v, "OAuth caster-7", "")
	if diff := cmp.Diff(map[string]any{"status": float64(401), "message": "invalid access token"}, out); status != 401 || diff != "" {
		t.Errorf("revoked token: %d (-want +got):\n%s", status, diff)
	}
	if status, _ := do(t, "GET", api.HelixURL()+"/users?login=otherchan", "Bearer caster-7", ""); status != 401 {
		t.Errorf("Helix with a revoked token: %d, want 401", status)
	}
	req, _ := http.NewRequest("POST", api.AuthURL()+"/token", strings.NewReader("grant_type=refresh_token&refresh_token=caster-r7&client_id=cid&client_secret=csecret"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Errorf("refreshing a revoked grant: %d, want 400", resp.StatusCode)
	}
	if status, _ := do(t, "GET", v, "", ""); status != 401 {
		t.Errorf("validate without a token: %d, want 401", status)
	}
}
