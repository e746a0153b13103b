package discord

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/bots/discord/discordtest"
	"github.com/waddle/waddle/router"
)

// assertViews checks what an interaction's messages showed, in order.
func assertViews(t *testing.T, got, want []discordtest.View) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("shown\n%+v\nwant\n%+v", got, want)
	}
}

// waitViews waits until the interaction with token has shown n states.
func waitViews(t *testing.T, e *env, token string, n int) []discordtest.View {
	t.Helper()
	eventually(t, "the interaction's messages shown", func() bool { return len(e.rest.Views(token)) >= n })
	time.Sleep(100 * time.Millisecond) // nothing more may follow
	return e.rest.Views(token)
}

func TestInteractionAnswersKeepTheirVisibility(t *testing.T) {
	t.Parallel()
	e := newEnv(t, true)
	if _, err := e.settings.CreateModule(context.Background(), audit.Actor{}, e.cid, router.ModuleInput{Name: "menu", Kind: "webhook", URL: menuModule(t), Secret: "s"}); err != nil {
		t.Fatal(err)
	}
	e.gw.Dispatch("INTERACTION_CREATE", ixPayload("730", 3, map[string]any{"custom_id": "#menu secret", "component_type": 2}))
	assertViews(t, waitViews(t, e, "tok-730", 1), []discordtest.View{{Token: "tok-730", Message: "@original", Content: "psst", Private: true}})

	e.gw.Dispatch("INTERACTION_CREATE", ixPayload("731", 3, map[string]any{"custom_id": "#menu pick", "component_type": 2}))
	assertViews(t, waitViews(t, e, "tok-731", 1), []discordtest.View{{Token: "tok-731", Message: "@original", Content: "picked by alice"}})

	e.gw.Dispatch("INTERACTION_CREATE", ixPayload("732", 3, map[string]any{"custom_id": "#menu mixed", "component_type": 2}))
	assertViews(t, waitViews(t, e, "tok-732", 2), []discordtest.View{
		{Token: "tok-732", Message: "@original", Content: "psst", Private: true},
		{Token: "tok-732", Message: "5001", Content: "hello all"},
	})
}

func TestSlashCommandPublicAnswerStaysPublic(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false)
	e.command("hello", "Quack, slashed!")
	e.gw.Dispatch("INTERACTION_CREATE", ixPayload("733", 2, map[string]any{"id": "1", "name": "hello", "type": 1}))
	assertViews(t, waitViews(t, e, "tok-733", 1), []discordtest.View{{Token: "tok-733", Message: "@original", Content: "Quack, slashed!"}})
}

func TestLatePrivateAnswerNeverShownInTheChannel(t *testing.T) {
	t.Parallel()
	// Deferred publicly before the router answers: the private text must
	// not become the public original.
	e := newEnv(t, true, func(c *Config) { c.ComponentBudget = time.Nanosecond })
	if _, err := e.settings.CreateModule(context.Background(), audit.Actor{}, e.cid, router.ModuleInput{Name: "menu", Kind: "webhook", URL: menuModule(t), Secret: "s"}); err != nil {
		t.Fatal(err)
	}
	e.gw.Dispatch("INTERACTION_CREATE", ixPayload("734", 3, map[string]any{"custom_id": "#menu secret", "component_type": 2}))
	assertViews(t, waitViews(t, e, "tok-734", 3), []discordtest.View{
		{Token: "tok-734", Message: "@original", Content: "Answered privately."},
		{Token: "tok-734", Message: "5001", Content: "psst", Private: true},
		{Token: "tok-734", Message: "@original", Deleted: true},
	})

	e.gw.Dispatch("INTERACTION_CREATE", ixPayload("735", 3, map[string]any{"custom_id": "#menu mixed", "component_type": 2}))
	assertViews(t, waitViews(t, e, "tok-735", 2), []discordtest.View{
		{Token: "tok-735", Message: "@original", Content: "hello all"},
		{Token: "tok-735", Message: "5002", Content: "psst", Private: true},
	})
}
