package twitch

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/waddle/waddle/platform"
	"github.com/waddle/waddle/problem"
)

// DefaultValidateEvery is how often the stored user tokens are validated:
// Twitch requires apps to validate them on start and hourly after.
const DefaultValidateEvery = time.Hour

// needsReconnectError is the error of a call that would use a token Twitch
// no longer accepts: the bot does not use it until its owner connects
// again. It wraps a problem.Conflict that says so.
type needsReconnectError struct{ p *problem.Error }

func (e *needsReconnectError) Error() string { return e.p.Error() }

func (e *needsReconnectError) Unwrap() error { return e.p }

func errNeedsReconnect(subject string) error {
	if subject == platform.BotSubject {
		return &needsReconnectError{problem.New(problem.Conflict, "Twitch no longer accepts the bot account's token: connect the bot account again on the health page.")}
	}
	return &needsReconnectError{problem.New(problem.Conflict, "Twitch no longer accepts the token of channel %s: its owner must reconnect it on the community's linked servers page.", subject)}
}

// isNeedsReconnect reports whether err is errNeedsReconnect's.
func isNeedsReconnect(err error) bool {
	var e *needsReconnectError
	return errors.As(err, &e)
}

// requiredScopes are the scopes the bot asks subject's owner for.
func requiredScopes(subject string) []string {
	if subject == platform.BotSubject {
		return BotScopes
	}
	return BroadcasterScopes
}

// missingScopes lists the scopes of want that have lacks.
func missingScopes(want, have []string) []string {
	var out []string
	for _, s := range want {
		if !slices.Contains(have, s) {
			out = append(out, s)
		}
	}
	return out
}

// tokensLoop validates the bot account's token and those of the held
// channels when the bot starts, every ValidateEvery after, and each newly
// held channel's when this instance gains it.
func (b *Bot) tokensLoop(ctx context.Context) {
	t := time.NewTicker(b.cfg.ValidateEvery)
	defer t.Stop()
	checked := map[string]bool{} // subjects validated by this instance since it started
	for {
		b.mu.Lock()
		subjects := append([]string{platform.BotSubject}, b.held...)
		b.mu.Unlock()
		for _, s := range subjects {
			if ctx.Err() != nil {
				return
			}
			if !checked[s] {
				b.validateToken(ctx, s)
				checked[s] = true
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			clear(checked)
		case <-b.checkKick:
		}
	}
}

// kickTokens has the tokens loop validate the channels gained meanwhile.
func (b *Bot) kickTokens() {
	select {
	case b.checkKick <- struct{}{}:
	default:
	}
}

// validateToken validates subject's stored token. One Twitch refuses is
// refreshed; when that fails for good (or there is no refresh token) the
// token is marked as needing a reconnect and no longer used.
func (b *Bot) validateToken(ctx context.Context, subject string) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	tok, err := b.cfg.Tokens.Get(ctx, Platform, subject)
	if errors.Is(err, platform.ErrNoToken) {
		return
	}
	if err != nil {
		b.log.WarnContext(ctx, "cannot load a twitch token to validate it", "subject", subject, "err", err)
		return
	}
	if tok.NeedsReconnect != "" {
		return // not used until reconnected; Twitch needs no more checks of it
	}
	info, err := b.cfg.OAuth.Validate(ctx, tok.Access)
	switch {
	case errors.Is(err, errTokenRefused):
		if tok.Refresh == "" {
			b.needsReconnect(ctx, subject, tok, "Twitch no longer accepts the token (revoked, or the account's password changed), and it has no refresh token.")
			return
		}
		if _, err := b.helix.refreshUser(ctx, subject, tok.Access); err != nil {
			// refreshLocked marked it when Twitch refused the refresh token.
			b.log.WarnContext(ctx, "twitch refused a token and it could not be refreshed", "subject", subject, "err", err)
			return
		}
		if tok, err = b.cfg.Tokens.Get(ctx, Platform, subject); err != nil {
			b.log.WarnContext(ctx, "cannot load a refreshed twitch token", "subject", subject, "err", err)
			return
		}
		if info, err = b.cfg.OAuth.Validate(ctx, tok.Access); err != nil {
			b.log.WarnContext(ctx, "cannot validate a refreshed twitch token", "subject", subject, "err", err)
			return
		}
	case err != nil:
		b.log.WarnContext(ctx, "cannot validate a twitch token: trying again later", "subject", subject, "err", err)
		return
	}
	if info.ClientID != "" && info.ClientID != b.cfg.OAuth.ClientID {
		b.needsReconnect(ctx, subject, tok, "The token was issued to another Twitch application than TWITCH_CLIENT_ID.")
		return
	}
	if who := ownerMismatch(subject, strings.ToLower(b.cfg.BotLogin), info.Login); who != "" {
		b.needsReconnect(ctx, subject, tok, who)
		return
	}
	tok.Scopes = info.Scopes
	if info.UserID != "" {
		tok.AccountID, tok.AccountLogin = info.UserID, info.Login
	}
	if !info.Expires.IsZero() {
		tok.Expires = info.Expires
	}
	missing := missingScopes(requiredScopes(subject), info.Scopes)
	if err := b.cfg.Tokens.Checked(ctx, Platform, subject, tok, missing); err != nil {
		b.log.WarnContext(ctx, "cannot record a twitch token's validation", "subject", subject, "err", err)
	}
	if len(missing) > 0 {
		b.log.WarnContext(ctx, "a twitch token lacks scopes the bot asks for: connect the account again to grant them", "subject", subject, "missing", missing)
	}
}

// needsReconnect marks subject's token (as loaded, tok) as refused by
// Twitch, and stops using it: the bot account's chat session goes
// anonymous. A token replaced meanwhile is left alone.
func (b *Bot) needsReconnect(ctx context.Context, subject string, tok platform.Token, reason string) {
	marked, err := b.cfg.Tokens.MarkNeedsReconnect(ctx, Platform, subject, tok, reason)
	if err != nil {
		b.log.ErrorContext(ctx, "cannot record that a twitch token needs reconnecting", "subject", subject, "err", err)
		return
	}
	if !marked {
		return
	}
	b.log.WarnContext(ctx, "a twitch token needs reconnecting: the bot no longer uses it", "subject", subject, "reason", reason)
	if subject != platform.BotSubject {
		return
	}
	b.mu.Lock()
	c, anon := b.client, b.anonymous
	b.mu.Unlock()
	if c != nil && !anon {
		c.Disconnect() // the next session reads anonymously
	}
}

// ownerMismatch says why a token Twitch validated for login cannot stand
// for subject: a channel's grant must be its owner's (EventSub conditions
// and moderation calls are made for the token's user), and the bot
// account's must be TWITCH_BOT_LOGIN's. "" when it is who it should be.
func ownerMismatch(subject, botLogin, login string) string {
	if login == "" {
		return ""
	}
	login = strings.ToLower(login)
	if subject == platform.BotSubject {
		if botLogin != "" && login != botLogin {
			return fmt.Sprintf("The token is Twitch account %s's, not the bot account %s's.", login, botLogin)
		}
		return ""
	}
	if login != strings.ToLower(subject) {
		return fmt.Sprintf("The token is Twitch account %s's, not the channel owner's: %s must connect the channel.", login, subject)
	}
	return ""
}
