package twitch

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// FindUser looks a Twitch account up by login (Helix Get Users, with the
// app token): its user id and display name; found is false when Twitch
// knows no such login. server is unused (a Twitch account is the same in
// every channel).
func (b *Bot) FindUser(ctx context.Context, _ string, login string) (id, name string, found bool, err error) {
	login = strings.ToLower(strings.TrimPrefix(login, "@"))
	if !validLogin(login) {
		return "", "", false, nil
	}
	var out struct {
		Data []struct {
			ID          string `json:"id"`
			Login       string `json:"login"`
			DisplayName string `json:"display_name"`
		} `json:"data"`
	}
	if err := b.helix.call(ctx, http.MethodGet, "/users", url.Values{"login": {login}}, nil, "", &out); err != nil {
		return "", "", false, fmt.Errorf("look up twitch user %q: %w", login, err)
	}
	if len(out.Data) == 0 || out.Data[0].ID == "" {
		return "", "", false, nil
	}
	u := out.Data[0]
	name = u.DisplayName
	if name == "" {
		name = u.Login
	}
	return u.ID, name, true, nil
}
