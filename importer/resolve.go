package importer

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/waddle/waddle/db"
)

// Resolving viewers: logins per Helix call, and calls at once.
const (
	resolveBatch    = 100
	resolveParallel = 4
)

// resolve returns the account id of each balance, "" where none is known:
// the id the source had, else an account of the platform known by that
// name, else (Twitch) the id Helix gives. An unreachable Resolver leaves
// the rest unresolved (pending), never dropped.
func (s *Service) resolve(ctx context.Context, points []Balance) ([]string, error) {
	ids := make([]string, len(points))
	want := map[string][]string{} // platform → logins to look up
	seen := map[[2]string]bool{}
	for i, p := range points {
		if p.UserID != "" {
			ids[i] = p.UserID
			continue
		}
		k := [2]string{p.Platform, p.Login}
		if !seen[k] {
			seen[k] = true
			want[p.Platform] = append(want[p.Platform], p.Login)
		}
	}
	found := map[[2]string]string{}
	q := db.New(s.pool)
	for platform, logins := range want {
		rows, err := q.ImportAccountsByLogin(ctx, db.ImportAccountsByLoginParams{Platform: platform, Logins: logins})
		if err != nil {
			return nil, fmt.Errorf("match viewers to known accounts: %w", err)
		}
		for _, r := range rows {
			found[[2]string{platform, r.Login}] = r.AccountID
		}
	}
	if s.resolver != nil {
		var rest []string
		for _, l := range want["twitch"] {
			if _, ok := found[[2]string{"twitch", l}]; !ok {
				rest = append(rest, l)
			}
		}
		got := s.helix(ctx, rest)
		for l, id := range got {
			found[[2]string{"twitch", l}] = id
		}
	}
	for i, p := range points {
		if ids[i] == "" {
			ids[i] = found[[2]string{p.Platform, p.Login}]
		}
	}
	return ids, nil
}

// helix asks the Resolver for logins in batches of 100, a few at once. A
// batch that fails is logged and left unresolved.
func (s *Service) helix(ctx context.Context, logins []string) map[string]string {
	out := map[string]string{}
	var mu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(resolveParallel)
	for start := 0; start < len(logins); start += resolveBatch {
		part := logins[start:min(start+resolveBatch, len(logins))]
		g.Go(func() error {
			got, err := s.resolver.TwitchIDs(gctx, part)
			if err != nil {
				s.logger.WarnContext(gctx, "Twitch logins not resolved; their balances wait under the login", "err", err, "logins", len(part))
				return nil
			}
			mu.Lock()
			defer mu.Unlock()
			for l, id := range got {
				if id != "" && len(id) <= 100 {
					out[strings.ToLower(l)] = id
				}
			}
			return nil
		})
	}
	_ = g.Wait() // the goroutines log their errors and return nil
	return out
}
