package identity

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/waddle/waddle/db"
	"github.com/waddle/waddle/problem"
)

// Link codes: six characters from an alphabet without the look-alikes
// 0/O, 1/I/L, drawn with crypto/rand, stored only as an HMAC-SHA256 under a
// key the installation keeps in PostgreSQL (server_keys), valid
// CodeLifetime, dead after CodeAttempts wrong tries.
const (
	CodeAlphabet = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
	CodeLen      = 6
	CodeLifetime = 10 * time.Minute
	CodeAttempts = 5
)

// ErrCodeFormat refuses a typed code that cannot be one; it costs no attempt.
var ErrCodeFormat = problem.Invalidf("code", "A code is %d letters and digits, without 0, O, 1, I or L.", CodeLen)

// newCode draws a code.
func newCode() (string, error) {
	var b strings.Builder
	n := big.NewInt(int64(len(CodeAlphabet)))
	for range CodeLen {
		i, err := rand.Int(rand.Reader, n)
		if err != nil {
			return "", fmt.Errorf("draw a code: %w", err)
		}
		b.WriteByte(CodeAlphabet[i.Int64()])
	}
	return b.String(), nil
}

// normalCode is a typed code in upper case, or ErrCodeFormat.
func normalCode(typed string) (string, error) {
	c := strings.ToUpper(strings.TrimSpace(typed))
	if len(c) != CodeLen {
		return "", ErrCodeFormat
	}
	for i := range len(c) {
		if !strings.ContainsRune(CodeAlphabet, rune(c[i])) {
			return "", ErrCodeFormat
		}
	}
	return c, nil
}

// codeHash is the stored form of a code: keyed, and bound to the community
// and the account it was sent to, so a hash says nothing without the key and
// fits no other target.
func (s *Service) codeHash(ctx context.Context, communityID int64, to Account, code string) ([]byte, error) {
	key, err := s.linkKey(ctx)
	if err != nil {
		return nil, err
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte(strconv.FormatInt(communityID, 10)))
	m.Write([]byte{0})
	m.Write([]byte(to.Platform))
	m.Write([]byte{0})
	m.Write([]byte(to.ID))
	m.Write([]byte{0})
	m.Write([]byte(code))
	return m.Sum(nil), nil
}

// codeMatches compares in constant time.
func codeMatches(stored, typed []byte) bool { return hmac.Equal(stored, typed) }

// linkKey is the installation's key of link codes: made once, by the first
// instance that needs it, and kept in PostgreSQL so every instance checks
// every code alike.
func (s *Service) linkKey(ctx context.Context) ([]byte, error) {
	s.keyMu.Lock()
	defer s.keyMu.Unlock()
	if s.codeKey != nil {
		return s.codeKey, nil
	}
	fresh := make([]byte, 32)
	rand.Read(fresh)
	key, err := db.New(s.pool).ServerKeyEnsure(ctx, db.ServerKeyEnsureParams{Name: "identity-link-codes", Key: fresh})
	if err != nil {
		return nil, fmt.Errorf("load the link code key: %w", err)
	}
	s.codeKey = key
	return key, nil
}
