// Command image builds Waddle's container image without a Docker daemon:
//
//	go run ./deploy/image -o dist/waddle-image.tar [-arch arm64]
//
// The version comes from -version, else WADDLE_VERSION, else
// `git describe --tags --always --dirty`; the commit from -commit, else
// WADDLE_COMMIT, else git; the time stamped into the binary, the labels and
// every file from SOURCE_DATE_EPOCH, else the commit's time, so two builds
// of one commit give one digest. With -rootfs DIR it writes the image's
// files to DIR instead (the Dockerfile's build stage does).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"time"

	imagebuild "github.com/waddle/waddle/deploy/image/build"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	err := run(ctx, os.Args[1:])
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "image:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("image", flag.ContinueOnError)
	out := fs.String("o", "dist/waddle-image.tar", "the image archive to write")
	rootfs := fs.String("rootfs", "", "write the image's files to this directory instead of an image")
	arch := fs.String("arch", "amd64", "GOARCH of the image: amd64 or arm64")
	version := fs.String("version", os.Getenv("WADDLE_VERSION"), "version to stamp (default: git describe --tags --always --dirty)")
	commit := fs.String("commit", os.Getenv("WADDLE_COMMIT"), "commit to stamp (default: git rev-parse HEAD)")
	source := fs.String("source", "", "org.opencontainers.image.source (default "+imagebuild.DefaultSource+")")
	license := fs.String("license", "", "org.opencontainers.image.licenses, an SPDX expression (default NOASSERTION)")
	cacerts := fs.String("cacerts", imagebuild.DefaultCACerts, "the CA bundle to put in the image")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if *version == "" {
		*version = gitOr(ctx, "dev", "describe", "--tags", "--always", "--dirty")
	}
	if *commit == "" {
		*commit = gitOr(ctx, "unknown", "rev-parse", "HEAD")
	}
	created, err := sourceDate(ctx)
	if err != nil {
		return err
	}
	o := imagebuild.Options{
		Output: *out, Arch: *arch, Version: *version, Commit: *commit, Created: created,
		Source: *source, License: *license, CACerts: *cacerts,
	}
	if *rootfs != "" {
		return imagebuild.BuildRootFS(ctx, o, *rootfs)
	}
	if err := imagebuild.Build(ctx, o); err != nil {
		return err
	}
	st, err := os.Stat(*out)
	if err != nil {
		return err
	}
	fmt.Printf("wrote %s: waddle:%s (linux/%s, commit %s), %.1f MB\n", *out, *version, *arch, *commit, float64(st.Size())/1e6)
	return nil
}

// sourceDate is SOURCE_DATE_EPOCH, else the time of the commit checked
// out, else the Unix epoch (a tree without git and without the variable
// still builds the same bytes each time).
func sourceDate(ctx context.Context) (time.Time, error) {
	s := os.Getenv("SOURCE_DATE_EPOCH")
	if s == "" {
		s = gitOr(ctx, "0", "log", "-1", "--format=%ct")
	}
	sec, err := strconv.ParseInt(s, 10, 64)
	if err != nil || sec < 0 {
		return time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH %q: want seconds since 1970", s)
	}
	return time.Unix(sec, 0).UTC(), nil
}

// gitOr runs git and returns its output, or def when git fails (no git,
// or not a checkout).
func gitOr(ctx context.Context, def string, args ...string) string {
	b, err := exec.CommandContext(ctx, "git", args...).Output()
	if s := strings.TrimSpace(string(b)); err == nil && s != "" {
		return s
	}
	return def
}
