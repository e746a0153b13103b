package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// pgExec is how backup and restore find and run PostgreSQL's programs.
type pgExec struct {
	getenv   func(string) string // PG_DUMP and PG_RESTORE name the programs to use
	progress io.Writer           // a backup's periodic size line; nil for none
	started  func(*exec.Cmd)     // sees each command before it runs (tests check the arguments); may be nil
}

// run runs cmd, keeping what it prints on stderr for the error.
func (x pgExec) run(tool pgTool, cmd *exec.Cmd) error {
	var errBuf bytes.Buffer
	cmd.Stderr = &errBuf
	if x.started != nil {
		x.started(cmd)
	}
	if err := cmd.Run(); err != nil {
		return toolError(tool, err, &errBuf)
	}
	return nil
}

// pgTool is pg_dump or pg_restore, found and of a known major version.
type pgTool struct {
	name  string // "pg_dump"
	path  string
	major int
}

// pgLibDir is where Debian installs each PostgreSQL major's programs.
const pgLibDir = "/usr/lib/postgresql"

var pgVersionRe = regexp.MustCompile(`\(PostgreSQL\) (\d+)`)

// toolMajor runs `path --version` and returns the major version it prints.
func toolMajor(ctx context.Context, path string) (int, error) {
	out, err := exec.CommandContext(ctx, path, "--version").Output()
	if err != nil {
		return 0, fmt.Errorf("run %s --version: %w", path, err)
	}
	m := pgVersionRe.FindSubmatch(out)
	if m == nil {
		return 0, fmt.Errorf("%s --version printed %q, not a PostgreSQL version", path, strings.TrimSpace(string(out)))
	}
	return strconv.Atoi(string(m[1]))
}

// toolVerb words what name does to a server, for the version error.
var toolVerb = map[string]string{"pg_dump": "dump", "pg_restore": "restore into"}

// findTool finds name (pg_dump, pg_restore) for a server of serverMajor: the
// one envVar names, else, from PATH and /usr/lib/postgresql/*/bin (where
// Debian keeps every installed major), the one of the server's major, else
// the newest newer one. An older one cannot read the server's catalogue.
func (x pgExec) findTool(ctx context.Context, name, envVar string, serverMajor int) (pgTool, error) {
	install := fmt.Sprintf("install postgresql-client-%d (or set %s to a %s of major %d or newer)", serverMajor, envVar, name, serverMajor)
	if p := x.getenv(envVar); p != "" {
		m, err := toolMajor(ctx, p)
		if err != nil {
			return pgTool{}, fmt.Errorf("%s=%s: %w", envVar, p, err)
		}
		if m < serverMajor {
			return pgTool{}, fmt.Errorf("%s %d (%s=%s) cannot %s a PostgreSQL %d server; %s", name, m, envVar, p, toolVerb[name], serverMajor, install)
		}
		return pgTool{name: name, path: p, major: m}, nil
	}
	var candidates []string
	if p, err := exec.LookPath(name); err == nil {
		candidates = append(candidates, p)
	}
	lib, _ := filepath.Glob(filepath.Join(pgLibDir, "*", "bin", name))
	candidates = append(candidates, lib...)
	if len(candidates) == 0 {
		return pgTool{}, fmt.Errorf("%s is neither on PATH nor in %s/*/bin; %s", name, pgLibDir, install)
	}
	var found []pgTool
	for _, p := range candidates {
		if m, err := toolMajor(ctx, p); err == nil {
			found = append(found, pgTool{name: name, path: p, major: m})
		}
	}
	if len(found) == 0 {
		return pgTool{}, fmt.Errorf("no %s found runs (tried %s); %s", name, strings.Join(candidates, ", "), install)
	}
	// The server's own major first (its archives suit a pg_restore of that
	// major too), then newer ones, newest first, then older ones.
	rank := func(t pgTool) int {
		switch {
		case t.major == serverMajor:
			return 1 << 20
		case t.major > serverMajor:
			return 1<<10 + t.major
		}
		return t.major
	}
	sort.SliceStable(found, func(i, j int) bool { return rank(found[i]) > rank(found[j]) })
	best := found[0]
	if best.major < serverMajor {
		return pgTool{}, fmt.Errorf("%s %d cannot %s a PostgreSQL %d server; %s", name, best.major, toolVerb[name], serverMajor, install)
	}
	return best, nil
}

// libpqKeywords are the connection parameters libpq understands; pgx accepts
// more (pool_max_conns, …), which would make pg_dump refuse the URL.
var libpqKeywords = map[string]bool{
	"host": true, "hostaddr": true, "port": true, "dbname": true, "user": true, "passfile": true,
	"require_auth": true, "channel_binding": true, "connect_timeout": true, "client_encoding": true, "options": true,
	"application_name": true, "fallback_application_name": true, "keepalives": true, "keepalives_idle": true,
	"keepalives_interval": true, "keepalives_count": true, "tcp_user_timeout": true, "replication": true,
	"gssencmode": true, "sslmode": true, "sslnegotiation": true, "requiressl": true, "sslcompression": true,
	"sslcert": true, "sslkey": true, "sslcertmode": true, "sslpassword": true, "sslrootcert": true, "sslcrl": true,
	"sslcrldir": true, "sslsni": true, "requirepeer": true, "ssl_min_protocol_version": true,
	"ssl_max_protocol_version": true, "krbsrvname": true, "gsslib": true, "gssdelegation": true, "service": true,
	"target_session_attrs": true, "load_balance_hosts": true,
}

// pgConn is how pg_dump and pg_restore reach DATABASE_URL: the URL without
// its password, for --dbname, and the password, for PGPASSWORD. libpq reads
// the URL itself, so sslmode, certificates and several hosts mean to them
// what they mean to the operator; only the password leaves the command line,
// where ps would show it.
type pgConn struct {
	dsn      string // postgres://user@host:port/db?sslmode=…, no password
	password string
	where    string // host:port/db, for messages
}

func newPGConn(name, dbURL string) (pgConn, error) {
	u, err := url.Parse(dbURL)
	if err != nil {
		return pgConn{}, &configError{name, "cannot be parsed"} // url's error would repeat the password
	}
	var c pgConn
	if u.User != nil {
		c.password, _ = u.User.Password()
		u.User = url.User(u.User.Username())
	}
	q := u.Query()
	if p := q.Get("password"); p != "" {
		c.password = p
	}
	for k := range q {
		if !libpqKeywords[k] {
			q.Del(k)
		}
	}
	u.RawQuery = q.Encode()
	c.dsn = u.String()
	c.where = u.Host + u.Path
	return c, nil
}

// command is a pg_dump or pg_restore run against c, never prompting for a password.
func (c pgConn) command(ctx context.Context, tool pgTool, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, tool.path, append([]string{"--no-password", "--dbname=" + c.dsn}, args...)...)
	cmd.Env = os.Environ()
	if c.password != "" {
		cmd.Env = append(cmd.Env, "PGPASSWORD="+c.password)
	}
	return cmd
}

// toolError words a failed pg_dump or pg_restore run with what it printed.
func toolError(tool pgTool, err error, stderr *bytes.Buffer) error {
	msg := strings.TrimSpace(stderr.String())
	if len(msg) > 2000 {
		msg = "…" + msg[len(msg)-2000:]
	}
	if msg == "" {
		return fmt.Errorf("%s: %w", tool.name, err)
	}
	if !strings.HasPrefix(msg, tool.name+":") { // its messages start "pg_restore: error: …"
		msg = tool.name + ": " + msg
	}
	return fmt.Errorf("%s (%w)", msg, err)
}
