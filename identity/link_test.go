package identity_test

import (
	"strings"
	"testing"

	"github.com/waddle/waddle/db"
	"github.com/waddle/waddle/identity"
	"github.com/waddle/waddle/problem"
	"github.com/waddle/waddle/router"
)

// Alice links her Discord account from Twitch: the code goes to the Discord
// account by DM (waiting for Discord's answer), only its keyed hash is
// stored, and typing it on Discord makes one person with one balance, which
// !points shows on both platforms.
func TestLinkFromTwitchToDiscord(t *testing.T) {
	e := newEnv(t)
	e.say(alice, "hi") // 5 chat points on Twitch
	e.seen(bob)        // 5 on Discord
	got := e.say(alice, "!identity link discord BOB")
	if !strings.Contains(got, "I sent a code to bob on Discord by DM") {
		t.Fatalf("link request answered %q", got)
	}
	m := e.box.last(t)
	if m.Platform != router.Discord || m.Server != "3000" || m.User != bob.id || !m.Wait {
		t.Errorf("code sent as %+v, want a DM to %s in guild 3000 that waits for Discord's answer", m, bob.id)
	}
	code := e.box.code(t)
	for _, c := range code {
		if strings.ContainsRune("0O1IL", c) {
			t.Errorf("code %q has a look-alike character", code)
		}
	}
	var hash []byte
	if err := e.pool.QueryRow(t.Context(), "SELECT code_hash FROM identity_link_codes").Scan(&hash); err != nil {
		t.Fatal(err)
	}
	if len(hash) != 32 || strings.Contains(string(hash), code) {
		t.Errorf("stored code_hash %x, want a 32-byte keyed hash, not the code", hash)
	}

	got = e.say(bob, "!verify "+strings.ToLower(code))
	if !strings.Contains(got, "linked: Discord bob, Twitch alice are one person now, with 10 points here") {
		t.Errorf("verify answered %q", got)
	}
	if e.identityOf(alice) != e.identityOf(bob) {
		t.Error("the accounts have two identities after the link")
	}
	for _, p := range []person{alice, bob} {
		if got := e.say(p, "!points"); !strings.Contains(got, "you have 10 points") {
			t.Errorf("!points of %s answered %q, want the one balance of 10", p.name, got)
		}
	}
	if got := e.say(alice, "!identity"); !strings.Contains(got, "your linked accounts: Discord bob, Twitch alice") {
		t.Errorf("!identity answered %q", got)
	}
	// The code is used up.
	if got := e.say(bob, "!verify "+code); !strings.Contains(got, "no live code") {
		t.Errorf("a used code answered %q", got)
	}
}

// And back: from Discord to Twitch.
func TestLinkFromDiscordToTwitch(t *testing.T) {
	e := newEnv(t)
	if got := e.link(bob, alice); !strings.Contains(got, "linked:") {
		t.Fatalf("verify answered %q", got)
	}
	m := e.box.last(t)
	if m.Platform != router.Twitch || m.Server != "duckchan" || m.User != alice.id {
		t.Errorf("code sent as %+v, want a whisper to %s", m, alice.id)
	}
	if e.identityOf(alice) != e.identityOf(bob) {
		t.Error("the accounts have two identities after the link")
	}
}

// A wrong code costs a try; the fifth kills the code, so the sixth try
// fails even with the right code. A malformed code costs nothing.
func TestVerifyWrongCodesThenDead(t *testing.T) {
	e := newEnv(t)
	e.seen(bob)
	e.say(alice, "!identity link discord bob")
	code := e.box.code(t)
	wrong := "ABCDEF"
	if wrong == code {
		wrong = "GHJKMN"
	}
	for _, bad := range []string{"ABC", "ABCDEFG", "ABCDE0", "ABCDEO", "ABCDE1", "ABCDEI", "ABCDEL", "ÄBCDEF"} {
		if got := e.say(bob, "!verify "+bad); !strings.Contains(got, "A code is 6 letters and digits, without 0, O, 1, I or L") {
			t.Errorf("!verify %s answered %q", bad, got)
		}
	}
	for i := 4; i >= 1; i-- {
		if got := e.say(bob, "!verify "+wrong); !strings.Contains(got, "Wrong code: "+string(rune('0'+i))+" tries left") {
			t.Errorf("wrong try answered %q, want %d tries left", got, i)
		}
	}
	if got := e.say(bob, "!verify "+wrong); !strings.Contains(got, "Wrong code 5 times: that code is dead") {
		t.Errorf("fifth wrong try answered %q", got)
	}
	if got := e.say(bob, "!verify "+code); !strings.Contains(got, "no live code") {
		t.Errorf("sixth try, with the right code, answered %q", got)
	}
	if e.identityOf(alice) == e.identityOf(bob) {
		t.Error("linked after five wrong tries")
	}
}

// A code lives ten minutes.
func TestVerifyExpired(t *testing.T) {
	e := newEnv(t)
	e.seen(bob)
	e.say(alice, "!identity link discord bob")
	code := e.box.code(t)
	e.clock.add(identity.CodeLifetime)
	if got := e.say(bob, "!verify "+code); !strings.Contains(got, "That code expired") {
		t.Errorf("an expired code answered %q", got)
	}
	if e.identityOf(alice) == e.identityOf(bob) {
		t.Error("linked with an expired code")
	}
}

// A target linked to someone else is refused without saying to whom; so is
// a second account of a platform the requester has, and the requester's
// own platform.
func TestLinkRefusals(t *testing.T) {
	e := newEnv(t)
	dave := person{router.Twitch, "t2", "dave"}
	if got := e.link(dave, carol); !strings.Contains(got, "linked:") {
		t.Fatalf("dave and carol: %q", got)
	}
	before := e.box.count()
	got := e.say(alice, "!identity link discord carol")
	if !strings.Contains(got, "already linked to someone else") || strings.Contains(got, "dave") {
		t.Errorf("a target linked elsewhere answered %q", got)
	}
	if e.box.count() != before {
		t.Error("a code went to a target linked elsewhere")
	}
	if got := e.say(dave, "!identity link discord bob"); !strings.Contains(got, "You have a Discord account linked already (carol)") {
		t.Errorf("a second Discord account answered %q", got)
	}
	if got := e.say(alice, "!identity link twitch dave"); !strings.Contains(got, "You are on Twitch already") {
		t.Errorf("the requester's own platform answered %q", got)
	}
	if got := e.say(carol, "!identity link twitch dave"); !strings.Contains(got, "You have a Twitch account linked already") {
		t.Errorf("linking what is linked answered %q", got)
	}
}

// Bad input gets its own answer, and sends nothing.
func TestLinkBadInput(t *testing.T) {
	e := newEnv(t)
	cases := []struct{ text, want string }{
		{"!identity link myspace bob", `Unknown platform "myspace"`},
		{"!identity link discord", "usage: !identity link <twitch|discord|slack> <username>"},
		{"!identity link", "usage: !identity link"},
		{"!identity link discord " + strings.Repeat("b", 101), "A username is one word of at most 100 characters"},
		{"!identity link discord nobody", "I cannot find Discord user nobody in this community"},
		{"!identity unlink", "usage: !identity unlink"},
		{"!identity unlink myspace", `Unknown platform "myspace"`},
		{"!identity unlink discord", "You have no Discord account linked to this one"},
		{"!identity frobnicate", "usage: !identity, !identity link"},
		{"!verify", "usage: !verify <code>"},
		{"!verify AB CD", "usage: !verify <code>"},
		{"!verify ABCDEF", "no live code"},
	}
	for _, c := range cases {
		if got := e.say(alice, c.text); !strings.Contains(got, c.want) {
			t.Errorf("%q answered %q, want %q", c.text, got, c.want)
		}
	}
	if n := e.box.count(); n != 0 {
		t.Errorf("%d messages sent on bad input", n)
	}
}

// A code that cannot be delivered is one line saying what to do, and no
// code is left to guess.
func TestLinkUndelivered(t *testing.T) {
	e := newEnv(t)
	e.seen(bob)
	e.box.refuse[bob.id] = problem.New(problem.Forbidden, "Discord refused the DM: they do not accept direct messages from this server's members.")
	got := e.say(alice, "!identity link discord bob")
	want := "@alice I could not send the code to bob on Discord: Discord refused the DM: they do not accept direct messages from this server's members."
	if got != want {
		t.Errorf("undelivered code answered %q, want %q", got, want)
	}
	var n int
	if err := e.pool.QueryRow(t.Context(), "SELECT count(*) FROM identity_link_codes").Scan(&n); err != nil || n != 0 {
		t.Errorf("%d codes stored (%v), want none", n, err)
	}
}

// Requests are limited per requesting account and per target.
func TestLinkRateLimits(t *testing.T) {
	e := newEnv(t)
	e.seen(bob)
	for i := range identity.RequestsPerTarget {
		if got := e.say(alice, "!identity link discord bob"); !strings.Contains(got, "I sent a code") {
			t.Fatalf("request %d answered %q", i+1, got)
		}
	}
	if got := e.say(alice, "!identity link discord bob"); !strings.Contains(got, "That account was sent 3 codes this hour") {
		t.Errorf("a request past the target's limit answered %q", got)
	}
	for i := identity.RequestsPerTarget + 1; i < identity.RequestsPerAccount; i++ {
		e.say(alice, "!identity link discord bob")
	}
	if got := e.say(alice, "!identity link discord bob"); !strings.Contains(got, "You asked for 5 codes this hour") {
		t.Errorf("a request past the requester's limit answered %q", got)
	}
	// Only the newest code of a target lives.
	var live int
	if err := e.pool.QueryRow(t.Context(), "SELECT count(*) FROM identity_link_codes WHERE used_at IS NULL").Scan(&live); err != nil || live != 1 {
		t.Errorf("%d live codes (%v), want 1", live, err)
	}
}

// Unlinking keeps the balance and the history with the identity; the
// unlinked account starts at 0.
func TestUnlink(t *testing.T) {
	e := newEnv(t)
	e.say(alice, "hi")
	if got := e.link(alice, bob); !strings.Contains(got, "with 10 points here") {
		t.Fatalf("verify answered %q", got)
	}
	id := e.identityOf(alice)
	got := e.say(alice, "!identity unlink discord")
	if !strings.Contains(got, "unlinked your Discord account bob: it starts fresh at 0 points") {
		t.Errorf("unlink answered %q", got)
	}
	if e.identityOf(bob) == id || e.identityOf(alice) != id {
		t.Error("bob did not leave alice's identity")
	}
	if b := e.balance(alice); b != 10 {
		t.Errorf("alice has %d points after the unlink, want 10", b)
	}
	if got := e.say(bob, "!points"); !strings.Contains(got, "you have 0 points") {
		t.Errorf("bob's !points answered %q, want 0", got)
	}
	rows, err := db.New(e.pool).PointsLedgerByUser(t.Context(), db.PointsLedgerByUserParams{CommunityID: e.cid, Platform: alice.platform, UserID: alice.id, Lim: 100})
	if err != nil {
		t.Fatal(err)
	}
	var sum int64
	merged := false
	for _, r := range rows {
		sum += r.Delta
		merged = merged || strings.HasPrefix(r.Reason, "merged from discord bob")
	}
	if sum != 10 || !merged {
		t.Errorf("alice's ledger sums to %d (merge row kept: %v), want 10 with the merge row", sum, merged)
	}
	if got := e.say(alice, "!identity"); !strings.Contains(got, "not linked to any other") {
		t.Errorf("!identity after the unlink answered %q", got)
	}
}

// !help lists the linking commands for everyone.
func TestHelpListsLinkCommands(t *testing.T) {
	e := newEnv(t)
	got := e.say(alice, "!help")
	for _, want := range []string{"!identity", "!verify"} {
		if !strings.Contains(got, want+" ") && !strings.HasSuffix(got, want) {
			t.Errorf("!help answered %q, without %s", got, want)
		}
	}
}
