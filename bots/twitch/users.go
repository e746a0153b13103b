package twitch

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"golang.org/x/sync/errgroup"
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

// usersPerCall is how many logins one Get Users call may name.
const usersPerCall = 100

// TwitchIDs looks Twitch logins up in batches of 100 (Helix Get Users, with
// the app token), a few batches at a time: login → user id, for the logins
// Twitch knows (lower-cased; others, and names that cannot be logins, are
// left out). It implements importer.Resolver.
func (b *Bot) TwitchIDs(ctx context.Context, logins []string) (map[string]string, error) {
	valid := make([]string, 0, len(logins))
	seen := make(map[string]bool, len(logins))
	for _, l := range logins {
		l = strings.ToLower(strings.TrimPrefix(l, "@"))
		if validLogin(l) && !seen[l] {
			seen[l] = true
			valid = append(valid, l)
		}
	}
	out := make(map[string]string, len(valid))
	var mu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(4)
	for start := 0; start < len(valid); start += usersPerCall {
		batch := valid[start:min(start+usersPerCall, len(valid))]
		g.Go(func() error {
			var page struct {
				Data []struct {
					ID    string `json:"id"`
					Login string `json:"login"`
				} `json:"data"`
			}
			if err := b.helix.call(gctx, http.MethodGet, "/users", url.Values{"login": batch}, nil, "", &page); err != nil {
				return fmt.Errorf("look up %d twitch users: %w", len(batch), err)
			}
			mu.Lock()
			defer mu.Unlock()
			for _, u := range page.Data {
				if u.ID != "" && seen[strings.ToLower(u.Login)] {
					out[strings.ToLower(u.Login)] = u.ID
				}
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return out, nil
}
