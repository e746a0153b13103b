package identity

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/waddle/waddle/db"
	"github.com/waddle/waddle/problem"
	"github.com/waddle/waddle/router"
)

// Limits on link requests, in sliding windows: per requesting account and
// per target account.
const (
	RequestsPerAccount = 5
	RequestsPerTarget  = 3
	RequestWindow      = time.Hour
	MaxNameLen         = 100
)

// Directory finds a platform account by name in a community's linked
// server, for a target the community has not seen speak yet: Twitch Helix
// Get Users by login, Discord's guild member search. The bots implement it.
type Directory interface {
	// FindAccount returns the account called name on platform (server is the
	// community's linked channel, guild or workspace), or ErrNoAccount.
	FindAccount(ctx context.Context, platform, server, name string) (Account, error)
}

// ErrNoAccount: the directory knows no account by that name.
var ErrNoAccount = errors.New("no account by that name")

// Errors of a link request.
var (
	ErrLinkedElsewhere = problem.New(problem.Conflict, "That account is already linked to someone else: they can unlink it with !identity unlink from it.")
	ErrChatLinkOff     = problem.New(problem.Conflict, "Linking accounts from chat is not enabled on this server.")
)

// Sent is a link request's outcome: the code went out.
type Sent struct {
	To      Account
	Expires time.Time
}

// Request sends a code to the account called targetName on targetPlatform,
// which the account from (speaking in the community) wants to link with; the
// target links both by typing the code (Verify). Refused: an unknown
// platform or name, the requester's own platform (they have an account
// there: this one), a target linked to someone else (without saying whom),
// a target already linked to the requester, and requests past the limits.
// A code that cannot be delivered is a problem saying what to do.
func (s *Service) Request(ctx context.Context, communityID int64, from Account, targetPlatform, targetName string) (Sent, error) {
	targetPlatform = strings.ToLower(strings.TrimSpace(targetPlatform))
	targetName = strings.TrimPrefix(strings.TrimSpace(targetName), "@")
	pname, ok := PlatformName(targetPlatform)
	switch {
	case !ok:
		return Sent{}, problem.Invalidf("platform", "Unknown platform %q: link a twitch, discord or slack account.", runeCut(targetPlatform, 20))
	case targetName == "":
		return Sent{}, problem.Invalidf("username", "Say whose %s account: !identity link %s <username>.", pname, targetPlatform)
	case !utf8.ValidString(targetName) || utf8.RuneCountInString(targetName) > MaxNameLen || strings.ContainsAny(targetName, " \t\r\n"):
		return Sent{}, problem.Invalidf("username", "A username is one word of at most %d characters.", MaxNameLen)
	case targetPlatform == from.Platform:
		return Sent{}, problem.Invalidf("platform", "You are on %s already: run !identity link from this account to link one on another platform.", pname)
	case s.sender == nil:
		return Sent{}, ErrChatLinkOff
	}
	if r := s.limiter.Take(ctx, "idlink:from:"+from.Platform+":"+from.ID, RequestsPerAccount, RequestWindow); !r.Allowed {
		return Sent{}, &problem.Error{Code: problem.TooMany, RetryAfter: r.RetryAfter,
			Message: fmt.Sprintf("You asked for %d codes this hour: try again in %s.", RequestsPerAccount, roundUp(r.RetryAfter))}
	}
	q := db.New(s.pool)
	server, err := q.IdentityEntityOf(ctx, db.IdentityEntityOfParams{CommunityID: communityID, Platform: targetPlatform})
	if errors.Is(err, pgx.ErrNoRows) {
		return Sent{}, problem.New(problem.Conflict, "This community has no %s linked, so I cannot reach %s accounts.", pname, pname)
	}
	if err != nil {
		return Sent{}, fmt.Errorf("the community's %s server: %w", targetPlatform, err)
	}
	mine, err := q.IdentityAccountEnsure(ctx, db.IdentityAccountEnsureParams{Platform: from.Platform, AccountID: from.ID, UserName: from.Name})
	if err != nil {
		return Sent{}, fmt.Errorf("record the requester: %w", err)
	}
	accounts, err := q.IdentityAccountsOf(ctx, mine.IdentityID)
	if err != nil {
		return Sent{}, fmt.Errorf("the requester's accounts: %w", err)
	}
	for _, a := range accounts {
		if a.Platform == targetPlatform {
			return Sent{}, problem.New(problem.Conflict, "You have a %s account linked already (%s): unlink it first with !identity unlink %s.", pname, shownName(a), targetPlatform)
		}
	}
	to, err := s.findTarget(ctx, communityID, targetPlatform, server, targetName)
	if err != nil {
		return Sent{}, err
	}
	if r := s.limiter.Take(ctx, "idlink:to:"+to.Platform+":"+to.ID, RequestsPerTarget, RequestWindow); !r.Allowed {
		return Sent{}, &problem.Error{Code: problem.TooMany, RetryAfter: r.RetryAfter,
			Message: fmt.Sprintf("That account was sent %d codes this hour: try again in %s.", RequestsPerTarget, roundUp(r.RetryAfter))}
	}
	target, err := q.IdentityAccountEnsure(ctx, db.IdentityAccountEnsureParams{Platform: to.Platform, AccountID: to.ID, UserName: to.Name})
	if err != nil {
		return Sent{}, fmt.Errorf("record the target: %w", err)
	}
	if target.IdentityID == mine.IdentityID {
		return Sent{}, problem.New(problem.Conflict, "That %s account is linked to you already.", pname)
	}
	if err := s.linkable(ctx, q, mine.IdentityID, target.IdentityID); err != nil {
		return Sent{}, err
	}
	code, err := newCode()
	if err != nil {
		return Sent{}, err
	}
	hash, err := s.codeHash(ctx, communityID, to, code)
	if err != nil {
		return Sent{}, err
	}
	expires := s.now().Add(CodeLifetime)
	id, err := q.IdentityLinkCodeInsert(ctx, db.IdentityLinkCodeInsertParams{CommunityID: communityID, FromPlatform: from.Platform, FromAccount: from.ID,
		ToPlatform: to.Platform, ToAccount: to.ID, CodeHash: hash, ExpiresAt: expires})
	if err != nil {
		return Sent{}, fmt.Errorf("store the code: %w", err)
	}
	fromName, _ := PlatformName(from.Platform)
	text := fmt.Sprintf("%s on %s wants to link their account with yours in Waddle. If that is you, type !verify %s in the community's chat within 10 minutes. If not, ignore this message.",
		shownAccount(from), fromName, code)
	err = s.sender.Send(ctx, communityID, router.Message{Platform: to.Platform, Server: server, User: to.ID, Text: text, Wait: true})
	if err != nil {
		// The code never arrived: it must not wait to be guessed.
		if derr := q.IdentityLinkCodeDelete(context.WithoutCancel(ctx), id); derr != nil {
			s.logger.WarnContext(ctx, "could not delete an undelivered code", "err", derr)
		}
		return Sent{}, undelivered(to, pname, err)
	}
	return Sent{To: to, Expires: expires}, nil
}

// linkable refuses a target linked to someone else (without saying whom),
// and two hub users' identities.
func (s *Service) linkable(ctx context.Context, q *db.Queries, mine, target int64) error {
	theirs, err := q.IdentityAccountsOf(ctx, target)
	if err != nil {
		return fmt.Errorf("the target's accounts: %w", err)
	}
	if len(theirs) > 1 {
		return ErrLinkedElsewhere
	}
	a, err := q.IdentityGet(ctx, mine)
	if err != nil {
		return fmt.Errorf("read identity: %w", err)
	}
	b, err := q.IdentityGet(ctx, target)
	if err != nil {
		return fmt.Errorf("read identity: %w", err)
	}
	if a.UserID != nil && b.UserID != nil {
		return ErrLinkedElsewhere
	}
	return nil
}

// findTarget finds the account called name among those the community has
// seen on platform, then through the directory.
func (s *Service) findTarget(ctx context.Context, communityID int64, platform, server, name string) (Account, error) {
	pname, _ := PlatformName(platform)
	rows, err := db.New(s.pool).IdentityAccountSeenByName(ctx, db.IdentityAccountSeenByNameParams{CommunityID: communityID, Platform: platform, UserName: name})
	if err != nil {
		return Account{}, fmt.Errorf("find %s account %q: %w", platform, name, err)
	}
	if len(rows) > 0 {
		return Account{Platform: platform, ID: rows[0].AccountID, Name: rows[0].UserName}, nil
	}
	notFound := problem.New(problem.NotFound, "I cannot find %s user %s in this community: check the spelling (their username, not a nickname), or have them say something in the community's %s first.", pname, name, pname)
	if s.directory == nil {
		return Account{}, notFound
	}
	a, err := s.directory.FindAccount(ctx, platform, server, name)
	if errors.Is(err, ErrNoAccount) {
		return Account{}, notFound
	}
	if err != nil {
		s.logger.WarnContext(ctx, "directory lookup failed", "err", err, "platform", platform)
		return Account{}, problem.New(problem.Conflict, "I could not ask %s about %s just now: try again in a minute.", pname, name)
	}
	return a, nil
}

// undelivered turns a refused whisper or DM into the one line the requester
// reads: the platform's reason and what to do.
func undelivered(to Account, pname string, err error) error {
	if p := problem.As(err); p != nil {
		return &problem.Error{Code: problem.Conflict, Message: fmt.Sprintf("I could not send the code to %s on %s: %s", shownAccount(to), pname, p.Message)}
	}
	return problem.New(problem.Conflict, "I could not send the code to %s on %s just now: try again in a few minutes.", shownAccount(to), pname)
}

func shownAccount(a Account) string {
	if a.Name != "" {
		return a.Name
	}
	return a.ID
}

func roundUp(d time.Duration) string {
	if d < time.Minute {
		return "a minute"
	}
	return fmt.Sprintf("%d minutes", int((d+time.Minute-1)/time.Minute))
}

// runeCut cuts s to n runes, for echoing input.
func runeCut(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "…"
}
