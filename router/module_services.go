package router

import (
	"context"
)

// The services a built-in module may use. Each works in the event's
// transaction (begun on the first write; a dry run has none and refuses
// writes), records changes in the audit log as the chat user, and refuses a
// module that did not declare it.

// CommandService reads and changes the community's commands and aliases.
type CommandService struct{ c *Call }

// Commands is the commands service.
func (c *Call) Commands() CommandService { return CommandService{c} }

// Visible lists, with the prefix, the commands the event's user may run on
// its platform: the community's own, then the built-ins, in registration order.
func (s CommandService) Visible() ([]string, error) {
	if err := s.c.uses(ServiceCommands); err != nil {
		return nil, err
	}
	h := s.c.h
	var names []string
	seen := map[string]bool{}
	for _, cmd := range h.s.list {
		if cmd.Enabled && cmd.onPlatform(h.ev.Platform) && allowed(h.ev.User, cmd.Permission) {
			if cmd.InstallID != 0 {
				names = append(names, h.s.prefix+cmd.Name+" (module "+cmd.Module+" "+cmd.ModuleVersion+")")
				seen[cmd.Name] = true
				continue
			}
			names = append(names, h.s.prefix+cmd.Name)
			seen[cmd.Name] = true
		}
	}
	for _, d := range h.r.reg.decls {
		if !seen[d.Name] && allowed(h.ev.User, d.Permission) {
			names = append(names, h.s.prefix+d.Name)
		}
	}
	return names, nil
}

// Validate checks and normalises a command as Create and Update would.
func (s CommandService) Validate(in *CommandInput) error {
	if err := s.c.uses(ServiceCommands); err != nil {
		return err
	}
	return in.validate(s.c.h.r.reg)
}

// ByName returns one of the community's own commands.
func (s CommandService) ByName(ctx context.Context, name string) (*Command, error) {
	if err := s.c.uses(ServiceCommands); err != nil {
		return nil, err
	}
	return commandByName(ctx, s.c.h.readPrimary(), s.c.CommunityID(), name)
}

// Create adds a command.
func (s CommandService) Create(ctx context.Context, in CommandInput) (*Command, error) {
	if err := s.Validate(&in); err != nil {
		return nil, err
	}
	tx, err := s.c.h.begin(ctx)
	if err != nil {
		return nil, err
	}
	cmd, err := createCommand(ctx, tx, s.c.actor(), s.c.CommunityID(), in)
	if err != nil {
		return nil, err
	}
	s.c.h.reconfigured()
	return cmd, nil
}

// Update changes a command.
func (s CommandService) Update(ctx context.Context, id int64, in CommandInput) (*Command, error) {
	if err := s.Validate(&in); err != nil {
		return nil, err
	}
	tx, err := s.c.h.begin(ctx)
	if err != nil {
		return nil, err
	}
	cmd, err := updateCommand(ctx, tx, s.c.actor(), s.c.CommunityID(), id, in)
	if err != nil {
		return nil, err
	}
	s.c.h.reconfigured()
	return cmd, nil
}

// Delete removes a command and its aliases.
func (s CommandService) Delete(ctx context.Context, id int64) error {
	return s.write(ctx, func(ctx context.Context, c *Call) error {
		tx, err := c.h.begin(ctx)
		if err != nil {
			return err
		}
		return deleteCommand(ctx, tx, c.actor(), c.CommunityID(), id)
	})
}

// AddAlias makes alias another name of command.
func (s CommandService) AddAlias(ctx context.Context, alias, command string) error {
	return s.write(ctx, func(ctx context.Context, c *Call) error {
		tx, err := c.h.begin(ctx)
		if err != nil {
			return err
		}
		return addAlias(ctx, tx, c.h.r.reg, c.actor(), c.CommunityID(), alias, command)
	})
}

// DeleteAlias removes an alias.
func (s CommandService) DeleteAlias(ctx context.Context, alias string) error {
	return s.write(ctx, func(ctx context.Context, c *Call) error {
		tx, err := c.h.begin(ctx)
		if err != nil {
			return err
		}
		return deleteAlias(ctx, tx, c.actor(), c.CommunityID(), alias)
	})
}

func (s CommandService) write(ctx context.Context, f func(context.Context, *Call) error) error {
	if err := s.c.uses(ServiceCommands); err != nil {
		return err
	}
	if err := f(ctx, s.c); err != nil {
		return err
	}
	s.c.h.reconfigured()
	return nil
}

// CounterService reads and sets a command's {count}.
type CounterService struct{ c *Call }

// Counters is the counters service.
func (c *Call) Counters() CounterService { return CounterService{c} }

// Of returns the command whose counter it is, with its counter.
func (s CounterService) Of(ctx context.Context, command string) (*Command, error) {
	if err := s.c.uses(ServiceCounters); err != nil {
		return nil, err
	}
	return commandByName(ctx, s.c.h.readPrimary(), s.c.CommunityID(), command)
}

// Set sets a command's counter.
func (s CounterService) Set(ctx context.Context, commandID, n int64) error {
	if err := s.c.uses(ServiceCounters); err != nil {
		return err
	}
	tx, err := s.c.h.begin(ctx)
	if err != nil {
		return err
	}
	if err := setCounter(ctx, tx, s.c.actor(), s.c.CommunityID(), commandID, n); err != nil {
		return err
	}
	s.c.h.reconfigured()
	return nil
}

// QuoteService reads, adds and deletes the community's quotes.
type QuoteService struct{ c *Call }

// Quotes is the quotes service.
func (c *Call) Quotes() QuoteService { return QuoteService{c} }

// Random returns a random quote.
func (s QuoteService) Random(ctx context.Context) (Quote, error) {
	if err := s.c.uses(ServiceQuotes); err != nil {
		return Quote{}, err
	}
	return randomQuote(ctx, s.c.h.read(), s.c.CommunityID())
}

// Get returns quote number n.
func (s QuoteService) Get(ctx context.Context, n int) (Quote, error) {
	if err := s.c.uses(ServiceQuotes); err != nil {
		return Quote{}, err
	}
	return quote(ctx, s.c.h.read(), s.c.CommunityID(), n)
}

// Add stores a quote added by the event's user and returns its number.
func (s QuoteService) Add(ctx context.Context, text string) (int32, error) {
	if err := s.c.uses(ServiceQuotes); err != nil {
		return 0, err
	}
	tx, err := s.c.h.begin(ctx)
	if err != nil {
		return 0, err
	}
	return addQuote(ctx, tx, s.c.actor(), s.c.CommunityID(), text, s.c.h.ev.User.Shown())
}

// Delete removes quote number n.
func (s QuoteService) Delete(ctx context.Context, n int) error {
	if err := s.c.uses(ServiceQuotes); err != nil {
		return err
	}
	tx, err := s.c.h.begin(ctx)
	if err != nil {
		return err
	}
	return deleteQuote(ctx, tx, s.c.actor(), s.c.CommunityID(), n)
}

// PointsService reads balances and gives points.
type PointsService struct{ c *Call }

// Points is the points service.
func (c *Call) Points() PointsService { return PointsService{c} }

// Balance is the event user's points.
func (s PointsService) Balance(ctx context.Context) (int64, error) {
	if err := s.c.uses(ServicePoints); err != nil {
		return 0, err
	}
	return balance(ctx, s.c.h.read(), s.c.CommunityID(), s.c.h.ev.Platform, s.c.h.ev.User.ID)
}

// Leaderboard returns the community's top n.
func (s PointsService) Leaderboard(ctx context.Context, n int) ([]Standing, error) {
	if err := s.c.uses(ServicePoints); err != nil {
		return nil, err
	}
	return leaderboard(ctx, s.c.h.read(), s.c.CommunityID(), n)
}

// LeaderboardBy returns the community's top n by points or by watch time.
func (s PointsService) LeaderboardBy(ctx context.Context, by Ranking, n int) ([]Standing, error) {
	if err := s.c.uses(ServicePoints); err != nil {
		return nil, err
	}
	return rankedLeaderboard(ctx, s.c.h.read(), s.c.CommunityID(), by, n)
}

// FindUser finds a user of the event's platform by name.
func (s PointsService) FindUser(ctx context.Context, name string) (KnownUser, error) {
	if err := s.c.uses(ServicePoints); err != nil {
		return KnownUser{}, err
	}
	return findUser(ctx, s.c.h.read(), s.c.CommunityID(), s.c.h.ev.Platform, name)
}

// Give adds delta to u's balance, puts the change in the event's answer and
// returns the new balance.
func (s PointsService) Give(ctx context.Context, u KnownUser, delta int64, reason string) (int64, error) {
	if err := s.c.uses(ServicePoints); err != nil {
		return 0, err
	}
	q, err := s.c.h.writer(ctx)
	if err != nil {
		return 0, err
	}
	bal, err := addPoints(ctx, q, s.c.CommunityID(), u.Platform, u.UserID, u.Name, delta, reason)
	if err != nil {
		return 0, err
	}
	s.c.h.addPoints(PointsChange{User: u.Name, Delta: delta, Reason: reason, Balance: bal})
	return bal, nil
}

// Overlay is an overlay update for the community's browser sources, shown
// once the event's effects are committed.
func (c *Call) Overlay(kind string, data map[string]any) (*Overlay, error) {
	if err := c.uses(ServiceOverlays); err != nil {
		return nil, err
	}
	return &Overlay{Kind: kind, Data: data}, nil
}
