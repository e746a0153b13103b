package main

import (
	"context"

	"github.com/waddle/waddle/identity"
	"github.com/waddle/waddle/importer"
)

// pendingBinder passes identity's sightings (and hub links) to the
// importer, which binds the balances waiting for those logins. The
// importer is built after identity (it needs the router's settings), so
// it joins before anything runs.
type pendingBinder struct {
	imports *importer.Service
}

func (b *pendingBinder) seen(ctx context.Context, seen []identity.Sighting) error {
	if b.imports == nil {
		return nil
	}
	byPlatform := map[string][]importer.Seen{}
	for _, s := range seen {
		byPlatform[s.Platform] = append(byPlatform[s.Platform],
			importer.Seen{CommunityID: s.CommunityID, Login: s.Name, AccountID: s.AccountID, Name: s.Name})
	}
	for platform, accounts := range byPlatform {
		if err := b.imports.BindPending(ctx, platform, accounts); err != nil {
			return err
		}
	}
	return nil
}
