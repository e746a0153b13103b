// Package modules holds Waddle's built-in modules (!help, !commands, !alias,
// !so, !quote, !counter, !points, !leaderboard, !give), one file each. Each
// implements router.Module: it declares its name, usage, permission and the
// router services it uses, and runs through those services only.
// cmd/waddle registers them with the router.
package modules

import "github.com/waddle/waddle/router"

// All returns every built-in module, in the order !help lists them.
func All() []router.Module {
	return []router.Module{Help{}, Points{}, Leaderboard{}, Quote{}, Shoutout{}, Give{}, Commands{}, Alias{}, Counter{}}
}
