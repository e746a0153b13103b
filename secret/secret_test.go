package secret

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"testing"
)

func key() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}

func TestSealOpen(t *testing.T) {
	t.Parallel()
	box, err := New(key())
	if err != nil {
		t.Fatal(err)
	}
	a, _ := box.Seal([]byte("webhook-secret"))
	b, _ := box.Seal([]byte("webhook-secret"))
	if bytes.Contains(a, []byte("webhook-secret")) || bytes.Equal(a, b) {
		t.Error("sealed secrets must not contain the plain text nor repeat")
	}
	got, err := box.Open(a)
	if err != nil || string(got) != "webhook-secret" {
		t.Fatalf("open = %q, %v", got, err)
	}
	a[len(a)-1] ^= 1
	if _, err := box.Open(a); err == nil {
		t.Error("a tampered secret opened")
	}
	other, _ := New(key())
	if _, err := other.Open(b); err == nil {
		t.Error("another key opened the secret")
	}
	if _, err := box.Open([]byte("x")); err == nil {
		t.Error("a short secret opened")
	}
}

func TestKeys(t *testing.T) {
	t.Parallel()
	for _, bad := range []string{"not base64!", base64.StdEncoding.EncodeToString([]byte("short"))} {
		if _, err := New(bad); err == nil {
			t.Errorf("key %q accepted", bad)
		}
	}
	none, err := New("")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := none.Seal([]byte("x")); !errors.Is(err, ErrNoKey) {
		t.Errorf("no key: %v, want ErrNoKey", err)
	}
}
