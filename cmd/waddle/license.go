package main

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"time"

	"github.com/waddle/waddle/problem"
	"github.com/waddle/waddle/workflow"
)

// maxLicenseDays is the longest a licence key issued here lasts.
const maxLicenseDays = 3650

// license runs `waddle license keygen|issue|verify`: an operator's tools to
// make the key pair that signs licence keys and to issue and read keys. It
// needs no database.
func license(args []string, getenv func(string) string, stdout io.Writer) error {
	if len(args) == 0 {
		return &usageError{"license needs a command: keygen, issue or verify"}
	}
	switch args[0] {
	case "keygen":
		return licenseKeygen(args[1:], stdout)
	case "issue":
		return licenseIssue(args[1:], stdout)
	case "verify":
		return licenseVerify(args[1:], getenv, stdout)
	}
	return &usageError{fmt.Sprintf("unknown license command %q: want keygen, issue or verify", args[0])}
}

// licenseKeygen makes a key pair: the public key is printed for
// WADDLE_LICENSE_PUBLIC_KEY; the private key goes to -out (PKCS #8 PEM,
// mode 0600, never overwriting a file), or to standard output with -out -.
func licenseKeygen(args []string, stdout io.Writer) error {
	flags := newFlagSet("license keygen")
	out := flags.String("out", "", "")
	if err := flags.Parse(args); err != nil {
		return &usageError{err.Error()}
	}
	if flags.NArg() > 0 {
		return &usageError{fmt.Sprintf("license keygen takes no arguments, got %q", flags.Arg(0))}
	}
	if *out == "" {
		return &usageError{"license keygen needs -out PATH: the file the private key is written to (- for standard output)"}
	}
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return fmt.Errorf("generate key pair: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return fmt.Errorf("encode private key: %w", err)
	}
	block := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	if *out == "-" {
		fmt.Fprintf(stdout, "WADDLE_LICENSE_PUBLIC_KEY=%s\n%s", base64.StdEncoding.EncodeToString(pub), block)
		return nil
	}
	if err := writeNewFile(*out, block); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "WADDLE_LICENSE_PUBLIC_KEY=%s\n", base64.StdEncoding.EncodeToString(pub))
	fmt.Fprintf(stdout, "# The private key is in %s (mode 0600). Keep it secret and off the servers: whoever has it issues licence keys.\n", *out)
	return nil
}

// writeNewFile writes b to a new file readable by its owner only.
func writeNewFile(path string, b []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("%s already exists: keygen does not overwrite a key; choose another -out", path)
	}
	if err != nil {
		return fmt.Errorf("write private key: %w", err)
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		os.Remove(path)
		return fmt.Errorf("write private key: %w", err)
	}
	if err := f.Close(); err != nil {
		os.Remove(path)
		return fmt.Errorf("write private key: %w", err)
	}
	return nil
}

// readPrivateKey reads an Ed25519 private key in PKCS #8 PEM, as keygen
// (or `openssl genpkey -algorithm ed25519`) writes it.
func readPrivateKey(path string) (ed25519.PrivateKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read private key: %w", err)
	}
	block, _ := pem.Decode(b)
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("%s is not a PEM private key (-----BEGIN PRIVATE KEY-----) as `waddle license keygen` writes", path)
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	priv, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%s holds a %T, not an Ed25519 private key", path, k)
	}
	return priv, nil
}

// licenseIssue prints a licence key for a community (0: the installation).
func licenseIssue(args []string, stdout io.Writer) error {
	flags := newFlagSet("license issue")
	keyPath := flags.String("key", "", "")
	community := flags.Int64("community", -1, "")
	days := flags.Int("days", 365, "")
	if err := flags.Parse(args); err != nil {
		return &usageError{err.Error()}
	}
	switch {
	case flags.NArg() > 0:
		return &usageError{fmt.Sprintf("license issue takes no arguments, got %q", flags.Arg(0))}
	case *keyPath == "":
		return &usageError{"license issue needs -key PATH: the private key file keygen wrote"}
	case *community < 0:
		return &usageError{"license issue needs -community N: the community's id, or 0 for every community of the installation"}
	case *days < 1 || *days > maxLicenseDays:
		return &usageError{fmt.Sprintf("-days is %d: want 1 to %d", *days, maxLicenseDays)}
	}
	priv, err := readPrivateKey(*keyPath)
	if err != nil {
		return err
	}
	key, _, err := workflow.IssueLicence(priv, *community, time.Now(), time.Duration(*days)*24*time.Hour)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, key)
	return nil
}

// licenseVerify checks a licence key and shows what it holds.
func licenseVerify(args []string, getenv func(string) string, stdout io.Writer) error {
	flags := newFlagSet("license verify")
	public := flags.String("public", getenv("WADDLE_LICENSE_PUBLIC_KEY"), "")
	community := flags.Int64("community", -1, "")
	if err := flags.Parse(args); err != nil {
		return &usageError{err.Error()}
	}
	if flags.NArg() != 1 {
		return &usageError{"license verify needs one licence key (and -public KEY, or WADDLE_LICENSE_PUBLIC_KEY set)"}
	}
	if *public == "" {
		return &usageError{"license verify needs -public KEY (or WADDLE_LICENSE_PUBLIC_KEY set): the base64 public key keygen printed"}
	}
	pub, err := workflow.ParsePublicKey(*public)
	if err != nil {
		return fmt.Errorf("-public %w", err)
	}
	l, err := workflow.ParseLicence(flags.Arg(0), pub, time.Now())
	if l.ID != "" {
		who := fmt.Sprintf("community %d", l.CommunityID)
		if l.CommunityID == 0 {
			who = "every community of the installation"
		}
		fmt.Fprintf(stdout, "id:        %s\nfor:       %s\nplan:      %s\nissued:    %s\nexpires:   %s\n",
			l.ID, who, l.Plan, l.IssuedAt.Format(time.RFC3339), l.ExpiresAt.Format(time.RFC3339))
	}
	if err == nil && *community >= 0 {
		err = l.Covers(*community)
	}
	if err != nil {
		if p := problem.As(err); p != nil {
			return errors.New(p.Message)
		}
		return err
	}
	fmt.Fprintln(stdout, "status:    valid")
	return nil
}
