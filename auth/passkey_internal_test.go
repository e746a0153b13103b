package auth

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/fxamacker/cbor/v2"

	"github.com/waddle/waddle/db"
	"github.com/waddle/waddle/problem"
)

// softAuthenticator is a passkey in software, made the way a platform
// authenticator makes one (ES256, "none" attestation), so the server's
// checks run against real WebAuthn messages without a browser.
type softAuthenticator struct {
	t      *testing.T
	key    *ecdsa.PrivateKey
	id     []byte
	handle []byte
	count  uint32
	rpID   string
	origin string
}

// WebAuthn authenticator data flags.
const (
	flagUP = 0x01 // user present
	flagUV = 0x04 // user verified
	flagAT = 0x40 // attested credential data included
)

var b64u = base64.RawURLEncoding

func newSoftAuthenticator(t *testing.T) *softAuthenticator {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	id := make([]byte, 16)
	rand.Read(id)
	return &softAuthenticator{t: t, key: k, id: id, rpID: "hub.test", origin: "http://hub.test"}
}

type publicKeyOptions struct {
	PublicKey struct {
		Challenge string `json:"challenge"`
		RP        struct {
			ID string `json:"id"`
		} `json:"rp"`
		RPID string `json:"rpId"`
		User struct {
			ID string `json:"id"`
		} `json:"user"`
		UserVerification string `json:"userVerification"`
	} `json:"publicKey"`
}

func (a *softAuthenticator) options(raw []byte) publicKeyOptions {
	a.t.Helper()
	var o publicKeyOptions
	if err := json.Unmarshal(raw, &o); err != nil {
		a.t.Fatalf("options %s: %v", raw, err)
	}
	return o
}

func (a *softAuthenticator) clientData(typ, challenge string) []byte {
	b, _ := json.Marshal(map[string]any{"type": typ, "challenge": challenge, "origin": a.origin, "crossOrigin": false})
	return b
}

func (a *softAuthenticator) authData(flags byte, attested []byte) []byte {
	rp := sha256.Sum256([]byte(a.rpID))
	out := append(rp[:], flags)
	out = binary.BigEndian.AppendUint32(out, a.count)
	return append(out, attested...)
}

// create answers navigator.credentials.create.
func (a *softAuthenticator) create(rawOptions []byte) []byte {
	a.t.Helper()
	o := a.options(rawOptions)
	handle, err := b64u.DecodeString(o.PublicKey.User.ID)
	if err != nil || o.PublicKey.RP.ID != a.rpID {
		a.t.Fatalf("creation options: user id %q (%v), rp %q", o.PublicKey.User.ID, err, o.PublicKey.RP.ID)
	}
	a.handle = handle
	x, y := make([]byte, 32), make([]byte, 32)
	a.key.X.FillBytes(x)
	a.key.Y.FillBytes(y)
	cose, err := cbor.Marshal(map[int]any{1: 2, 3: -7, -1: 1, -2: x, -3: y})
	if err != nil {
		a.t.Fatal(err)
	}
	attested := make([]byte, 16) // AAGUID: none
	attested = binary.BigEndian.AppendUint16(attested, uint16(len(a.id)))
	attested = append(append(attested, a.id...), cose...)
	a.count++
	obj, err := cbor.Marshal(map[string]any{"fmt": "none", "attStmt": map[string]any{}, "authData": a.authData(flagUP|flagUV|flagAT, attested)})
	if err != nil {
		a.t.Fatal(err)
	}
	out, _ := json.Marshal(map[string]any{"id": b64u.EncodeToString(a.id), "rawId": b64u.EncodeToString(a.id), "type": "public-key",
		"clientExtensionResults": map[string]any{},
		"response": map[string]any{"clientDataJSON": b64u.EncodeToString(a.clientData("webauthn.create", o.PublicKey.Challenge)),
			"attestationObject": b64u.EncodeToString(obj), "transports": []string{"internal"}}})
	return out
}

// get answers navigator.credentials.get with the given flags.
func (a *softAuthenticator) get(rawOptions []byte, flags byte) []byte {
	a.t.Helper()
	o := a.options(rawOptions)
	a.count++
	cd := a.clientData("webauthn.get", o.PublicKey.Challenge)
	ad := a.authData(flags, nil)
	cdHash := sha256.Sum256(cd)
	digest := sha256.Sum256(append(append([]byte{}, ad...), cdHash[:]...))
	sig, err := ecdsa.SignASN1(rand.Reader, a.key, digest[:])
	if err != nil {
		a.t.Fatal(err)
	}
	out, _ := json.Marshal(map[string]any{"id": b64u.EncodeToString(a.id), "rawId": b64u.EncodeToString(a.id), "type": "public-key",
		"clientExtensionResults": map[string]any{},
		"response": map[string]any{"clientDataJSON": b64u.EncodeToString(cd), "authenticatorData": b64u.EncodeToString(ad),
			"signature": b64u.EncodeToString(sig), "userHandle": b64u.EncodeToString(a.handle)}})
	return out
}

// registerPasskey adds a's passkey to u's account.
func registerPasskey(ctx context.Context, t *testing.T, s *Service, u User, a *softAuthenticator, name string) []string {
	t.Helper()
	opts, state, err := s.BeginPasskeyRegistration(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	_, codes, err := s.FinishPasskeyRegistration(ctx, u, state, name, a.create(opts), "192.0.2.1")
	if err != nil {
		t.Fatalf("register a passkey: %v", err)
	}
	return codes
}

func TestPasskeyAsSecondFactorAndAlone(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, pool, _ := newTwoFactorService(t)
	u := secondFactorUser(ctx, t, s, "pia@example.com")
	a := newSoftAuthenticator(t)

	if _, _, err := s.FinishPasskeyRegistration(ctx, u, []byte(`{"kind":"register"}`), "", []byte("{}"), "192.0.2.1"); !problem.Is(err, problem.Invalid) {
		t.Errorf("a passkey without a name: %v", err)
	}
	codes := registerPasskey(ctx, t, s, u, a, "  Desk key ")
	if len(codes) != RecoveryCodeCount {
		t.Errorf("the first passkey brought %d recovery codes, want %d", len(codes), RecoveryCodeCount)
	}
	f, err := s.Factors(ctx, u.ID)
	if err != nil || len(f.Passkeys) != 1 || f.Passkeys[0].Name != "Desk key" || !f.Enabled() {
		t.Fatalf("factors = %+v, %v", f, err)
	}
	handle, err := db.New(pool).WebAuthnHandleGet(ctx, u.ID)
	if err != nil || len(handle) != 32 || strings.Contains(string(handle), "pia") {
		t.Errorf("user handle %x (%v): want 32 random bytes", handle, err)
	}

	// The second step.
	pending := signInNeedsSecondFactor(ctx, t, s, u.Email)
	opts, state, err := s.BeginPasskeySecondFactor(ctx, pending.ID, pending.SessionVersion)
	if err != nil {
		t.Fatal(err)
	}
	resp := a.get(opts, flagUP)
	got, err := s.FinishPasskeySecondFactor(ctx, pending.ID, pending.SessionVersion, state, resp, "192.0.2.1")
	if err != nil || got.ID != u.ID {
		t.Fatalf("passkey second step: %+v, %v", got, err)
	}
	// The same assertion again: its sign count did not grow, as a copied key's would not.
	if _, err := s.FinishPasskeySecondFactor(ctx, pending.ID, pending.SessionVersion, state, resp, "192.0.2.1"); !errors.Is(err, errPasskeyFailed) {
		t.Errorf("a replayed assertion: %v, want refused", err)
	}
	// A state made for another ceremony does not finish this one.
	_, regState, _ := s.BeginPasskeyRegistration(ctx, u)
	if _, err := s.FinishPasskeySecondFactor(ctx, pending.ID, pending.SessionVersion, regState, a.get(opts, flagUP), "192.0.2.1"); !problem.Is(err, problem.Invalid) {
		t.Errorf("a registration's state for the second step: %v", err)
	}

	// Alone, the passkey must verify its user.
	opts, state, err = s.BeginPasskeySignIn()
	if err != nil {
		t.Fatal(err)
	}
	if o := a.options(opts); o.PublicKey.UserVerification != "required" {
		t.Errorf("passwordless sign-in asks for user verification %q, want required", o.PublicKey.UserVerification)
	}
	if _, err := s.FinishPasskeySignIn(ctx, state, a.get(opts, flagUP), "192.0.2.1"); !errors.Is(err, errPasskeyFailed) {
		t.Errorf("passwordless without user verification: %v, want refused", err)
	}
	opts, state, _ = s.BeginPasskeySignIn()
	got, err = s.FinishPasskeySignIn(ctx, state, a.get(opts, flagUP|flagUV), "192.0.2.1")
	if err != nil || got.ID != u.ID {
		t.Fatalf("passwordless sign-in: %+v, %v", got, err)
	}
	// Another origin (a phishing site relaying the challenge) is refused.
	a.origin = "http://hub.test.evil.example"
	opts, state, _ = s.BeginPasskeySignIn()
	if _, err := s.FinishPasskeySignIn(ctx, state, a.get(opts, flagUP|flagUV), "192.0.2.1"); !errors.Is(err, errPasskeyFailed) {
		t.Errorf("an assertion made for another origin: %v, want refused", err)
	}
	a.origin = "http://hub.test"

	log := strings.Join(auditActions(ctx, t, pool), "\n")
	for _, want := range []string{"two_factor_enabled passkey Desk key", "sign_in passkey", "two_factor_failed passkey", "sign_in_failed passkey"} {
		if !strings.Contains(log, want) {
			t.Errorf("audit log lacks %q:\n%s", want, log)
		}
	}

	// Removal needs the password; the last factor takes the recovery codes with it.
	if err := s.RemovePasskey(ctx, u, f.Passkeys[0].ID, "wrong", "192.0.2.1"); !problem.Is(err, problem.Invalid) {
		t.Fatalf("remove with a wrong password: %v", err)
	}
	other := secondFactorUser(ctx, t, s, "oz@example.com")
	if err := s.RemovePasskey(ctx, other, f.Passkeys[0].ID, twoFactorPassword, "192.0.2.1"); !problem.Is(err, problem.NotFound) {
		t.Errorf("another account removes the passkey: %v, want not found", err)
	}
	if err := s.RemovePasskey(ctx, u, f.Passkeys[0].ID, twoFactorPassword, "192.0.2.1"); err != nil {
		t.Fatal(err)
	}
	if f, _ := s.Factors(ctx, u.ID); f.Enabled() || f.RecoveryLeft != 0 {
		t.Errorf("after removing the only passkey: %+v", f)
	}
	opts, state, _ = s.BeginPasskeySignIn()
	if _, err := s.FinishPasskeySignIn(ctx, state, a.get(opts, flagUP|flagUV), "192.0.2.1"); !errors.Is(err, errPasskeyFailed) {
		t.Errorf("a removed passkey signs in: %v", err)
	}
}
