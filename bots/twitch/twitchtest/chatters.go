package twitchtest

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// ChattersScope is the scope Get Chatters needs.
const ChattersScope = "moderator:read:chatters"

// Chatter is a user connected to a channel's chat.
type Chatter struct {
	UserID, UserLogin, UserName string
}

// Viewers returns n chatters: user ids 5000001…, logins viewer1…, display
// names Viewer1….
func Viewers(n int) []Chatter {
	out := make([]Chatter, n)
	for i := range out {
		out[i] = Chatter{UserID: strconv.Itoa(5_000_001 + i), UserLogin: fmt.Sprintf("viewer%d", i+1), UserName: fmt.Sprintf("Viewer%d", i+1)}
	}
	return out
}

// viewerState is what the server knows of chat presence and streams.
type viewerState struct {
	scopes   map[string]map[string]bool // user id → scopes the user granted the app
	mods     map[string]map[string]bool // broadcaster id → its moderators' user ids
	chatters map[string][]Chatter       // broadcaster id → who is in chat
	live     map[string]stream          // broadcaster id → its live stream
}

type stream struct {
	login   string
	started time.Time
}

// viewersLocked returns the state, made on first use. f.mu is held.
func (f *API) viewersLocked() *viewerState {
	v := &f.viewers
	if v.scopes == nil {
		v.scopes, v.mods, v.chatters, v.live = map[string]map[string]bool{}, map[string]map[string]bool{}, map[string][]Chatter{}, map[string]stream{}
	}
	return v
}

// GrantScopes records that the user with userID granted the app scopes:
// every user access token of theirs carries them. Users start with none.
func (f *API) GrantScopes(userID string, scopes ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	v := f.viewersLocked()
	if v.scopes[userID] == nil {
		v.scopes[userID] = map[string]bool{}
	}
	for _, s := range scopes {
		v.scopes[userID][s] = true
	}
}

// SetModerator makes userID a moderator of the broadcaster's chat, or not.
// A broadcaster moderates their own chat.
func (f *API) SetModerator(broadcasterID, userID string, mod bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	v := f.viewersLocked()
	if v.mods[broadcasterID] == nil {
		v.mods[broadcasterID] = map[string]bool{}
	}
	v.mods[broadcasterID][userID] = mod
}

// SetChatters sets who is connected to the broadcaster's chat.
func (f *API) SetChatters(broadcasterID string, chatters []Chatter) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.viewersLocked().chatters[broadcasterID] = append([]Chatter(nil), chatters...)
}

// SetLive starts or ends the broadcaster's stream.
func (f *API) SetLive(broadcasterID, login string, live bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	v := f.viewersLocked()
	if !live {
		delete(v.live, broadcasterID)
		return
	}
	if _, ok := v.live[broadcasterID]; !ok {
		v.live[broadcasterID] = stream{login: login, started: time.Now().UTC()}
	}
}

// chattersCursor is Twitch's opaque cursor: base64 of {"b":null,"a":{"Offset":n}}.
type chattersCursor struct {
	B any `json:"b"`
	A struct {
		Offset int `json:"Offset"`
	} `json:"a"`
}

func encodeCursor(offset int) string {
	var c chattersCursor
	c.A.Offset = offset
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(s string) (int, bool) {
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
	if err != nil {
		return 0, false
	}
	var c chattersCursor
	if json.Unmarshal(b, &c) != nil || c.A.Offset < 0 {
		return 0, false
	}
	return c.A.Offset, true
}

// serveViewers answers GET /helix/chat/chatters and GET /helix/streams as
// Twitch does. The token was checked to be valid; f.mu is held.
func (f *API) serveViewers(call Call, q url.Values) (int, any) {
	v := f.viewersLocked()
	token := strings.TrimPrefix(call.Auth, "Bearer ")
	switch call.Path {
	case "/helix/chat/chatters":
		return f.chatters(v, token, q)
	case "/helix/streams":
		return f.streams(v, q)
	}
	return helixError(400, "unknown endpoint")
}

// chatters answers Get Chatters: a user access token with
// moderator:read:chatters whose user is moderator_id (401 otherwise), a
// moderator_id who moderates the broadcaster's chat (403 otherwise), pages of
// first (1 to 1000, default 100) chatters, and a cursor while more remain.
func (f *API) chatters(v *viewerState, token string, q url.Values) (int, any) {
	caster, mod := q.Get("broadcaster_id"), q.Get("moderator_id")
	if caster == "" {
		return helixError(400, "Missing required parameter \"broadcaster_id\"")
	}
	if mod == "" {
		return helixError(400, "Missing required parameter \"moderator_id\"")
	}
	user, isUser := f.users[token]
	switch {
	case !isUser:
		return helixError(401, "User OAuth token required")
	case !v.scopes[user[0]][ChattersScope]:
		return helixError(401, "Missing scope: "+ChattersScope)
	case user[0] != mod:
		return helixError(401, "The ID in moderator_id must match the user ID found in the request's OAuth token.")
	}
	first := 100
	if s := q.Get("first"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 1000 {
			return helixError(400, "The parameter \"first\" was malformed: the value must be between 1 and 1000")
		}
		first = n
	}
	offset := 0
	if s := q.Get("after"); s != "" {
		n, ok := decodeCursor(s)
		if !ok {
			return helixError(400, "The parameter \"after\" was malformed")
		}
		offset = n
	}
	if mod != caster && !v.mods[caster][mod] {
		return helixError(403, "The user in moderator_id is not one of the broadcaster's moderators.")
	}
	all := v.chatters[caster]
	offset = min(offset, len(all))
	end := min(offset+first, len(all))
	data := make([]map[string]string, 0, end-offset)
	for _, c := range all[offset:end] {
		data = append(data, map[string]string{"user_id": c.UserID, "user_login": c.UserLogin, "user_name": c.UserName})
	}
	page := map[string]any{}
	if end < len(all) {
		page["cursor"] = encodeCursor(end)
	}
	return 200, map[string]any{"data": data, "pagination": page, "total": len(all)}
}

// streams answers Get Streams: any valid token; up to 100 user_id and
// user_login together; the live streams among them.
func (f *API) streams(v *viewerState, q url.Values) (int, any) {
	ids, logins := q["user_id"], q["user_login"]
	if len(ids)+len(logins) > 100 {
		return helixError(400, "The request may specify at most 100 user IDs and logins combined")
	}
	if t := q.Get("type"); t != "" && t != "all" && t != "live" {
		return helixError(400, "The parameter \"type\" was malformed")
	}
	if s := q.Get("first"); s != "" {
		if n, err := strconv.Atoi(s); err != nil || n < 1 || n > 100 {
			return helixError(400, "The parameter \"first\" was malformed: the value must be between 1 and 100")
		}
	}
	data := []any{}
	for id, s := range v.live {
		wanted := len(ids) == 0 && len(logins) == 0
		for _, w := range ids {
			wanted = wanted || w == id
		}
		for _, w := range logins {
			wanted = wanted || strings.EqualFold(w, s.login)
		}
		if !wanted {
			continue
		}
		data = append(data, map[string]any{
			"id": "4000" + id, "user_id": id, "user_login": s.login, "user_name": s.login, "game_id": "509658", "game_name": "Just Chatting",
			"type": "live", "title": "live", "tags": []string{}, "viewer_count": len(v.chatters[id]), "started_at": s.started.Format(time.RFC3339),
			"language": "en", "thumbnail_url": "https://static-cdn.jtvnw.net/previews-ttv/live_user_" + s.login + "-{width}x{height}.jpg", "is_mature": false,
		})
	}
	return 200, map[string]any{"data": data, "pagination": map[string]any{}}
}
