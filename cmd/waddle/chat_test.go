package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

func TestChatREPL(t *testing.T) {
	t.Parallel()
	vars := setVars(testVars(t), "WADDLE_ADMIN_PASSWORD", testAdminPassword)
	mustRunWaddle(t, vars, "setup") // creates the "demo" community
	chatWith := func(input string, args ...string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
		defer cancel()
		var out bytes.Buffer
		if err := run(ctx, append([]string{"chat", "--community", "demo"}, args...), getenvFrom(vars), strings.NewReader(input), &out); err != nil {
			t.Fatalf("chat: %v\n%s", err, out.String())
		}
		return out.String()
	}
	out := chatWith("!commands add hug {user} hugs {touser} #{count}\n!hug bob\n/follow\n/raid x\n/dance\n/quit\nnot reached\n",
		"--user", "mo", "--badges", "moderator", "--dry-run=false")
	for _, want := range []string{
		"live: events are stored",
		"bot: Command !hug added.",
		"bot: mo hugs bob #1",
		"points: mo +10 (follow) → 15", // 5 for the first chat message
		`"x" is not a number`,
		"unknown event /dance",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "not reached") {
		t.Error("input after /quit was read")
	}
	// A dry run shows the change and stores nothing: the counter stays at 1.
	out = chatWith("!hug ann\n!hug ann\n", "--user", "ann")
	if strings.Count(out, "bot: ann hugs ann #2") != 2 || !strings.Contains(out, "change: counter of !hug 1 → 2") {
		t.Errorf("dry run:\n%s", out)
	}
	if _, err := runWaddle(t, vars, "chat", "--community", "nope"); err == nil || !strings.Contains(err.Error(), `no community with the short name "nope"`) {
		t.Errorf("unknown community: %v", err)
	}
}
