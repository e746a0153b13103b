package workflow

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/waddle/waddle/problem"
)

// A licence key is an Ed25519-signed token:
//
//	base64url(payload JSON) "." base64url(signature of the payload JSON)
//
// with the payload
//
//	{"v":1,"id":"…","community_id":N,"plan":"pro","issued_at":UNIX,"expires_at":UNIX}
//
// where community_id 0 covers every community of the installation. Operators
// make keys with `waddle license issue`; Waddle checks them offline against
// the public key in WADDLE_LICENSE_PUBLIC_KEY.

// MaxLicenceKey is the longest licence key taken, in bytes.
const MaxLicenceKey = 4 << 10

// LicenceVersion is the payload format this package reads and writes.
const LicenceVersion = 1

// Plan is what a community may do with workflows.
type Plan string

// The plans.
const (
	PlanFree Plan = "free" // one published workflow per community
	PlanPro  Plan = "pro"  // any number
)

// Licence is a licence key's payload, once its signature is checked.
type Licence struct {
	ID          string
	CommunityID int64 // 0: every community of the installation
	Plan        Plan
	IssuedAt    time.Time
	ExpiresAt   time.Time
}

// licencePayload is the signed JSON.
type licencePayload struct {
	V           int    `json:"v"`
	ID          string `json:"id"`
	CommunityID int64  `json:"community_id"`
	Plan        Plan   `json:"plan"`
	IssuedAt    int64  `json:"issued_at"`
	ExpiresAt   int64  `json:"expires_at"`
}

var licenceIDPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{8,64}$`)

func licenceError(format string, args ...any) error {
	return problem.Invalidf("licence_key", format, args...)
}

// ParseLicence checks a licence key against the public key and returns its
// payload. Its errors are for the user and name the problem: a malformed
// key, a signature that does not match (a key from another issuer, or
// altered), an expired key. An expired key is returned with its error, so
// its payload can still be shown. It does not check which community the key
// is for: see Licence.Covers.
func ParseLicence(key string, pub ed25519.PublicKey, now time.Time) (Licence, error) {
	if len(key) > MaxLicenceKey {
		return Licence{}, licenceError("A licence key has at most %d bytes; this one has %d.", MaxLicenceKey, len(key))
	}
	if len(pub) != ed25519.PublicKeySize {
		return Licence{}, licenceError("Licence keys cannot be checked here: the operator has not set WADDLE_LICENSE_PUBLIC_KEY.")
	}
	key = strings.TrimSpace(key)
	if key == "" {
		return Licence{}, licenceError("The licence key is empty: paste the whole key you were given.")
	}
	enc, sigEnc, ok := strings.Cut(key, ".")
	if !ok || strings.Contains(sigEnc, ".") {
		return Licence{}, licenceError("The licence key is malformed: it should be two parts joined by one dot; paste the whole key you were given.")
	}
	payload, err1 := base64.RawURLEncoding.DecodeString(enc)
	sig, err2 := base64.RawURLEncoding.DecodeString(sigEnc)
	if err1 != nil || err2 != nil || len(payload) == 0 {
		return Licence{}, licenceError("The licence key is malformed: it has characters that a key cannot have; paste the whole key you were given.")
	}
	if len(sig) != ed25519.SignatureSize || !ed25519.Verify(pub, payload, sig) {
		return Licence{}, licenceError("The licence key's signature is not valid: it was not issued for this installation, or it was changed.")
	}
	var p licencePayload
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil || dec.More() {
		return Licence{}, licenceError("The licence key is malformed: its content is not a licence.")
	}
	switch {
	case p.V != LicenceVersion:
		return Licence{}, licenceError("The licence key has format version %d; this Waddle reads version %d. Upgrade Waddle or ask for a new key.", p.V, LicenceVersion)
	case !licenceIDPattern.MatchString(p.ID):
		return Licence{}, licenceError("The licence key is malformed: its id is missing or invalid.")
	case p.CommunityID < 0:
		return Licence{}, licenceError("The licence key is malformed: its community is invalid.")
	case p.Plan != PlanPro:
		return Licence{}, licenceError("The licence key is for plan %q, which this Waddle does not know.", p.Plan)
	case p.IssuedAt <= 0 || p.ExpiresAt <= p.IssuedAt:
		return Licence{}, licenceError("The licence key is malformed: its dates are invalid.")
	}
	l := Licence{ID: p.ID, CommunityID: p.CommunityID, Plan: p.Plan,
		IssuedAt: time.Unix(p.IssuedAt, 0).UTC(), ExpiresAt: time.Unix(p.ExpiresAt, 0).UTC()}
	if !now.Before(l.ExpiresAt) {
		return l, licenceError("The licence key expired on %s. Ask for a new key.", l.ExpiresAt.Format(time.DateOnly))
	}
	return l, nil
}

// Covers reports whether the licence is for the community (or for the whole
// installation), with an error for the user when it is not.
func (l Licence) Covers(communityID int64) error {
	if l.CommunityID == 0 || l.CommunityID == communityID {
		return nil
	}
	return licenceError("The licence key is for another community (id %d), not this one (id %d).", l.CommunityID, communityID)
}

// IssueLicence makes a signed licence key for a community (0: the whole
// installation), valid from now for the given duration.
func IssueLicence(priv ed25519.PrivateKey, communityID int64, now time.Time, valid time.Duration) (string, Licence, error) {
	if len(priv) != ed25519.PrivateKeySize {
		return "", Licence{}, fmt.Errorf("issue licence: the private key has %d bytes, want %d", len(priv), ed25519.PrivateKeySize)
	}
	if communityID < 0 {
		return "", Licence{}, fmt.Errorf("issue licence: community %d: want 0 (the installation) or a community id", communityID)
	}
	if valid < time.Second {
		return "", Licence{}, fmt.Errorf("issue licence: validity %s is too short", valid)
	}
	var id [12]byte
	rand.Read(id[:])
	p := licencePayload{V: LicenceVersion, ID: base64.RawURLEncoding.EncodeToString(id[:]), CommunityID: communityID, Plan: PlanPro,
		IssuedAt: now.Unix(), ExpiresAt: now.Add(valid).Unix()}
	payload, err := json.Marshal(p)
	if err != nil {
		return "", Licence{}, fmt.Errorf("issue licence: %w", err)
	}
	sig := ed25519.Sign(priv, payload)
	key := base64.RawURLEncoding.EncodeToString(payload) + "." + base64.RawURLEncoding.EncodeToString(sig)
	l := Licence{ID: p.ID, CommunityID: communityID, Plan: p.Plan, IssuedAt: time.Unix(p.IssuedAt, 0).UTC(), ExpiresAt: time.Unix(p.ExpiresAt, 0).UTC()}
	return key, l, nil
}

// ParsePublicKey decodes a public key as WADDLE_LICENSE_PUBLIC_KEY holds it:
// standard base64 of the 32 bytes.
func ParsePublicKey(s string) (ed25519.PublicKey, error) {
	b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(s))
	if err != nil {
		return nil, fmt.Errorf("not base64: %w", err)
	}
	if len(b) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("decodes to %d bytes, want %d (an Ed25519 public key)", len(b), ed25519.PublicKeySize)
	}
	return ed25519.PublicKey(b), nil
}
