package modules

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/labels"
	"github.com/waddle/waddle/problem"
	"github.com/waddle/waddle/router"
)

// Labelling returns the label commands, !label and !labels, on the labels
// service; cmd/waddle registers them next to All.
func Labelling(l *labels.Service) []router.Module {
	return []router.Module{Label{Labels: l}, LabelsOf{Labels: l}}
}

// Label gives or takes a community label: !label add|remove <user> <label>.
type Label struct{ Labels *labels.Service }

// Declaration describes !label.
func (Label) Declaration() router.Declaration {
	return router.Declaration{Name: "label", Usage: "add|remove <user> <label>", Permission: router.Moderator, Capabilities: []string{"chat"}}
}

// Run gives or takes the label.
func (m Label) Run(ctx context.Context, c *router.Call) ([]router.Response, error) {
	args := c.Inv.Args
	if len(args) < 3 || (args[0] != "add" && args[0] != "remove") {
		return nil, problem.New(problem.Invalid, "usage: %slabel add|remove <user> <label>", c.Prefix())
	}
	give := args[0] == "add"
	who, shown, err := findPerson(ctx, m.Labels, c, args[1])
	if err != nil {
		return nil, err
	}
	name := strings.Join(args[2:], " ")
	l, err := m.Labels.Get(ctx, c.CommunityID(), name)
	if errors.Is(err, labels.ErrNotFound) {
		return nil, problem.New(problem.NotFound, "there is no label %q here.", clipArg(name))
	}
	if err != nil {
		return nil, err
	}
	verb := "takes"
	if give {
		verb = "gives"
	}
	if c.DryRun() {
		c.Changed("%s label %s %s", verb, l.Name, shown)
		return router.Reply("%s would be %s %s.", shown, map[bool]string{true: "given", false: "taken"}[give], l.Name), nil
	}
	var have []labels.Label
	if give {
		have, err = m.Labels.Add(ctx, chatActor(c), c.CommunityID(), who, fmt.Sprint(l.ID))
	} else {
		have, err = m.Labels.Remove(ctx, chatActor(c), c.CommunityID(), who, fmt.Sprint(l.ID))
	}
	if errors.Is(err, labels.ErrPersonFull) {
		return nil, problem.New(problem.Conflict, "%s already has %d labels: remove one first.", shown, labels.MaxPerPerson)
	}
	if err != nil {
		return nil, err
	}
	c.Changed("%s label %s %s", verb, l.Name, shown)
	return router.Reply("%s now has: %s.", shown, labelNames(have)), nil
}

// LabelsOf lists a person's labels: !labels <user>.
type LabelsOf struct{ Labels *labels.Service }

// Declaration describes !labels.
func (LabelsOf) Declaration() router.Declaration {
	return router.Declaration{Name: "labels", Usage: "<user>", Permission: router.Moderator, Capabilities: []string{"chat"}}
}

// Run lists the labels.
func (m LabelsOf) Run(ctx context.Context, c *router.Call) ([]router.Response, error) {
	if len(c.Inv.Args) != 1 {
		return nil, problem.New(problem.Invalid, "usage: %slabels <user>", c.Prefix())
	}
	who, shown, err := findPerson(ctx, m.Labels, c, c.Inv.Args[0])
	if err != nil {
		return nil, err
	}
	have, err := m.Labels.Of(ctx, c.CommunityID(), who)
	if err != nil {
		return nil, err
	}
	return router.Reply("%s has: %s.", shown, labelNames(have)), nil
}

// findPerson names a user as on the speaker's platform ("alice", "@alice")
// or on another ("discord:alice").
func findPerson(ctx context.Context, l *labels.Service, c *router.Call, arg string) (int64, string, error) {
	platform, name := c.Event().Platform, strings.TrimPrefix(arg, "@")
	if p, n, ok := strings.Cut(name, ":"); ok {
		switch p = strings.ToLower(p); p {
		case "twitch", "discord", "slack":
			platform, name = p, strings.TrimPrefix(n, "@")
		default:
			return 0, "", problem.New(problem.Invalid, "%q is not twitch, discord or slack.", clipArg(p))
		}
	}
	if name == "" || len(name) > 100 {
		return 0, "", problem.New(problem.Invalid, "name a user, as alice or discord:alice.")
	}
	id, err := l.Find(ctx, c.CommunityID(), labels.PersonRef{Platform: platform, Name: name})
	if errors.Is(err, labels.ErrPersonNotFound) {
		return 0, "", problem.New(problem.NotFound, "no one called %s has been seen here on %s.", clipArg(name), platform)
	}
	return id, name, err
}

func chatActor(c *router.Call) audit.Actor {
	ev := c.Event()
	return audit.Actor{Name: fmt.Sprintf("%s user %s (id %s)", ev.Platform, ev.User.Shown(), ev.User.ID)}
}

func labelNames(ls []labels.Label) string {
	if len(ls) == 0 {
		return "no labels"
	}
	names := make([]string, len(ls))
	for i, l := range ls {
		names[i] = l.Name
	}
	return strings.Join(names, ", ")
}

func clipArg(s string) string {
	if r := []rune(s); len(r) > 40 {
		return string(r[:40]) + "…"
	}
	return s
}
