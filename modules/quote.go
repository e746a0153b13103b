package modules

import (
	"context"
	"strconv"
	"strings"

	"github.com/waddle/waddle/problem"
	"github.com/waddle/waddle/router"
)

// Quote shows, adds and deletes the community's quotes.
type Quote struct{}

// Declaration describes !quote.
func (Quote) Declaration() router.Declaration {
	return router.Declaration{Name: "quote", Usage: "[n] | random | add <text> | del <n>", Permission: router.Everyone,
		Uses: []router.Service{router.ServiceQuotes}, Capabilities: []string{"chat"}}
}

// Run shows a quote; moderators add and delete them.
func (Quote) Run(ctx context.Context, c *router.Call) ([]router.Response, error) {
	args, quotes := c.Inv.Args, c.Quotes()
	if len(args) == 0 || strings.EqualFold(args[0], "random") {
		q, err := quotes.Random(ctx)
		if err != nil {
			return nil, err
		}
		return router.Reply("Quote #%d: %s", q.Number, q.Text), nil
	}
	switch strings.ToLower(args[0]) {
	case "add":
		if err := c.RequireLevel(router.Moderator); err != nil {
			return nil, err
		}
		text := strings.TrimSpace(strings.Join(args[1:], " "))
		if text == "" || len(text) > 500 {
			return nil, problem.New(problem.Invalid, "usage: %squote add <text> (at most 500 characters)", c.Prefix())
		}
		if c.DryRun() {
			c.Changed("quote would be added")
			return router.Reply("Quote added."), nil
		}
		n, err := quotes.Add(ctx, text)
		if err != nil {
			return nil, err
		}
		c.Changed("quote #%d added", n)
		return router.Reply("Quote #%d added.", n), nil
	case "del", "delete", "remove":
		if err := c.RequireLevel(router.Moderator); err != nil {
			return nil, err
		}
		if len(args) < 2 {
			return nil, problem.New(problem.Invalid, "usage: %squote del <n>", c.Prefix())
		}
		n, err := strconv.Atoi(strings.TrimPrefix(args[1], "#"))
		if err != nil {
			return nil, problem.New(problem.Invalid, "%q is not a quote number.", args[1])
		}
		if !c.DryRun() {
			if err := quotes.Delete(ctx, n); err != nil {
				return nil, err
			}
		}
		c.Changed("quote #%d deleted", n)
		return router.Reply("Quote #%d deleted.", n), nil
	}
	n, err := strconv.Atoi(strings.TrimPrefix(args[0], "#"))
	if err != nil {
		return nil, problem.New(problem.Invalid, "usage: %squote [n | random | add <text> | del <n>]", c.Prefix())
	}
	q, err := quotes.Get(ctx, n)
	if err != nil {
		return nil, err
	}
	return router.Reply("Quote #%d: %s", q.Number, q.Text), nil
}
