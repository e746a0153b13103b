package modules

import (
	"context"
	"strings"

	"github.com/waddle/waddle/router"
)

// Help lists the commands the user may run.
type Help struct{}

// Declaration describes !help.
func (Help) Declaration() router.Declaration {
	return router.Declaration{Name: "help", Usage: "lists the commands you may use", Permission: router.Everyone,
		Uses: []router.Service{router.ServiceCommands}, Capabilities: []string{"chat"}}
}

// Run answers with the commands the user may run here.
func (Help) Run(ctx context.Context, c *router.Call) ([]router.Response, error) {
	names, err := c.Commands().Visible()
	if err != nil {
		return nil, err
	}
	return router.Reply("Commands you can use here: %s", strings.Join(names, " ")), nil
}
