package main

import (
	"context"

	"github.com/waddle/waddle/identity"
	"github.com/waddle/waddle/problem"
	"github.com/waddle/waddle/router"
)

// botSender is the router's Sender: it hands a message to the bot of its
// platform, which sends it through its send queue.
//
// The router is built before the bots (each bot handles its events through
// it), so the router gets this dispatcher at construction and serve fills
// bots in once the bots exist, before anything runs: no setter on the
// router, and no lock, since bots is never written again.
type botSender struct {
	bots map[string]router.Sender // by platform, the bots that are on
}

// platformName is platform as users read it; false for an unknown one.
func platformName(platform string) (string, bool) {
	switch platform {
	case router.Twitch:
		return "Twitch", true
	case router.Discord:
		return "Discord", true
	case router.Slack:
		return "Slack", true
	}
	return "", false
}

// Send sends m through the bot of m.Platform; a bot that is off answers a
// conflict that names its platform.
func (s *botSender) Send(ctx context.Context, communityID int64, m router.Message) error {
	name, known := platformName(m.Platform)
	if !known {
		return problem.Invalidf("platform", "Unknown platform %q: messages go to twitch, discord or slack.", m.Platform)
	}
	bot := s.bots[m.Platform]
	if bot == nil {
		return problem.New(problem.Conflict, "The %s bot is off on this server, so it cannot send messages: configure it and restart.", name)
	}
	return bot.Send(ctx, communityID, m)
}

// userFinder is a bot that can look a platform account up by name.
type userFinder interface {
	FindUser(ctx context.Context, server, name string) (id, username string, found bool, err error)
}

// botDirectory is the identity service's Directory over the bots that can
// look accounts up (Twitch by login, Discord in the guild); like botSender,
// serve fills bots in once the bots exist.
type botDirectory struct {
	bots map[string]router.Sender
}

// FindAccount asks the platform's bot for the account called name.
func (d *botDirectory) FindAccount(ctx context.Context, platform, server, name string) (identity.Account, error) {
	f, ok := d.bots[platform].(userFinder)
	if !ok {
		return identity.Account{}, identity.ErrNoAccount
	}
	id, username, found, err := f.FindUser(ctx, server, name)
	if err != nil {
		return identity.Account{}, err
	}
	if !found {
		return identity.Account{}, identity.ErrNoAccount
	}
	return identity.Account{Platform: platform, ID: id, Name: username}, nil
}

// twitchLogins resolves imported viewers' Twitch logins through the Twitch
// bot (Helix Get Users), once the bots are built; without the Twitch bot it
// knows none, and those viewers wait for their first chat.
type twitchLogins struct {
	bots map[string]router.Sender
}

// TwitchIDs asks the Twitch bot; it implements importer.Resolver.
func (t *twitchLogins) TwitchIDs(ctx context.Context, logins []string) (map[string]string, error) {
	r, ok := t.bots[router.Twitch].(interface {
		TwitchIDs(context.Context, []string) (map[string]string, error)
	})
	if !ok {
		return map[string]string{}, nil
	}
	return r.TwitchIDs(ctx, logins)
}
