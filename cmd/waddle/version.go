package main

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
)

// Set at build time by the image builder and the Dockerfile:
//
//	-ldflags "-X main.version=v1.2.3 -X main.commit=abc123 -X main.buildTime=2026-01-02T03:04:05Z"
//
// A plain `go build` leaves the defaults, and buildInfo fills commit and
// build time from the VCS stamp Go records when it builds in a checkout.
var (
	version   = "dev"
	commit    = "unknown"
	buildTime = "unknown"
)

// buildStamp is what `waddle version` prints.
type buildStamp struct {
	Version, Commit, BuildTime, GoVersion string
}

// buildInfo returns the embedded version, commit and build time: the
// ldflags values where set, else the VCS settings of the build (absent
// under -buildvcs=false or outside a checkout), else the defaults.
func buildInfo() buildStamp {
	s := buildStamp{Version: version, Commit: commit, BuildTime: buildTime, GoVersion: runtime.Version()}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return s
	}
	modified := false
	for _, kv := range info.Settings {
		switch kv.Key {
		case "vcs.revision":
			if s.Commit == "unknown" {
				s.Commit = kv.Value
			}
		case "vcs.time":
			if s.BuildTime == "unknown" {
				s.BuildTime = kv.Value
			}
		case "vcs.modified":
			modified = kv.Value == "true"
		}
	}
	if modified && commit == "unknown" && s.Commit != "unknown" {
		s.Commit += "-dirty"
	}
	return s
}

// versionCmd runs `waddle version`: one line with what was embedded at build.
func versionCmd(args []string, stdout io.Writer) error {
	if len(args) > 0 {
		return &usageError{fmt.Sprintf("version takes no arguments, got %q", args[0])}
	}
	s := buildInfo()
	fmt.Fprintf(stdout, "waddle %s (commit %s, built %s, %s)\n", s.Version, s.Commit, s.BuildTime, s.GoVersion)
	return nil
}
