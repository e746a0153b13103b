package main

import (
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/waddle/waddle/workflow"
)

// licenseKeygen runs keygen into dir and returns the public key (as
// printed) and the private key file's path.
func mustKeygen(t *testing.T, dir string) (string, string) {
	t.Helper()
	path := filepath.Join(dir, "licence.key")
	out := mustRunWaddle(t, nil, "license", "keygen", "-out", path)
	line, _, _ := strings.Cut(out, "\n")
	pub, ok := strings.CutPrefix(line, "WADDLE_LICENSE_PUBLIC_KEY=")
	if !ok {
		t.Fatalf("keygen printed %q, want WADDLE_LICENSE_PUBLIC_KEY=… first", out)
	}
	return pub, path
}

func TestLicenseKeygenIssueVerify(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	pubB64, path := mustKeygen(t, dir)
	pub, err := workflow.ParsePublicKey(pubB64)
	if err != nil {
		t.Fatalf("printed public key: %v", err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("private key mode = %v, want 0600", st.Mode().Perm())
	}
	pem, _ := os.ReadFile(path)
	if !strings.HasPrefix(string(pem), "-----BEGIN PRIVATE KEY-----") {
		t.Errorf("private key file starts %q", string(pem[:min(len(pem), 30)]))
	}

	// keygen never overwrites a key.
	out, err := runWaddle(t, nil, "license", "keygen", "-out", path)
	if err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("keygen over an existing file: %v", err)
	}
	if strings.Contains(out, "PRIVATE KEY") {
		t.Errorf("keygen printed the private key: %s", out)
	}
	if again, _ := os.ReadFile(path); string(again) != string(pem) {
		t.Error("keygen changed an existing key file")
	}

	key := strings.TrimSpace(mustRunWaddle(t, nil, "license", "issue", "-key", path, "-community", "42", "-days", "30"))
	l, err := workflow.ParseLicence(key, pub, time.Now())
	if err != nil {
		t.Fatalf("issued key: %v", err)
	}
	if l.CommunityID != 42 || l.Plan != workflow.PlanPro {
		t.Errorf("issued licence = %+v", l)
	}
	if d := time.Until(l.ExpiresAt); d < 29*24*time.Hour || d > 30*24*time.Hour {
		t.Errorf("expires in %v, want 30 days", d)
	}

	out = mustRunWaddle(t, nil, "license", "verify", "-public", pubB64, key)
	for _, want := range []string{"id:        " + l.ID, "for:       community 42", "plan:      pro", "status:    valid"} {
		if !strings.Contains(out, want) {
			t.Errorf("verify printed %q, want %q in it", out, want)
		}
	}
	// The public key can come from the environment, and the community can be checked.
	env := map[string]string{"WADDLE_LICENSE_PUBLIC_KEY": pubB64}
	if out := mustRunWaddle(t, env, "license", "verify", "-community", "42", key); !strings.Contains(out, "status:    valid") {
		t.Errorf("verify with the environment's key: %q", out)
	}
	if _, err := runWaddle(t, env, "license", "verify", "-community", "7", key); err == nil || !strings.Contains(err.Error(), "for another community (id 42), not this one (id 7)") {
		t.Errorf("verify for community 7: %v", err)
	}

	all := strings.TrimSpace(mustRunWaddle(t, nil, "license", "issue", "-key", path, "-community", "0"))
	if out := mustRunWaddle(t, env, "license", "verify", "-community", "7", all); !strings.Contains(out, "for:       every community of the installation") {
		t.Errorf("verify an installation key: %q", out)
	}
}

func TestLicenseKeygenToStdout(t *testing.T) {
	t.Parallel()
	out := mustRunWaddle(t, nil, "license", "keygen", "-out", "-")
	line, rest, _ := strings.Cut(out, "\n")
	pubB64 := strings.TrimPrefix(line, "WADDLE_LICENSE_PUBLIC_KEY=")
	if !strings.HasPrefix(rest, "-----BEGIN PRIVATE KEY-----") {
		t.Fatalf("keygen -out - printed %q", out)
	}
	path := filepath.Join(t.TempDir(), "k.pem")
	if err := os.WriteFile(path, []byte(rest), 0o600); err != nil {
		t.Fatal(err)
	}
	key := strings.TrimSpace(mustRunWaddle(t, nil, "license", "issue", "-key", path, "-community", "3", "-days", "1"))
	if out := mustRunWaddle(t, nil, "license", "verify", "-public", pubB64, key); !strings.Contains(out, "status:    valid") {
		t.Errorf("verify: %q", out)
	}
}

func TestLicenseVerifyExpiredAndForged(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	pubB64, path := mustKeygen(t, dir)
	priv, err := readPrivateKey(path)
	if err != nil {
		t.Fatal(err)
	}
	old, l, err := workflow.IssueLicence(priv, 5, time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	out, err := runWaddle(t, nil, "license", "verify", "-public", pubB64, old)
	if err == nil || !strings.Contains(err.Error(), "expired on 2020-01-02") {
		t.Errorf("verify an expired key: %v", err)
	}
	if !strings.Contains(out, "id:        "+l.ID) || strings.Contains(out, "valid") {
		t.Errorf("verify an expired key printed %q, want its payload and no valid status", out)
	}

	_, otherPriv, _ := ed25519.GenerateKey(nil)
	forged, _, _ := workflow.IssueLicence(otherPriv, 5, time.Now(), time.Hour)
	out, err = runWaddle(t, nil, "license", "verify", "-public", pubB64, forged)
	if err == nil || !strings.Contains(err.Error(), "signature is not valid") || out != "" {
		t.Errorf("verify a key from another issuer: %v, printed %q", err, out)
	}
}

func TestLicenseBadInput(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	pubB64, path := mustKeygen(t, dir)
	notPEM := filepath.Join(dir, "not.pem")
	os.WriteFile(notPEM, []byte("hello"), 0o600)
	cases := []struct {
		name      string
		args      []string
		wantUsage bool
		want      string
	}{
		{"no command", []string{}, true, "keygen, issue or verify"},
		{"unknown command", []string{"renew"}, true, `unknown license command "renew"`},
		{"keygen without -out", []string{"keygen"}, true, "needs -out PATH"},
		{"keygen with an argument", []string{"keygen", "-out", filepath.Join(dir, "x"), "extra"}, true, "takes no arguments"},
		{"keygen with an unknown flag", []string{"keygen", "-bits", "4096"}, true, "-bits"},
		{"keygen into a missing directory", []string{"keygen", "-out", filepath.Join(dir, "no", "such", "k")}, false, "write private key"},
		{"issue without -key", []string{"issue", "-community", "1"}, true, "needs -key PATH"},
		{"issue without -community", []string{"issue", "-key", path}, true, "needs -community N"},
		{"issue with a negative community", []string{"issue", "-key", path, "-community", "-2"}, true, "needs -community N"},
		{"issue for no days", []string{"issue", "-key", path, "-community", "1", "-days", "0"}, true, "-days is 0: want 1 to 3650"},
		{"issue for too many days", []string{"issue", "-key", path, "-community", "1", "-days", "3651"}, true, "want 1 to 3650"},
		{"issue with a missing key file", []string{"issue", "-key", filepath.Join(dir, "missing"), "-community", "1"}, false, "read private key"},
		{"issue with a file that is not a key", []string{"issue", "-key", notPEM, "-community", "1"}, false, "is not a PEM private key"},
		{"verify without a key", []string{"verify", "-public", pubB64}, true, "needs one licence key"},
		{"verify without a public key", []string{"verify", "abc.def"}, true, "needs -public KEY"},
		{"verify with a short public key", []string{"verify", "-public", base64.StdEncoding.EncodeToString(make([]byte, 31)), "abc.def"}, false, "decodes to 31 bytes"},
		{"verify garbage", []string{"verify", "-public", pubB64, "garbage"}, false, "malformed"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			out, err := runWaddle(t, nil, append([]string{"license"}, tc.args...)...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one containing %q", err, tc.want)
			}
			var ue *usageError
			if errors.As(err, &ue) != tc.wantUsage {
				t.Errorf("usage error = %v, want %v", !tc.wantUsage, tc.wantUsage)
			}
			if strings.Contains(out, "PRIVATE KEY") {
				t.Errorf("printed a private key: %q", out)
			}
		})
	}
}

func TestLicenseConfig(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	pubB64, path := mustKeygen(t, dir)
	otherPub, _ := mustKeygen(t, t.TempDir())
	priv, err := readPrivateKey(path)
	if err != nil {
		t.Fatal(err)
	}
	key, _, _ := workflow.IssueLicence(priv, 0, time.Now(), time.Hour)
	expired, _, _ := workflow.IssueLicence(priv, 0, time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), time.Hour)

	good := map[string]string{"WADDLE_LICENSE_PUBLIC_KEY": pubB64, "WADDLE_LICENSE_KEY": key, "WADDLE_LICENSE_SERVER": "https://licences.example.com/check"}
	c, err := loadConfig(configEnv(validVars(good)))
	if err != nil {
		t.Fatalf("loadConfig: %v", err)
	}
	if c.License != (licenseConfig{PublicKey: pubB64, Key: key, Server: "https://licences.example.com/check"}) {
		t.Errorf("License = %+v", c.License)
	}
	// An expired installation key does not stop the server.
	if _, err := loadConfig(configEnv(validVars(map[string]string{"WADDLE_LICENSE_PUBLIC_KEY": pubB64, "WADDLE_LICENSE_KEY": expired}))); err != nil {
		t.Errorf("an expired key: %v", err)
	}

	cases := []struct {
		name    string
		env     map[string]string
		wantVar string
		want    string
	}{
		{"public key not base64", map[string]string{"WADDLE_LICENSE_PUBLIC_KEY": "not base64!"}, "WADDLE_LICENSE_PUBLIC_KEY", "not base64"},
		{"public key of 31 bytes", map[string]string{"WADDLE_LICENSE_PUBLIC_KEY": base64.StdEncoding.EncodeToString(make([]byte, 31))}, "WADDLE_LICENSE_PUBLIC_KEY", "decodes to 31 bytes, want 32"},
		{"key without public key", map[string]string{"WADDLE_LICENSE_KEY": key}, "WADDLE_LICENSE_PUBLIC_KEY", "but WADDLE_LICENSE_KEY is"},
		{"server without public key", map[string]string{"WADDLE_LICENSE_SERVER": "https://l.example.com"}, "WADDLE_LICENSE_PUBLIC_KEY", "but WADDLE_LICENSE_SERVER is"},
		{"key from another issuer", map[string]string{"WADDLE_LICENSE_PUBLIC_KEY": otherPub, "WADDLE_LICENSE_KEY": key}, "WADDLE_LICENSE_KEY", "signature is not valid"},
		{"key malformed", map[string]string{"WADDLE_LICENSE_PUBLIC_KEY": pubB64, "WADDLE_LICENSE_KEY": "abc"}, "WADDLE_LICENSE_KEY", "malformed"},
		{"server not http", map[string]string{"WADDLE_LICENSE_PUBLIC_KEY": pubB64, "WADDLE_LICENSE_SERVER": "ftp://l.example.com"}, "WADDLE_LICENSE_SERVER", "want an http:// or https:// URL"},
		{"server without host", map[string]string{"WADDLE_LICENSE_PUBLIC_KEY": pubB64, "WADDLE_LICENSE_SERVER": "https://"}, "WADDLE_LICENSE_SERVER", "want an http:// or https:// URL"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := loadConfig(configEnv(validVars(tc.env)))
			var ce *configError
			if !errors.As(err, &ce) || ce.Var != tc.wantVar || !strings.Contains(ce.Problem, tc.want) {
				t.Fatalf("err = %v, want a configError naming %s containing %q", err, tc.wantVar, tc.want)
			}
		})
	}
}
