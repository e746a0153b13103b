package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/db"
	"github.com/waddle/waddle/identity"
	"github.com/waddle/waddle/modules"
	"github.com/waddle/waddle/router"
	"github.com/waddle/waddle/workflow"
)

// chat is the chat simulator as a terminal REPL: each line is a chat message
// (or /follow, /raid N, /cheer N, /sub, /gift, /join) handled by the router.
func chat(ctx context.Context, cfg config, logger *slog.Logger, args []string, stdin io.Reader, stdout io.Writer) error {
	fs := newFlagSet("chat")
	slug := fs.String("community", "", "community short name")
	platform := fs.String("platform", router.Twitch, "twitch, discord or slack")
	user := fs.String("user", "alice", "chat user name")
	badges := fs.String("badges", "", "comma-separated: broadcaster, moderator, vip, subscriber")
	dry := fs.Bool("dry-run", true, "store nothing, spend no cooldown (false: a real event on a simulated platform)")
	if err := fs.Parse(args); err != nil {
		return &usageError{err.Error()}
	}
	if *slug == "" {
		return &usageError{"--community is required"}
	}
	var roles []string
	for _, b := range strings.Split(*badges, ",") {
		if b = strings.TrimSpace(b); b != "" {
			roles = append(roles, b)
		}
	}
	a, err := openApp(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer a.close()
	c, err := db.New(a.pool).CommunityGetBySlug(ctx, *slug)
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("no community with the short name %q", *slug)
	}
	if err != nil {
		return err
	}
	ids := identity.NewService(identity.Config{Pool: a.pool, Redis: a.redis, RedisPrefix: cfg.RedisPrefix, Limiter: a.limiter, Logger: logger})
	rt := router.New(router.Config{Modules: append(modules.All(), modules.Identity(ids)...), Identities: ids, Pool: a.pool, Read: a.replica, Redis: a.redis, RedisPrefix: cfg.RedisPrefix, Limiter: a.limiter, Logger: logger, Executor: a.exec, Secrets: a.secrets})
	rctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan error, 1)
	go func() { done <- rt.Run(rctx) }()
	defer func() { stop(); <-done }()
	// Workflows only show here, as dry runs: what a live event starts is
	// started by waddle serve's trigger index.
	flows := workflow.NewService(workflow.ServiceConfig{Pool: a.pool, Read: a.replica,
		Env: &workflow.Env{Pool: a.pool, Router: rt, Logger: logger}, Logger: logger})

	mode := "dry run: nothing is stored"
	if !*dry {
		mode = "live: events are stored"
	}
	fmt.Fprintf(stdout, "Chatting in %s as %s on %s (%s). Type a message, /follow, /raid N, /cheer N, /sub, /gift, /join or /quit.\n", c.Name, *user, *platform, mode)
	in := bufio.NewScanner(stdin)
	in.Buffer(make([]byte, 64<<10), 64<<10)
	for {
		fmt.Fprint(stdout, "> ")
		if !in.Scan() {
			fmt.Fprintln(stdout)
			return in.Err()
		}
		line := strings.TrimSpace(in.Text())
		if line == "" {
			continue
		}
		if line == "/quit" || line == "/exit" {
			return nil
		}
		ev := router.Event{ID: "cli-" + rand.Text()[:12], Platform: *platform, Kind: router.ChatMessage, Server: router.SimulatorServer, Channel: "terminal",
			User: router.User{Name: *user, Roles: roles}, Text: line, Time: time.Now()}
		if strings.HasPrefix(line, "/") {
			if err := eventFromSlash(&ev, line); err != nil {
				fmt.Fprintln(stdout, "  !", err)
				continue
			}
		}
		res, err := rt.Simulate(ctx, audit.Actor{Email: "command line"}, c.ID, ev, *dry)
		if err != nil {
			fmt.Fprintln(stdout, "  !", message(err))
			continue
		}
		printResult(stdout, res)
		printWorkflows(stdout, flows.Would(ctx, c.ID, ev, res.Commands))
	}
}

func message(err error) string { return strings.TrimPrefix(err.Error(), "config: ") }

// eventFromSlash turns "/raid 50" and friends into platform events.
func eventFromSlash(ev *router.Event, line string) error {
	f := strings.Fields(line)
	n := int64(0)
	if len(f) > 1 {
		v, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil || v < 0 {
			return fmt.Errorf("%q is not a number", f[1])
		}
		n = v
	}
	ev.Text = ""
	switch f[0] {
	case "/follow":
		ev.Kind = router.Follow
	case "/sub":
		ev.Kind = router.Subscribe
	case "/gift":
		ev.Kind = router.GiftSub
	case "/join":
		ev.Kind = router.MemberJoin
	case "/raid":
		ev.Kind, ev.Data = router.Raid, map[string]any{"viewers": float64(max(n, 1))}
	case "/cheer":
		ev.Kind, ev.Data = router.Cheer, map[string]any{"bits": float64(max(n, 1))}
	default:
		return fmt.Errorf("unknown event %s: use /follow, /raid N, /cheer N, /sub, /gift or /join", f[0])
	}
	return nil
}

func printResult(w io.Writer, res router.Result) {
	for _, r := range res.Responses {
		if r.Reply != "" {
			tag := ""
			if r.Private {
				tag = " (private)"
			}
			fmt.Fprintf(w, "  bot%s: %s\n", tag, r.Reply)
		}
		if m := r.Moderation; m != nil {
			fmt.Fprintf(w, "  moderation: %s", m.Action)
			if m.Seconds > 0 {
				fmt.Fprintf(w, " for %ds", m.Seconds)
			}
			fmt.Fprintln(w)
		}
		if r.Overlay != nil {
			fmt.Fprintf(w, "  overlay: %s\n", r.Overlay.Kind)
		}
	}
	for _, p := range res.Points {
		fmt.Fprintf(w, "  points: %s %+d (%s) → %d\n", p.User, p.Delta, p.Reason, p.Balance)
	}
	for _, c := range res.Changes {
		fmt.Fprintf(w, "  change: %s\n", c)
	}
	if res.HandledBy != "" {
		fmt.Fprintf(w, "  handled by %s in %.1f ms\n", res.HandledBy, float64(res.Duration.Microseconds())/1000)
	}
}

// printWorkflows lists the workflows an event would start, each with its
// dry-run trace.
func printWorkflows(w io.Writer, ms []workflow.Match) {
	if len(ms) == 0 {
		return
	}
	fmt.Fprintln(w, "  workflows this would start (dry run: nothing sent, nothing stored):")
	for _, m := range ms {
		status := m.Outcome.Status
		if m.Err != "" {
			status = "not run: " + m.Err
		} else if m.Outcome.Error != "" {
			status += ": " + m.Outcome.Error
		}
		fmt.Fprintf(w, "    %s (%s %s): %s\n", m.Name, m.Trigger, m.Node, status)
		for _, tr := range m.Outcome.Traces {
			line := fmt.Sprintf("      %s %s %s", tr.Node, tr.Type, tr.Status)
			if sum := tr.Summary(100); sum != "" {
				line += " → " + sum
			}
			fmt.Fprintln(w, line)
		}
	}
}
