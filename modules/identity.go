package modules

import (
	"context"
	"fmt"
	"strings"

	"github.com/waddle/waddle/identity"
	"github.com/waddle/waddle/router"
)

// Identity returns the modules that link a person's platform accounts from
// chat (!identity, !verify), with the identity service they work through.
// cmd/waddle registers them next to All.
func Identity(ids *identity.Service) []router.Module {
	return []router.Module{IdentityLinks{Links: ids}, Verify{Links: ids}}
}

// IdentityLinks is !identity: the speaker's linked accounts, and linking
// and unlinking them.
type IdentityLinks struct {
	Links *identity.Service
}

// Declaration describes !identity.
func (IdentityLinks) Declaration() router.Declaration {
	return router.Declaration{Name: "identity", Usage: "[link <platform> <username> | unlink <platform>]: your linked accounts on Twitch, Discord and Slack",
		Permission: router.Everyone, Capabilities: []string{"chat"}}
}

// Run lists, links or unlinks.
func (m IdentityLinks) Run(ctx context.Context, c *router.Call) ([]router.Response, error) {
	ev := c.Event()
	me := identity.Account{Platform: ev.Platform, ID: ev.User.ID, Name: ev.User.Shown()}
	args := c.Inv.Args
	p := c.Prefix()
	if len(args) == 0 {
		accs, err := m.Links.Accounts(ctx, me)
		if err != nil {
			return nil, err
		}
		if len(accs) < 2 {
			return router.Reply("@%s this account is not linked to any other. Link one with %sidentity link <platform> <username>.", ev.User.Shown(), p), nil
		}
		return router.Reply("@%s your linked accounts: %s.", ev.User.Shown(), listAccounts(accs)), nil
	}
	switch strings.ToLower(args[0]) {
	case "link":
		if len(args) != 3 {
			return router.Reply("@%s usage: %sidentity link <twitch|discord|slack> <username>", ev.User.Shown(), p), nil
		}
		if c.DryRun() {
			c.Changed("would send a link code to %s account %s", args[1], args[2])
			return router.Reply("@%s (simulated) a code would go to %s on %s.", ev.User.Shown(), args[2], args[1]), nil
		}
		sent, err := m.Links.Request(ctx, c.CommunityID(), me, args[1], args[2])
		if err != nil {
			return nil, err
		}
		pname, _ := identity.PlatformName(sent.To.Platform)
		how := "by DM"
		if sent.To.Platform == identity.Twitch {
			how = "by whisper"
		}
		return router.Reply("@%s I sent a code to %s on %s %s: type %sverify CODE from that account in this community's %s chat within 10 minutes.",
			ev.User.Shown(), sent.To.Name, pname, how, p, pname), nil
	case "unlink":
		if len(args) != 2 {
			return router.Reply("@%s usage: %sidentity unlink <twitch|discord|slack>", ev.User.Shown(), p), nil
		}
		if c.DryRun() {
			c.Changed("would unlink the %s account", args[1])
			return router.Reply("@%s (simulated) your %s account would be unlinked.", ev.User.Shown(), args[1]), nil
		}
		u, err := m.Links.Unlink(ctx, me, args[1])
		if err != nil {
			return nil, err
		}
		pname, _ := identity.PlatformName(u.Account.Platform)
		c.Changed("unlinked %s account %s", u.Account.Platform, u.Account.Name)
		return router.Reply("@%s unlinked your %s account %s: it starts fresh at 0 points; your balance stays with your other accounts.", ev.User.Shown(), pname, u.Account.Name), nil
	}
	return router.Reply("@%s usage: %sidentity, %sidentity link <platform> <username>, %sidentity unlink <platform>", ev.User.Shown(), p, p, p), nil
}

// Verify is !verify: the target of a link request proves the account is
// theirs by typing the code it was sent.
type Verify struct {
	Links *identity.Service
}

// Declaration describes !verify.
func (Verify) Declaration() router.Declaration {
	return router.Declaration{Name: "verify", Usage: "<code>: links this account with the one that asked for the code",
		Permission: router.Everyone, Capabilities: []string{"chat", "points:read"}}
}

// Run checks the code and links.
func (m Verify) Run(ctx context.Context, c *router.Call) ([]router.Response, error) {
	ev := c.Event()
	if len(c.Inv.Args) != 1 {
		return router.Reply("@%s usage: %sverify <code>, with the code you were sent.", ev.User.Shown(), c.Prefix()), nil
	}
	if c.DryRun() {
		c.Changed("would check a link code")
		return router.Reply("@%s (simulated) the code would be checked.", ev.User.Shown()), nil
	}
	me := identity.Account{Platform: ev.Platform, ID: ev.User.ID, Name: ev.User.Shown()}
	l, err := m.Links.Verify(ctx, c.CommunityID(), me, c.Inv.Args[0])
	if err != nil {
		return nil, err
	}
	c.Changed("linked %s", listAccounts(l.Accounts))
	return router.Reply("@%s linked: %s are one person now, with %d points here.", ev.User.Shown(), listAccounts(l.Accounts), l.Balance), nil
}

// listAccounts is "Twitch alice, Discord bob".
func listAccounts(accs []identity.Account) string {
	parts := make([]string, 0, len(accs))
	for _, a := range accs {
		pname, _ := identity.PlatformName(a.Platform)
		name := a.Name
		if name == "" {
			name = a.ID
		}
		parts = append(parts, fmt.Sprintf("%s %s", pname, name))
	}
	return strings.Join(parts, ", ")
}
