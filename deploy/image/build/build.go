// Package imagebuild builds Waddle's container image without a Docker
// daemon: the static waddle binary, CA certificates, a passwd entry for a
// non-root user and a writable /tmp, in one layer on an empty base, written
// as an image archive that both `docker load` and OCI tools read. The same
// inputs give the same bytes, so two builds of one commit share a digest.
package imagebuild

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// Options say what to build. Version, Commit and Created are stamped into
// the binary and the image labels; Created is also every file's mtime.
type Options struct {
	Dir      string    // the module root (holds go.mod); "" for the working directory
	Output   string    // the image archive to write
	Arch     string    // GOARCH: amd64 (default) or arm64
	Version  string    // e.g. v1.2.3 or the output of git describe
	Commit   string    // the full commit hash
	Created  time.Time // the commit time (or SOURCE_DATE_EPOCH): never the clock, so builds repeat
	Source   string    // the repository URL for org.opencontainers.image.source; "" for DefaultSource
	License  string    // an SPDX expression for org.opencontainers.image.licenses; "" for NOASSERTION
	CACerts  string    // the CA bundle to copy; "" for /etc/ssl/certs/ca-certificates.crt
	Repo     string    // the image name in the archive's tag; "" for waddle
	GoBinary string    // the go command; "" for go on PATH
}

// DefaultCACerts is where Debian (and the golang images) keep the bundle
// that Go's crypto/x509 reads on Linux.
const DefaultCACerts = "/etc/ssl/certs/ca-certificates.crt"

// DefaultSource is the repository of the module github.com/waddle/waddle.
const DefaultSource = "https://github.com/waddle/waddle"

// tagRE is what a Docker tag may hold.
var tagRE = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`)

func (o *Options) fill() error {
	if o.Arch == "" {
		o.Arch = "amd64"
	}
	if o.Arch != "amd64" && o.Arch != "arm64" {
		return fmt.Errorf("arch %q: want amd64 or arm64", o.Arch)
	}
	if o.CACerts == "" {
		o.CACerts = DefaultCACerts
	}
	if o.Source == "" {
		o.Source = DefaultSource
	}
	if o.License == "" {
		o.License = "NOASSERTION" // SPDX: the repository declares no licence yet
	}
	if o.Repo == "" {
		o.Repo = "waddle"
	}
	if o.GoBinary == "" {
		o.GoBinary = "go"
	}
	if o.Commit == "" {
		o.Commit = "unknown"
	}
	if !tagRE.MatchString(o.Version) {
		return fmt.Errorf("version %q: want a tag of letters, digits, '.', '_' and '-' (such as v1.2.3)", o.Version)
	}
	if o.Created.IsZero() {
		return errors.New("created time is not set: pass the commit time or SOURCE_DATE_EPOCH so builds repeat")
	}
	o.Created = o.Created.UTC().Truncate(time.Second)
	return nil
}

// Build compiles waddle and writes the image archive to o.Output.
func Build(ctx context.Context, o Options) error {
	if o.Output == "" {
		return errors.New("no output path")
	}
	if err := o.fill(); err != nil {
		return err
	}
	certs, err := readCACerts(o.CACerts)
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "waddle-image-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	bin := filepath.Join(tmp, "waddle")
	if err := compile(ctx, o, bin); err != nil {
		return err
	}
	files, err := rootFiles(certs, bin)
	if err != nil {
		return err
	}
	img, err := image(o, files)
	if err != nil {
		return err
	}
	return writeArchive(o.Output, o.Repo+":"+o.Version, img)
}

// BuildRootFS compiles waddle and writes the image's files under dir
// instead of an image: the Dockerfile's build stage uses it, so a
// Docker-built image holds exactly these files.
func BuildRootFS(ctx context.Context, o Options, dir string) error {
	if err := o.fill(); err != nil {
		return err
	}
	certs, err := readCACerts(o.CACerts)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	bin := filepath.Join(dir, "waddle")
	if err := compile(ctx, o, bin); err != nil {
		return err
	}
	files, err := rootFiles(certs, bin)
	if err != nil {
		return err
	}
	return writeDir(dir, files)
}

// BuildTags are the build tags of the image's binary: timetzdata embeds
// Go's time-zone database, so zone names resolve in an image without
// /usr/share/zoneinfo.
const BuildTags = "timetzdata"

// LDFlags are the linker flags of the image's binary: no symbol table or
// DWARF (-s -w: a smaller image) and the version stamp `waddle version`
// prints.
func LDFlags(version, commit, buildTime string) string {
	return fmt.Sprintf("-s -w -X main.version=%s -X main.commit=%s -X main.buildTime=%s", version, commit, buildTime)
}

// compile builds a static waddle for linux/o.Arch into out.
func compile(ctx context.Context, o Options, out string) error {
	ldflags := LDFlags(o.Version, o.Commit, o.Created.Format(time.RFC3339))
	cmd := exec.CommandContext(ctx, o.GoBinary, "build", "-trimpath", "-tags", BuildTags,
		"-ldflags", ldflags, "-o", out, "./cmd/waddle")
	cmd.Dir = o.Dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+o.Arch)
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build ./cmd/waddle for linux/%s: %w\n%s", o.Arch, err, strings.TrimSpace(string(b)))
	}
	return nil
}
