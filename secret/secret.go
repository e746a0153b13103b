// Package secret encrypts secrets at rest (webhook secrets, platform tokens)
// with AES-256-GCM under the operator's TOKEN_ENCRYPTION_KEY.
package secret

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
)

// Box encrypts and decrypts with one key.
type Box struct {
	aead cipher.AEAD
}

// ErrNoKey is returned when a secret must be stored but no key is configured.
var ErrNoKey = errors.New("TOKEN_ENCRYPTION_KEY is not set: secrets cannot be stored")

// New returns a Box for a base64-encoded 32-byte key; an empty key gives a Box
// that refuses to work (ErrNoKey).
func New(b64 string) (*Box, error) {
	if b64 == "" {
		return &Box{}, nil
	}
	key, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || len(key) != 32 {
		return nil, errors.New("want 32 random bytes in base64, e.g. from `openssl rand -base64 32`")
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Box{aead: aead}, nil
}

// Seal encrypts plain; the nonce is stored in front of the ciphertext.
func (b *Box) Seal(plain []byte) ([]byte, error) {
	if b.aead == nil {
		return nil, ErrNoKey
	}
	nonce := make([]byte, b.aead.NonceSize())
	rand.Read(nonce)
	return b.aead.Seal(nonce, nonce, plain, nil), nil
}

// Open decrypts what Seal made.
func (b *Box) Open(sealed []byte) ([]byte, error) {
	if b.aead == nil {
		return nil, ErrNoKey
	}
	n := b.aead.NonceSize()
	if len(sealed) < n {
		return nil, errors.New("sealed secret too short")
	}
	plain, err := b.aead.Open(nil, sealed[:n], sealed[n:], nil)
	if err != nil {
		return nil, fmt.Errorf("decrypt secret (wrong TOKEN_ENCRYPTION_KEY?): %w", err)
	}
	return plain, nil
}
