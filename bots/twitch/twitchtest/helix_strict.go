package twitchtest

import (
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"unicode/utf8"
)

// Token kinds an endpoint takes.
const (
	appToken  = 1 << iota // an app access token (client credentials)
	userToken             // a user access token
)

// endpoint is what Helix requires of a call, as its reference says.
type endpoint struct {
	tokens int    // appToken, userToken or both
	scope  string // the scope a user token needs; "" for none
	self   string // the query parameter that must name the token's user; "" for none
}

// endpoints are the Helix calls the server answers, by "METHOD /path".
var endpoints = map[string]endpoint{
	"GET /users":                     {tokens: appToken | userToken},
	"DELETE /moderation/chat":        {tokens: userToken, scope: "moderator:manage:chat_messages", self: "moderator_id"},
	"POST /moderation/bans":          {tokens: userToken, scope: "moderator:manage:banned_users", self: "moderator_id"},
	"POST /whispers":                 {tokens: userToken, scope: "user:manage:whispers", self: "from_user_id"},
	"GET /eventsub/subscriptions":    {tokens: appToken | userToken},
	"POST /eventsub/subscriptions":   {tokens: appToken | userToken},
	"DELETE /eventsub/subscriptions": {tokens: appToken | userToken},
}

// helixError is Twitch's error body.
func helixError(status int, msg string) (int, any) {
	names := map[int]string{400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 409: "Conflict", 429: "Too Many Requests"}
	return status, map[string]any{"error": names[status], "status": status, "message": msg}
}

// authorize checks a Helix call's token against what its endpoint takes:
// an app token where a user token is needed (or the reverse) and a user
// token without the endpoint's scope are 401, and so is a moderator_id or
// from_user_id that is not the token's user. ok is false with the answer.
func (f *API) authorize(route, token string, q url.Values) (status int, body any, ok bool) {
	ep, known := endpoints[route]
	if !known {
		return 0, nil, true // the route answers 404 itself
	}
	user, isUser := f.users[token]
	switch {
	case isUser && ep.tokens&userToken == 0:
		status, body = helixError(401, "The Authorization header must contain an app access token.")
		return status, body, false
	case !isUser && ep.tokens&appToken == 0:
		status, body = helixError(401, "The Authorization header must contain a user access token.")
		return status, body, false
	}
	if !isUser {
		return 0, nil, true
	}
	if ep.scope != "" && !slices.Contains(f.scopes[token], ep.scope) {
		status, body = helixError(401, "Missing scope: "+ep.scope)
		return status, body, false
	}
	if ep.self != "" && q.Get(ep.self) != user[0] {
		status, body = helixError(401, fmt.Sprintf("The ID in %s must match the user ID in the user access token.", ep.self))
		return status, body, false
	}
	return 0, nil, true
}

// checkBan answers a Ban User body Twitch refuses: no data object, no
// user_id, a duration outside 1–1209600 seconds, a reason over 500
// characters. ok is true for a body Twitch takes.
func checkBan(body map[string]any, q url.Values) (status int, answer any, ok bool) {
	if q.Get("broadcaster_id") == "" {
		status, answer = helixError(400, "Missing required parameter \"broadcaster_id\"")
		return status, answer, false
	}
	data, isObj := body["data"].(map[string]any)
	if !isObj {
		status, answer = helixError(400, "Missing required parameter \"data\"")
		return status, answer, false
	}
	if id, _ := data["user_id"].(string); id == "" {
		status, answer = helixError(400, "Missing required parameter \"data.user_id\"")
		return status, answer, false
	}
	if d, present := data["duration"]; present {
		n, isNum := d.(float64)
		if !isNum || n != float64(int64(n)) || n < 1 || n > 1209600 {
			status, answer = helixError(400, "The value in the duration field is not valid: it is 1 to 1209600 seconds.")
			return status, answer, false
		}
	}
	if r, present := data["reason"]; present {
		s, isStr := r.(string)
		if !isStr || utf8.RuneCountInString(s) > 500 {
			status, answer = helixError(400, "The text in the reason field is too long: it is at most 500 characters.")
			return status, answer, false
		}
	}
	return 0, nil, true
}

// checkWhisper answers a Send Whisper call Twitch refuses: no recipient, the
// sender itself, no message.
func checkWhisper(body map[string]any, q url.Values) (status int, answer any, ok bool) {
	to := q.Get("to_user_id")
	if _, err := strconv.ParseUint(to, 10, 64); err != nil {
		status, answer = helixError(400, "Missing required parameter \"to_user_id\"")
		return status, answer, false
	}
	if to == q.Get("from_user_id") {
		status, answer = helixError(400, "The user in to_user_id may not be the user in from_user_id.")
		return status, answer, false
	}
	if msg, _ := body["message"].(string); msg == "" {
		status, answer = helixError(400, "Missing required parameter \"message\"")
		return status, answer, false
	}
	return 0, nil, true
}

// users answers Get Users: the accounts named by login and id, unknown ones
// left out; with neither, the user token's own account.
func (f *API) getUsers(token string, q url.Values) (int, any) {
	logins, ids := q["login"], q["id"]
	if len(logins)+len(ids) > 100 {
		return helixError(400, "The request may ask for at most 100 users.")
	}
	data := []any{}
	if len(logins)+len(ids) == 0 {
		u, isUser := f.users[token]
		if !isUser {
			return helixError(400, "Missing required parameter: an app access token needs login or id.")
		}
		return 200, map[string]any{"data": []any{userJSON(u[0], u[1])}}
	}
	for _, l := range logins {
		if id, ok := f.logins[l]; ok {
			data = append(data, userJSON(id, l))
		}
	}
	for _, id := range ids {
		for l, lid := range f.logins {
			if lid == id {
				data = append(data, userJSON(id, l))
			}
		}
	}
	return 200, map[string]any{"data": data}
}

func userJSON(id, login string) map[string]any {
	return map[string]any{"id": id, "login": login, "display_name": login, "type": "", "broadcaster_type": "",
		"description": "", "profile_image_url": "", "offline_image_url": "", "created_at": "2016-12-14T20:32:28Z"}
}

// AddToken adds a user access token of the account id/login with scopes;
// refresh ("" for none) is its refresh token, which AddRefresh makes
// usable. The account becomes known to Get Users.
func (f *API) AddToken(access, refresh, id, login string, scopes ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.valid[access] = true
	f.users[access] = [2]string{id, login}
	f.scopes[access] = scopes
	f.logins[login] = id
	if refresh != "" {
		f.owner[refresh] = access
	}
}

// AddRefresh makes refresh token refresh give newAccess and newRefresh, for
// the same account and scopes as the token refresh belonged to.
func (f *API) AddRefresh(refresh, newAccess, newRefresh string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.refresh[refresh] = [2]string{newAccess, newRefresh}
}

// AddUser makes an account known to Get Users.
func (f *API) AddUser(id, login string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.logins[login] = id
}

// RefuseWhispersTo makes whispers to the user with id refused with 403, as
// Twitch refuses them to a user who blocks whispers from strangers.
func (f *API) RefuseWhispersTo(id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.noWhispr == nil {
		f.noWhispr = map[string]bool{}
	}
	f.noWhispr[id] = true
}

// SetScopes replaces the scopes granted to an access token.
func (f *API) SetScopes(access string, scopes ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.scopes[access] = scopes
}

// Revoke revokes an access token as a user disconnecting the app does:
// Helix and /oauth2/validate answer it with 401, and its refresh token no
// longer refreshes.
func (f *API) Revoke(access string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.valid[access] = false
	f.revoked[access] = true
	for r, a := range f.owner {
		if a == access {
			delete(f.refresh, r)
		}
	}
}

// Scopes of the bot account's and the broadcaster's default tokens: what
// package twitch asks for.
var (
	BotScopes = []string{"chat:read", "chat:edit", "user:read:chat", "user:write:chat", "user:bot",
		"user:manage:whispers", "moderator:manage:banned_users", "moderator:manage:chat_messages", "moderator:read:chatters"}
	BroadcasterScopes = []string{"moderator:read:followers", "channel:read:subscriptions", "bits:read", "channel:moderate", "moderator:manage:banned_users",
		"moderator:manage:chat_messages", "moderator:read:chatters", "channel:bot"}
)

// LimitWhispers answers the next n whispers with 429, as Twitch answers a
// sender past its whisper limits.
func (f *API) LimitWhispers(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.limitWhi = n
}
