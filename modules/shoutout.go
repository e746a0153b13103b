package modules

import (
	"context"
	"fmt"
	"strings"

	"github.com/waddle/waddle/problem"
	"github.com/waddle/waddle/router"
)

// Shoutout recommends another streamer, in chat and on the overlays.
type Shoutout struct{}

// shoutoutTemplates per platform.
var shoutoutTemplates = map[string]string{
	router.Twitch:  "Go check out @%[1]s at https://twitch.tv/%[2]s — give them a follow!",
	router.Discord: "Shout-out to %[1]s! 🎉",
	router.Slack:   "Shout-out to %[1]s! :tada:",
}

// Declaration describes !so.
func (Shoutout) Declaration() router.Declaration {
	return router.Declaration{Name: "so", Usage: "<user>: a shout-out", Permission: router.Moderator,
		Uses: []router.Service{router.ServiceOverlays}, Capabilities: []string{"chat", "overlay"}}
}

// Run shouts the user out.
func (Shoutout) Run(ctx context.Context, c *router.Call) ([]router.Response, error) {
	if len(c.Inv.Args) < 1 {
		return nil, problem.New(problem.Invalid, "usage: %sso <user>", c.Prefix())
	}
	name := strings.TrimPrefix(c.Inv.Args[0], "@")
	if name == "" || len(name) > 50 {
		return nil, problem.New(problem.Invalid, "usage: %sso <user>", c.Prefix())
	}
	ov, err := c.Overlay("shoutout", map[string]any{"user": name, "by": c.Event().User.Shown()})
	if err != nil {
		return nil, err
	}
	return []router.Response{{Reply: fmt.Sprintf(shoutoutTemplates[c.Event().Platform], name, strings.ToLower(name)), Overlay: ov}}, nil
}
