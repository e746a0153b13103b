package auth

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/alexedwards/argon2id"
	"github.com/trustelem/zxcvbn/frequency"

	"github.com/waddle/waddle/problem"
)

// Password length bounds, in characters. No composition rules (NIST SP 800-63B).
const (
	MinPasswordLen = 8
	MaxPasswordLen = 128
)

// passwordParams are OWASP's argon2id recommendation (46 MiB, 1 pass, 1 lane).
var passwordParams = &argon2id.Params{Memory: 46 * 1024, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32}

// commonPasswords is the 30,000 most common passwords from leaked lists, as
// shipped in the zxcvbn strength estimator's frequency lists.
var commonPasswords = func() map[string]struct{} {
	list := frequency.FrequencyLists["passwords"]
	m := make(map[string]struct{}, len(list))
	for _, p := range list {
		if utf8.RuneCountInString(p) >= MinPasswordLen {
			m[p] = struct{}{}
		}
	}
	return m
}()

// ValidatePassword checks a new password against the rules.
func ValidatePassword(field, p string) error {
	n := utf8.RuneCountInString(p)
	switch {
	case n == 0:
		return problem.Invalidf(field, "Enter a password.")
	case !utf8.ValidString(p):
		return problem.Invalidf(field, "The password is not valid text.")
	case n < MinPasswordLen:
		return problem.Invalidf(field, "A password needs at least %d characters.", MinPasswordLen)
	case n > MaxPasswordLen:
		return problem.Invalidf(field, "A password has at most %d characters.", MaxPasswordLen)
	}
	if _, ok := commonPasswords[strings.ToLower(p)]; ok {
		return problem.Invalidf(field, "This password is one of the most common ones and easy to guess. Choose another.")
	}
	return nil
}

// HashPassword validates p and returns its argon2id hash in PHC string format.
func HashPassword(field, p string) (string, error) {
	if err := ValidatePassword(field, p); err != nil {
		return "", err
	}
	h, err := argon2id.CreateHash(p, passwordParams)
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	return h, nil
}

// dummyHash is compared against when no account exists, so that a sign-in
// for an unknown email takes as long as one for a known email.
var dummyHash, _ = argon2id.CreateHash("waddle-timing-equaliser", passwordParams)

// checkPassword reports whether p matches hash (nil: no password set).
func checkPassword(p string, hash *string) bool {
	if utf8.RuneCountInString(p) > MaxPasswordLen {
		return false
	}
	if hash == nil {
		argon2id.ComparePasswordAndHash(p, dummyHash)
		return false
	}
	ok, err := argon2id.ComparePasswordAndHash(p, *hash)
	return err == nil && ok
}
