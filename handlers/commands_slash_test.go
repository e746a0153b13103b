package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/auth"
	"github.com/waddle/waddle/community"
	"github.com/waddle/waddle/router"
)

// TestCommandsPageShowsSlashCommands: past Discord's 100 the page says
// which names are slash commands and why the others are not, and a
// manager's choice is kept.
func TestCommandsPageShowsSlashCommands(t *testing.T) {
	t.Parallel()
	b := newBotEnv(t)
	ctx := context.Background()
	for i := range 95 {
		b.mustCommand(t, fmt.Sprintf("c%03d", i), "hi")
	}
	if _, err := b.settings.CreateCommand(ctx, audit.Actor{}, b.c.ID, router.CommandInput{Name: "tw", Response: "x", Permission: router.Everyone,
		Enabled: true, Platforms: []string{router.Twitch}}); err != nil {
		t.Fatal(err)
	}
	state := func(name string) (string, string) {
		t.Helper()
		row := b.admin.get(b.path("/commands"), nil).doc(t).Find(`[data-testid=slash-row][data-name="` + name + `"]`)
		if row.Length() != 1 {
			t.Fatalf("no slash row for %s", name)
		}
		return row.Find(`[data-testid=slash-state]`).Text(), row.Find(`[data-testid=slash-reason]`).Text()
	}
	// 9 built-ins + 95 commands: the last 4 by name are over the limit.
	if s, why := state("c094"); s != "no" || why != "over Discord's 100-command limit" {
		t.Errorf("c094: %q %q, want no, over the limit", s, why)
	}
	if s, why := state("tw"); s != "no" || why != "the command is not used on Discord" {
		t.Errorf("tw: %q %q", s, why)
	}
	if s, _ := state("c000"); s != "yes" {
		t.Errorf("c000: %q, want yes", s)
	}

	// Choosing c094 always makes it one; c090 drops out.
	res := b.admin.post(b.path("/commands/slash/c094"), url.Values{"choice": {"always"}}, nil)
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("choose: %d %.300s", res.StatusCode, res.body)
	}
	if s, _ := state("c094"); s != "yes" {
		t.Errorf("c094 chosen always: %q, want yes", s)
	}
	if s, why := state("c090"); s != "no" || why != "over Discord's 100-command limit" {
		t.Errorf("c090: %q %q, want pushed over the limit", s, why)
	}
	doc := b.admin.get(b.path("/commands"), nil).doc(t)
	if got := doc.Find(`[data-testid=slash-row][data-name="c094"] option[selected]`).AttrOr("value", ""); got != "always" {
		t.Errorf("c094's choice shows %q, want always", got)
	}

	// Bad input: an unknown choice, an unknown name; members may not choose.
	if res := b.admin.post(b.path("/commands/slash/c000"), url.Values{"choice": {"sometimes"}}, nil); res.StatusCode != http.StatusBadRequest ||
		!strings.Contains(formError(t, res), "Choose auto, always or never") {
		t.Errorf("unknown choice: %d %q", res.StatusCode, formError(t, res))
	}
	if res := b.admin.post(b.path("/commands/slash/nope"), url.Values{"choice": {"never"}}, nil); res.StatusCode != http.StatusNotFound {
		t.Errorf("unknown name: %d, want 404", res.StatusCode)
	}
	if res := b.member.post(b.path("/commands/slash/c000"), url.Values{"choice": {"never"}}, nil); res.StatusCode != http.StatusForbidden {
		t.Errorf("a member chose: %d, want 403", res.StatusCode)
	}
	if s, _ := state("c000"); s != "yes" {
		t.Errorf("c000 after refused changes: %q, want yes", s)
	}
}

// TestDiscordInstallLinkAsksForThreadReplies: the install link asks for
// Send Messages in Threads beside the permissions moderation needs.
func TestDiscordInstallLinkAsksForThreadReplies(t *testing.T) {
	t.Parallel()
	var f platformFakes
	e := newEnv(t, withPlatforms(t, &f))
	owner := e.user("owner@example.com", true)
	a := e.community(owner, "ducks", map[auth.User]community.Role{})
	hub := e.signedIn(owner.Email)
	href, _ := hub.get(fmt.Sprintf("/c/%d/servers", a.ID), nil).doc(t).Find(`[data-testid="discord-install"]`).Attr("href")
	u, err := url.Parse(href)
	if err != nil {
		t.Fatal(err)
	}
	perms, err := strconv.ParseInt(u.Query().Get("permissions"), 10, 64)
	if err != nil {
		t.Fatalf("permissions %q: %v", u.Query().Get("permissions"), err)
	}
	want := map[string]int64{"view channels": 1 << 10, "send messages": 1 << 11, "send messages in threads": 1 << 38,
		"manage messages": 1 << 13, "moderate members": 1 << 40, "ban members": 1 << 2}
	for name, bit := range want {
		if perms&bit == 0 {
			t.Errorf("the install link does not ask for %s", name)
		}
	}
	if perms&8 != 0 {
		t.Error("the install link asks for Administrator")
	}
}
