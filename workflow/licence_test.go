package workflow_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/waddle/waddle/problem"
	"github.com/waddle/waddle/workflow"
)

var licenceNow = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

func licKeyPair(t testing.TB) (ed25519.PublicKey, ed25519.PrivateKey) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return pub, priv
}

func licIssue(t testing.TB, priv ed25519.PrivateKey, communityID int64, at time.Time, valid time.Duration) (string, workflow.Licence) {
	t.Helper()
	key, l, err := workflow.IssueLicence(priv, communityID, at, valid)
	if err != nil {
		t.Fatalf("issue licence: %v", err)
	}
	return key, l
}

// signed signs a payload as the issuer would, whatever it holds.
func licSigned(priv ed25519.PrivateKey, payload string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(payload)) + "." +
		base64.RawURLEncoding.EncodeToString(ed25519.Sign(priv, []byte(payload)))
}

func TestIssueAndParseLicence(t *testing.T) {
	t.Parallel()
	pub, priv := licKeyPair(t)
	key, issued := licIssue(t, priv, 42, licenceNow, 365*24*time.Hour)
	got, err := workflow.ParseLicence(key, pub, licenceNow.Add(time.Hour))
	if err != nil {
		t.Fatalf("ParseLicence: %v", err)
	}
	want := workflow.Licence{ID: issued.ID, CommunityID: 42, Plan: workflow.PlanPro, IssuedAt: licenceNow, ExpiresAt: licenceNow.AddDate(1, 0, 0)}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("licence (-want +got):\n%s", diff)
	}
	if len(got.ID) < 8 {
		t.Errorf("id %q is too short to be random", got.ID)
	}
	// Surrounding space from a paste is fine.
	if _, err := workflow.ParseLicence("  "+key+"\n", pub, licenceNow); err != nil {
		t.Errorf("with spaces around: %v", err)
	}
	// Two keys never share an id.
	other, _ := licIssue(t, priv, 42, licenceNow, time.Hour)
	if l2, _ := workflow.ParseLicence(other, pub, licenceNow); l2.ID == got.ID {
		t.Errorf("two keys share the id %q", got.ID)
	}
}

func TestIssueLicenceRefuses(t *testing.T) {
	t.Parallel()
	_, priv := licKeyPair(t)
	if _, _, err := workflow.IssueLicence(priv[:10], 1, licenceNow, time.Hour); err == nil {
		t.Error("a short private key was taken")
	}
	if _, _, err := workflow.IssueLicence(priv, -1, licenceNow, time.Hour); err == nil {
		t.Error("a negative community was taken")
	}
	if _, _, err := workflow.IssueLicence(priv, 1, licenceNow, 0); err == nil {
		t.Error("a zero validity was taken")
	}
}

func TestParseLicenceErrors(t *testing.T) {
	t.Parallel()
	pub, priv := licKeyPair(t)
	otherPub, otherPriv := licKeyPair(t)
	good, _ := licIssue(t, priv, 7, licenceNow, 30*24*time.Hour)
	payload, sig, _ := strings.Cut(good, ".")
	fromOther, _ := licIssue(t, otherPriv, 7, licenceNow, time.Hour)
	issued, expires := licenceNow.Unix(), licenceNow.Add(time.Hour).Unix()
	p := func(fields string) string {
		return licSigned(priv, strings.NewReplacer("ISSUED", licItoa(issued), "EXPIRES", licItoa(expires)).Replace(fields))
	}
	cases := []struct {
		name string
		key  string
		pub  ed25519.PublicKey
		want string // in the message
	}{
		{name: "no public key", key: good, pub: nil, want: "WADDLE_LICENSE_PUBLIC_KEY"},
		{name: "public key of the wrong size", key: good, pub: pub[:16], want: "WADDLE_LICENSE_PUBLIC_KEY"},
		{name: "too long", key: strings.Repeat("a", workflow.MaxLicenceKey+1), want: "at most 4096 bytes"},
		{name: "empty", key: "  ", want: "empty"},
		{name: "no dot", key: payload + sig, want: "two parts joined by one dot"},
		{name: "two dots", key: good + ".x", want: "two parts joined by one dot"},
		{name: "not base64url", key: payload + ".***", want: "characters that a key cannot have"},
		{name: "padded base64", key: payload + "=." + sig, want: "characters that a key cannot have"},
		{name: "empty payload", key: "." + sig, want: "characters that a key cannot have"},
		{name: "signature from another issuer", key: fromOther, want: "signature is not valid"},
		{name: "other issuer's key checked with its own public key passes", key: fromOther, pub: otherPub, want: ""},
		{name: "signature cut short", key: payload + "." + sig[:20], want: "signature is not valid"},
		{name: "payload changed", key: base64.RawURLEncoding.EncodeToString([]byte(strings.Replace(licDecode(t, payload), `"community_id":7`, `"community_id":8`, 1))) + "." + sig, want: "signature is not valid"},
		{name: "not JSON", key: licSigned(priv, "hello"), want: "not a licence"},
		{name: "JSON with trailing data", key: p(`{"v":1,"id":"abcdefgh","community_id":1,"plan":"pro","issued_at":ISSUED,"expires_at":EXPIRES} {}`), want: "not a licence"},
		{name: "unknown field", key: p(`{"v":1,"id":"abcdefgh","community_id":1,"plan":"pro","issued_at":ISSUED,"expires_at":EXPIRES,"seats":9}`), want: "not a licence"},
		{name: "other version", key: p(`{"v":2,"id":"abcdefgh","community_id":1,"plan":"pro","issued_at":ISSUED,"expires_at":EXPIRES}`), want: "format version 2"},
		{name: "no id", key: p(`{"v":1,"community_id":1,"plan":"pro","issued_at":ISSUED,"expires_at":EXPIRES}`), want: "its id is missing"},
		{name: "id with odd characters", key: p(`{"v":1,"id":"abc<def>gh","community_id":1,"plan":"pro","issued_at":ISSUED,"expires_at":EXPIRES}`), want: "its id is missing or invalid"},
		{name: "negative community", key: p(`{"v":1,"id":"abcdefgh","community_id":-1,"plan":"pro","issued_at":ISSUED,"expires_at":EXPIRES}`), want: "its community is invalid"},
		{name: "unknown plan", key: p(`{"v":1,"id":"abcdefgh","community_id":1,"plan":"gold","issued_at":ISSUED,"expires_at":EXPIRES}`), want: `plan "gold"`},
		{name: "free plan key", key: p(`{"v":1,"id":"abcdefgh","community_id":1,"plan":"free","issued_at":ISSUED,"expires_at":EXPIRES}`), want: `plan "free"`},
		{name: "expiry before issue", key: p(`{"v":1,"id":"abcdefgh","community_id":1,"plan":"pro","issued_at":EXPIRES,"expires_at":ISSUED}`), want: "dates are invalid"},
		{name: "no dates", key: p(`{"v":1,"id":"abcdefgh","community_id":1,"plan":"pro"}`), want: "dates are invalid"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			k := tc.pub
			if k == nil && !strings.HasPrefix(tc.name, "no public key") {
				k = pub
			}
			_, err := workflow.ParseLicence(tc.key, k, licenceNow)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("ParseLicence: %v", err)
				}
				return
			}
			wantLicenceError(t, err, tc.want)
		})
	}
}

func TestParseLicenceExpired(t *testing.T) {
	t.Parallel()
	pub, priv := licKeyPair(t)
	key, issued := licIssue(t, priv, 3, licenceNow, 48*time.Hour)
	if _, err := workflow.ParseLicence(key, pub, licenceNow.Add(48*time.Hour-time.Second)); err != nil {
		t.Fatalf("a second before expiry: %v", err)
	}
	l, err := workflow.ParseLicence(key, pub, licenceNow.Add(48*time.Hour))
	wantLicenceError(t, err, "expired on 2026-06-03")
	if l.ID != issued.ID || l.CommunityID != 3 {
		t.Errorf("an expired key's payload = %+v, want it returned with the error", l)
	}
}

func TestLicenceCovers(t *testing.T) {
	t.Parallel()
	if err := (workflow.Licence{CommunityID: 0}).Covers(99); err != nil {
		t.Errorf("an installation licence does not cover community 99: %v", err)
	}
	if err := (workflow.Licence{CommunityID: 5}).Covers(5); err != nil {
		t.Errorf("community 5's licence does not cover it: %v", err)
	}
	wantLicenceError(t, (workflow.Licence{CommunityID: 5}).Covers(6), "for another community (id 5), not this one (id 6)")
}

func TestParsePublicKey(t *testing.T) {
	t.Parallel()
	pub, _ := licKeyPair(t)
	got, err := workflow.ParsePublicKey(base64.StdEncoding.EncodeToString(pub) + "\n")
	if err != nil || !got.Equal(pub) {
		t.Fatalf("ParsePublicKey = %x, %v; want %x", got, err, pub)
	}
	for _, bad := range []string{"", "not base64!", base64.StdEncoding.EncodeToString(pub[:31]), base64.StdEncoding.EncodeToString(append(pub, 0))} {
		if _, err := workflow.ParsePublicKey(bad); err == nil {
			t.Errorf("ParsePublicKey(%q) took it", bad)
		}
	}
}

func FuzzParseLicence(f *testing.F) {
	pub, priv := licKeyPair(f)
	good, _ := licIssue(f, priv, 1, licenceNow, time.Hour)
	f.Add(good)
	f.Add(licSigned(priv, `{"v":1,"id":"abcdefgh","community_id":1,"plan":"pro","issued_at":1,"expires_at":99999999999}`))
	f.Add(".")
	f.Add("a.b.c")
	f.Fuzz(func(t *testing.T, key string) {
		l, err := workflow.ParseLicence(key, pub, licenceNow)
		if err != nil {
			if p := problem.As(err); p == nil || p.Code != problem.Invalid || p.Field != "licence_key" {
				t.Fatalf("error %v is not a user-facing licence_key error", err)
			}
			return
		}
		if l.Plan != workflow.PlanPro || !l.ExpiresAt.After(licenceNow) || l.ID == "" {
			t.Fatalf("accepted licence %+v", l)
		}
	})
}

func wantLicenceError(t *testing.T, err error, want string) {
	t.Helper()
	p := problem.As(err)
	if p == nil {
		t.Fatalf("error = %v, want a user-facing error containing %q", err, want)
	}
	if p.Code != problem.Invalid || p.Field != "licence_key" || !strings.Contains(p.Message, want) {
		t.Errorf("error = %s %s %q, want invalid licence_key containing %q", p.Code, p.Field, p.Message, want)
	}
}

func licDecode(t *testing.T, s string) string {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func licItoa(n int64) string { return strconv.FormatInt(n, 10) }
