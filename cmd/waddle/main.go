// Command waddle is the Waddle server: the hub, the API, the chat bots and the
// job workers in one binary, plus the commands to migrate and administer it.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
)

const usage = `usage: waddle [command]

commands:
  serve                              run the hub, API and workers (the default)
  setup                              migrate, create the first admin and a demo community if there are none
  migrate up|down|status             apply, roll back one, or list schema migrations
  admin create --email E [--name N] [--admin]
                                     create an account; the password comes from WADDLE_ADMIN_PASSWORD or is generated and printed once
  admin reset-password --email E [--clear-2fa]
                                     set a new password (from WADDLE_ADMIN_PASSWORD, or generated and printed once);
                                     --clear-2fa also removes the account's second factors (recorded in the audit log)
  backup [-o FILE]                   write a consistent pg_dump (custom format) of DATABASE_URL to FILE (mode 0600), by
                                     default waddle-YYYYMMDD-HHMMSS.dump (UTC); needs pg_dump and pg_restore of the
                                     server's major or newer. Keep TOKEN_ENCRYPTION_KEY too: sealed secrets need it
  restore FILE [--database-url URL]  load a backup into a new, empty database (default DATABASE_URL) in one transaction,
                                     apply this release's migrations, and check TOKEN_ENCRYPTION_KEY opens its secrets
  chat --community SLUG [--platform twitch] [--user alice] [--badges moderator,vip] [--dry-run=true]
                                     the chat simulator in the terminal: type messages, or /follow, /raid 50, /cheer 500, /sub, /quit
  import --community SLUG --source SOURCE [--apply] [--conflicts skip|rename|overwrite] [--currency NAME]
         [--other-currencies skip|counter] FILE...
                                     import from another bot (nightbot, streamelements, streamlabs, firebot, phantombot):
                                     prints the preview; --apply applies it here with a progress line. Files up to 200 MiB;
                                     streamelements reads its JWT token from standard input instead of files
  bench TARGET[,TARGET...] [-c 64] [-d 10s] [-warmup 2s] [-timeout 10s] [-pid TARGET=PID] [-json]
                                     load-test each target in turn over HTTP and print req/s, p50, p90 and p99 side by side,
                                     with -pid also the CPU time of a target's server; targets: nodered [-url U] (POST to
                                     http://127.0.0.1:1880/bench: start it with scripts/nodered.sh start), url -url U
  license keygen -out PATH           make the key pair that signs licence keys: prints WADDLE_LICENSE_PUBLIC_KEY,
                                     writes the private key to PATH (mode 0600; - for standard output)
  license issue -key PATH -community N [-days 365]
                                     print a pro licence key for community N (0: the whole installation)
  license verify [-public KEY] [-community N] LICENCE_KEY
                                     check a licence key and show what it holds
  version                            print the version, commit and build time embedded at build, and the Go version
  healthcheck                        GET /healthz of the instance on LISTEN_ADDR: exit status 0 on 200, else 1 (2 s
                                     timeout); the container image's health check, as it has no shell or curl
  module validate MANIFEST.json      check a marketplace module's manifest offline: "ok" and a summary, or every
                                     error by its JSON path (exit status 1)

configuration comes from environment variables: see README.md and .env.example.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout)
	stop()
	if err != nil {
		var ue *usageError
		if errors.As(err, &ue) {
			fmt.Fprint(os.Stderr, usage)
		}
		fmt.Fprintln(os.Stderr, "waddle:", err)
		os.Exit(1)
	}
}

type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

// run is main without the process: tests call it.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout io.Writer) error {
	cmd := "serve"
	if len(args) > 0 {
		cmd, args = args[0], args[1:]
	}
	if cmd == "help" || cmd == "-h" || cmd == "--help" {
		fmt.Fprint(stdout, usage)
		return nil
	}
	if cmd == "bench" { // a load tool: needs no configuration of its own
		return bench(ctx, args, getenv, stdout)
	}
	if cmd == "license" { // an operator's tool: needs no database or configuration
		return license(args, getenv, stdout)
	}
	if cmd == "module" { // a module author's tool: works offline
		return module(args, stdout)
	}
	if cmd == "restore" { // reads its configuration itself: --database-url may replace DATABASE_URL
		return restore(ctx, args, pgExec{getenv: getenv}, stdout) // restore.go
	}
	if cmd == "version" || cmd == "--version" { // version.go
		return versionCmd(args, stdout)
	}
	if cmd == "healthcheck" { // reads LISTEN_ADDR alone (healthcheck.go)
		return healthcheck(ctx, args, getenv, stdout)
	}
	cfg, err := loadConfig(getenv)
	if err != nil {
		return err
	}
	logger := newLogger(cfg, stdout)
	switch cmd {
	case "serve":
		if len(args) > 0 {
			return &usageError{"serve takes no arguments"}
		}
		return serve(ctx, cfg, logger, nil)
	case "setup":
		return setup(ctx, cfg, logger, stdout)
	case "migrate":
		return migrate(ctx, cfg, logger, args, stdout)
	case "admin":
		return admin(ctx, cfg, logger, args, stdout)
	case "chat":
		return chat(ctx, cfg, logger, args, stdin, stdout)
	case "import":
		return importCmd(ctx, cfg, logger, args, stdin, stdout) // import_cmd.go
	case "backup":
		return backup(ctx, cfg, args, pgExec{getenv: getenv, progress: os.Stderr}, stdout) // backup.go
	}
	return &usageError{fmt.Sprintf("unknown command %q", cmd)}
}

func newLogger(cfg config, w io.Writer) *slog.Logger {
	var level slog.Level
	level.UnmarshalText([]byte(cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	format := cfg.LogFormat
	if format == "auto" {
		format = "json"
		if f, ok := w.(*os.File); ok {
			if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
				format = "text"
			}
		}
	}
	if format == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}
