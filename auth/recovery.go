package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/db"
	"github.com/waddle/waddle/problem"
)

// Recovery codes stand in for a lost second factor, once each. A code is 16
// characters of Crockford's base32 (80 random bits), shown as four groups of
// four; only a SHA-256 of a random 16-byte salt and the code is stored.
const (
	RecoveryCodeCount = 10
	recoveryCodeLen   = 16
)

var crockford = base32.NewEncoding("0123456789abcdefghjkmnpqrstvwxyz").WithPadding(base32.NoPadding)

// newRecoveryCode returns a code formatted for people: "xxxx-xxxx-xxxx-xxxx".
func newRecoveryCode() string {
	b := make([]byte, recoveryCodeLen*5/8)
	rand.Read(b)
	c := crockford.EncodeToString(b)
	return c[0:4] + "-" + c[4:8] + "-" + c[8:12] + "-" + c[12:16]
}

// normalizeRecoveryCode drops separators and case, and reads the letters
// people confuse with digits (o, i, l) as Crockford's base32 does.
func normalizeRecoveryCode(code string) (string, error) {
	c := strings.ToLower(strings.TrimSpace(code))
	c = strings.NewReplacer("-", "", " ", "", "o", "0", "i", "1", "l", "1").Replace(c)
	if len(c) != recoveryCodeLen {
		return "", problem.Invalidf("code", "A recovery code has 16 letters and digits, like abcd-efgh-jkmn-pqrs.")
	}
	if _, err := crockford.DecodeString(c); err != nil {
		return "", problem.Invalidf("code", "A recovery code has 16 letters and digits, like abcd-efgh-jkmn-pqrs.")
	}
	return c, nil
}

func hashRecoveryCode(salt []byte, normal string) []byte {
	h := sha256.New()
	h.Write(salt)
	h.Write([]byte(normal))
	return h.Sum(nil)
}

// replaceRecoveryCodes voids the account's codes and makes ten new ones.
func replaceRecoveryCodes(ctx context.Context, q *db.Queries, userID int64) ([]string, error) {
	if err := q.RecoveryCodeDeleteAll(ctx, userID); err != nil {
		return nil, err
	}
	codes := make([]string, RecoveryCodeCount)
	rows := make([]db.RecoveryCodeInsertParams, RecoveryCodeCount)
	for i := range codes {
		codes[i] = newRecoveryCode()
		normal, _ := normalizeRecoveryCode(codes[i])
		salt := make([]byte, 16)
		rand.Read(salt)
		rows[i] = db.RecoveryCodeInsertParams{UserID: userID, Salt: salt, CodeHash: hashRecoveryCode(salt, normal)}
	}
	if _, err := q.RecoveryCodeInsert(ctx, rows); err != nil {
		return nil, err
	}
	return codes, nil
}

// ensureRecoveryCodes gives the account ten codes when it has none left (its
// first second factor), recorded in the audit log; nil when it has some.
func (s *Service) ensureRecoveryCodes(ctx context.Context, tx pgx.Tx, u User, ip string) ([]string, error) {
	q := db.New(tx)
	n, err := q.RecoveryCodeCountUnused(ctx, u.ID)
	if err != nil || n > 0 {
		return nil, err
	}
	codes, err := replaceRecoveryCodes(ctx, q, u.ID)
	if err != nil {
		return nil, err
	}
	return codes, audit.Record(ctx, tx, actorOf(u, ip), audit.Entry{Action: audit.RecoveryCodesGenerated, Target: u.Email})
}

// RegenerateRecoveryCodes voids the account's recovery codes and returns ten
// new ones, to be shown once, after the password is checked again. Only an
// account with a second factor has recovery codes.
func (s *Service) RegenerateRecoveryCodes(ctx context.Context, u User, password, ip string) ([]string, error) {
	if err := s.CheckPassword(ctx, u, password, ip); err != nil {
		return nil, err
	}
	var codes []string
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		q := db.New(tx)
		has, err := hasTwoFactor(ctx, q, u.ID, s.passkey.rpID)
		if err != nil {
			return err
		}
		if !has {
			return problem.New(problem.Conflict, "Set up an authenticator app or a passkey first: recovery codes stand in for them.")
		}
		if codes, err = replaceRecoveryCodes(ctx, q, u.ID); err != nil {
			return err
		}
		return s.recordFactorChange(ctx, tx, u.ID, actorOf(u, ip), audit.Entry{Action: audit.RecoveryCodesGenerated, Target: u.Email})
	})
	if err != nil {
		return nil, fmt.Errorf("regenerate recovery codes: %w", err)
	}
	return codes, nil
}

// useRecoveryCode uses up the account's code matching normal, if any.
func useRecoveryCode(ctx context.Context, q *db.Queries, userID int64, normal string) (bool, error) {
	rows, err := q.RecoveryCodeListUnused(ctx, userID)
	if err != nil {
		return false, err
	}
	var match int64
	for _, r := range rows { // every row is hashed, so the time taken does not say which matched
		if subtle.ConstantTimeCompare(hashRecoveryCode(r.Salt, normal), r.CodeHash) == 1 {
			match = r.ID
		}
	}
	if match == 0 {
		return false, nil
	}
	n, err := q.RecoveryCodeUse(ctx, db.RecoveryCodeUseParams{ID: match, UserID: userID})
	return n == 1, err
}
