package twitchtest

import (
	"net/url"
	"slices"
)

// VIPScope is the scope Add and Remove Channel VIP need (Get VIPs takes it
// too, or channel:read:vips).
const VIPScope = "channel:manage:vips"

// vipState is each channel's VIPs and moderators, as Helix keeps them;
// API.mu guards it.
type vipState struct {
	vips     map[string][]string // broadcaster id → VIP user ids
	mods     map[string][]string // broadcaster id → moderator user ids
	slots    map[string]int      // broadcaster id → VIP slots; absent: 10
	notReady map[string]bool     // channels that have not met the requirements to add VIPs
	fail     []int               // statuses the next VIP changes answer with, in order
}

func init() {
	for _, route := range []string{"POST /channels/vips", "DELETE /channels/vips"} {
		endpoints[route] = endpoint{tokens: userToken, scope: VIPScope, self: "broadcaster_id"}
	}
	endpoints["GET /channels/vips"] = endpoint{tokens: userToken, scope: VIPScope, self: "broadcaster_id"}
}

// SetVIPs sets a channel's VIPs, as the broadcaster would by hand.
func (f *API) SetVIPs(broadcaster string, users ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.vip.vips == nil {
		f.vip.vips = map[string][]string{}
	}
	f.vip.vips[broadcaster] = append([]string{}, users...)
}

// VIPs returns a channel's VIPs.
func (f *API) VIPs(broadcaster string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string{}, f.vip.vips[broadcaster]...)
}

// SetModerators sets a channel's moderators, whom Twitch refuses to make VIPs.
func (f *API) SetModerators(broadcaster string, users ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.vip.mods == nil {
		f.vip.mods = map[string][]string{}
	}
	f.vip.mods[broadcaster] = append([]string{}, users...)
}

// SetVIPSlots sets how many VIPs a channel may have.
func (f *API) SetVIPSlots(broadcaster string, n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.vip.slots == nil {
		f.vip.slots = map[string]int{}
	}
	f.vip.slots[broadcaster] = n
}

// SetVIPsNotReady makes a channel one that has not met Twitch's
// requirements to add VIPs (425).
func (f *API) SetVIPsNotReady(broadcaster string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.vip.notReady == nil {
		f.vip.notReady = map[string]bool{}
	}
	f.vip.notReady[broadcaster] = true
}

// FailVIPs makes the next VIP changes answer these statuses (429, 500…).
func (f *API) FailVIPs(statuses ...int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.vip.fail = append(f.vip.fail, statuses...)
}

// serveVIPs answers Get VIPs, Add Channel VIP and Remove Channel VIP as
// Helix's reference says (the token checks were made by authorize); ok is
// false for other routes. f.mu is held.
func (f *API) serveVIPs(route string, q url.Values) (status int, body any, ok bool) {
	b, user := q.Get("broadcaster_id"), q.Get("user_id")
	st := &f.vip
	if st.vips == nil {
		st.vips = map[string][]string{}
	}
	switch route {
	case "GET /channels/vips":
		data := []any{}
		for _, id := range st.vips[b] {
			data = append(data, map[string]any{"user_id": id, "user_login": "user" + id, "user_name": "User" + id})
		}
		return 200, map[string]any{"data": data, "pagination": map[string]any{}}, true
	case "POST /channels/vips", "DELETE /channels/vips":
	default:
		return 0, nil, false
	}
	if b == "" || user == "" {
		status, body = helixError(400, "The broadcaster_id and user_id query parameters are required.")
		return status, body, true
	}
	if len(st.fail) > 0 {
		code := st.fail[0]
		st.fail = st.fail[1:]
		if code == 429 {
			status, body = helixError(429, "The broadcaster exceeded the number of VIP that they may add within a 10-second window.")
			return status, body, true
		}
		return code, map[string]any{"error": "Internal Server Error", "status": code, "message": ""}, true
	}
	if _, known := f.userLogin(user); !known {
		status, body = helixError(404, "The ID in user_id was not found.")
		return status, body, true
	}
	is := slices.Contains(st.vips[b], user)
	if route == "DELETE /channels/vips" {
		if !is {
			return 422, map[string]any{"error": "Unprocessable Entity", "status": 422, "message": "The user in user_id is not a VIP in the broadcaster's channel."}, true
		}
		st.vips[b] = slices.DeleteFunc(st.vips[b], func(v string) bool { return v == user })
		return 204, nil, true
	}
	slots, set := st.slots[b]
	if !set {
		slots = 10
	}
	switch {
	case is:
		status, body = helixError(400, "The user in user_id is already a VIP.")
	case slices.Contains(st.mods[b], user):
		status, body = 422, map[string]any{"error": "Unprocessable Entity", "status": 422,
			"message": "The user in user_id is a moderator. To make them a VIP, you must first remove them as a moderator."}
	case st.notReady[b]:
		status, body = 425, map[string]any{"error": "Too Early", "status": 425,
			"message": "The broadcaster must complete the Build a Community requirement before they may assign VIPs."}
	case len(st.vips[b]) >= slots:
		status, body = helixError(409, "The broadcaster doesn't have available VIP slots.")
	default:
		st.vips[b] = append(st.vips[b], user)
		return 204, nil, true
	}
	return status, body, true
}

// userLogin is the login of a user id the server knows; f.mu is held.
func (f *API) userLogin(id string) (string, bool) {
	for login, uid := range f.logins {
		if uid == id {
			return login, true
		}
	}
	return "", false
}
