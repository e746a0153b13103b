package handlers_test

import (
	"context"
	"strings"
	"testing"

	"github.com/waddle/waddle/db"
)

func TestHealthShowsRevocationsToAdmins(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.user("root@example.com", true)
	e.user("ann@example.com", false)
	if err := db.New(e.pool).RevocationInsert(context.Background(), db.RevocationInsertParams{Platform: "twitch", Subscription: "sub-1",
		Kind: "channel.follow", Reason: "authorization_revoked", Server: "duckchan"}); err != nil {
		t.Fatal(err)
	}
	doc := e.signedIn("root@example.com").get("/health", nil).doc(t)
	row := doc.Find(`[data-testid=revocation-row]`).Text()
	if !strings.Contains(row, "channel.follow") || !strings.Contains(row, "authorization_revoked") || !strings.Contains(row, "duckchan") {
		t.Errorf("admin's health page revocations: %q", row)
	}
	if !strings.Contains(doc.Find(`[data-testid=health]`).Text(), "TWITCH_EVENTSUB_SECRET not set") {
		t.Error("the health page does not say the EventSub webhook is off")
	}
	member := e.signedIn("ann@example.com").get("/health", nil).doc(t)
	if member.Find(`[data-testid=revocations]`).Length() != 0 || member.Find(`[data-testid=no-revocations]`).Length() != 0 {
		t.Error("a non-admin sees the platform revocations")
	}
}
