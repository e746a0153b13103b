package auth

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"github.com/waddle/waddle/db"
)

// throttleKey is the limiter key that counts attempts of one kind ("signin:acct",
// "reset:ip", …) by who: an email or client address. Limiter keys live in
// Redis, which must not hold people's addresses, so who is replaced by a keyed
// hash: HMAC-SHA256 under the installation's pseudonym key, cut to 128 bits.
// Without the key, a key name cannot be tied to an address by hashing guesses.
func (s *Service) throttleKey(ctx context.Context, kind, who string) (string, error) {
	key, err := s.pseudonymKey(ctx)
	if err != nil {
		return "", err
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte(kind))
	m.Write([]byte{0})
	m.Write([]byte(who))
	return kind + ":" + hex.EncodeToString(m.Sum(nil)[:16]), nil
}

// signInKeys are the limiter keys of a sign-in: the account's and the client address's.
func (s *Service) signInKeys(ctx context.Context, email, ip string) (acct, byIP string, err error) {
	if acct, err = s.throttleKey(ctx, "signin:acct", email); err != nil {
		return "", "", err
	}
	if byIP, err = s.throttleKey(ctx, "signin:ip", ip); err != nil {
		return "", "", err
	}
	return acct, byIP, nil
}

// clearSignInFailures forgets the account's failed sign-ins (after a new password).
func (s *Service) clearSignInFailures(ctx context.Context, email string) {
	k, err := s.throttleKey(ctx, "signin:acct", email)
	if err != nil {
		s.logger.WarnContext(ctx, "could not clear the account's failed sign-ins", "err", err)
		return
	}
	s.limiter.Reset(ctx, k, failWindow)
}

// pseudonymKey is the installation's key for throttleKey: made once, by the
// first instance that needs it, and kept in PostgreSQL so that every instance
// and every restart names a person alike.
func (s *Service) pseudonymKey(ctx context.Context) ([]byte, error) {
	s.keyMu.Lock()
	defer s.keyMu.Unlock()
	if s.pseudoKey != nil {
		return s.pseudoKey, nil
	}
	fresh := make([]byte, 32)
	rand.Read(fresh)
	key, err := db.New(s.pool).ServerKeyEnsure(ctx, db.ServerKeyEnsureParams{Name: "pseudonym", Key: fresh})
	if err != nil {
		return nil, fmt.Errorf("load the pseudonym key: %w", err)
	}
	s.pseudoKey = key
	return key, nil
}
