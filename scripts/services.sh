#!/usr/bin/env bash
# Private PostgreSQL and Redis instances for developing and testing Waddle.
#
# Usage: scripts/services.sh start|stop|status|env
#
#   start   install what is missing (apt-get), then start both services under
#           ./.data of the repository; running instances are reused
#   stop    stop both services (no error when they are not running)
#   status  print whether each service is running (exit 0 when both are, 3 if not)
#   env     print DATABASE_URL and REDIS_URL as `export` lines, for `eval`
#   ca-certificates
#           install Debian's CA bundle if it is missing (make image copies it
#           into the container image; `start` installs it too)
#
# Environment:
#   WADDLE_PG_PORT     PostgreSQL port on 127.0.0.1 (default 55432)
#   WADDLE_REDIS_PORT  Redis port on 127.0.0.1 (default 56379)
#   WITH_CHROMIUM=1    `start` also installs Debian's chromium (browser tests)
#
# PostgreSQL refuses to run as root, so when this script runs as root the
# cluster belongs to the `postgres` system user. If that user cannot reach
# ./.data (the checkout lives in a private directory, e.g. one made by
# mktemp -d), the cluster is placed in /var/tmp/waddle-pg-<hash of the repo
# path> and ./.data/pg is a symlink to it.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
DATA="$ROOT/.data"
PG_PORT="${WADDLE_PG_PORT:-55432}"
REDIS_PORT="${WADDLE_REDIS_PORT:-56379}"
PG_LINK="$DATA/pg"
PG_LOG="$DATA/pg.log"
REDIS_DIR="$DATA/redis"
REDIS_PIDFILE="$DATA/redis.pid"
REDIS_LOG="$DATA/redis.log"
# Where the cluster goes when the postgres user cannot reach .data.
FALLBACK_PREFIX=/var/tmp/waddle-pg-
WAIT_SECONDS=30

say() { echo "services: $*"; }
die() {
	echo "services: error: $*" >&2
	exit 1
}

# die_with_log MESSAGE LOGFILE: fail, showing the end of a log file.
die_with_log() {
	echo "services: error: $1" >&2
	if [ -s "$2" ]; then
		echo "services: last lines of $2:" >&2
		tail -n 30 "$2" | sed 's/^/    /' >&2
	fi
	exit 1
}

check_port() { # check_port VALUE VARNAME
	case "$1" in
	'' | *[!0-9]*) die "$2 must be a port number, not '$1'" ;;
	esac
	if [ "$1" -lt 1 ] || [ "$1" -gt 65535 ]; then
		die "$2 must be a port number between 1 and 65535, not '$1'"
	fi
}
check_port "$PG_PORT" WADDLE_PG_PORT
check_port "$REDIS_PORT" WADDLE_REDIS_PORT

# port_in_use PORT: something accepts TCP connections on 127.0.0.1:PORT.
port_in_use() {
	# shellcheck disable=SC2016 # $1 expands in the inner shell
	timeout 3 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1"' _ "$1" 2>/dev/null
}

is_root() { [ "$(id -u)" = 0 ]; }

# ---------------------------------------------------------------- installing

pg_newest_bindir() {
	local f
	f="$(printf '%s\n' /usr/lib/postgresql/*/bin/initdb | sort -V | tail -n 1)"
	[ -x "$f" ] || return 1
	dirname "$f"
}

ensure_packages() {
	local pkgs=()
	pg_newest_bindir >/dev/null || pkgs+=(postgresql)
	# waddle backup and restore (and their tests) run pg_dump and pg_restore;
	# the server's package brings them, a client-only machine needs this one.
	[ -x "$(pg_newest_bindir)/pg_dump" ] || command -v pg_dump >/dev/null || pkgs+=(postgresql-client)
	command -v redis-server >/dev/null || pkgs+=(redis-server)
	command -v redis-cli >/dev/null || pkgs+=(redis-tools)
	[ -s /etc/ssl/certs/ca-certificates.crt ] || pkgs+=(ca-certificates)
	if [ "${WITH_CHROMIUM:-}" = 1 ] && ! command -v chromium >/dev/null; then
		pkgs+=(chromium fonts-liberation)
	fi
	[ "${#pkgs[@]}" -gt 0 ] || return 0
	install_packages "${pkgs[@]}"
}

# install_packages PKG...: apt-get install, logged to .data/apt.log.
install_packages() {
	local pkgs=("$@")
	is_root || die "missing packages: ${pkgs[*]} (run as root, or install them with apt-get)"
	mkdir -p "$DATA"
	local aptlog="$DATA/apt.log"
	say "installing ${pkgs[*]} with apt-get (log: $aptlog)"
	export DEBIAN_FRONTEND=noninteractive
	: >"$aptlog"
	apt-get update >>"$aptlog" 2>&1 </dev/null ||
		die_with_log "apt-get update failed" "$aptlog"
	apt-get install -y --no-install-recommends "${pkgs[@]}" >>"$aptlog" 2>&1 </dev/null ||
		die_with_log "apt-get install ${pkgs[*]} failed" "$aptlog"
}

# ---------------------------------------------------------------- PostgreSQL

# The user that owns and runs the cluster: postgres when we are root,
# otherwise whoever runs this script.
if is_root; then PG_USER=postgres; else PG_USER="$(id -un)"; fi

as_pg() {
	if is_root; then
		(cd / && runuser -u "$PG_USER" -- "$@")
	else
		(cd / && "$@")
	fi
}

ensure_pg_user() {
	is_root || return 0
	id -u postgres >/dev/null 2>&1 && return 0
	say "creating the postgres system user"
	useradd --system --user-group --home-dir /var/lib/postgresql --shell /bin/bash postgres
}

# pg_datadir: print the cluster's real directory (may not exist yet).
pg_datadir() {
	if [ -L "$PG_LINK" ]; then
		readlink -m "$PG_LINK"
	else
		echo "$PG_LINK"
	fi
}

# pg_bindir DATADIR: binaries matching the cluster's version, else the newest.
pg_bindir() {
	local v
	if [ -f "$1/PG_VERSION" ]; then
		v="$(cat "$1/PG_VERSION")"
		if [ -x "/usr/lib/postgresql/$v/bin/pg_ctl" ]; then
			echo "/usr/lib/postgresql/$v/bin"
			return 0
		fi
	fi
	pg_newest_bindir
}

# pg_prepare_dir: make sure the cluster directory exists, is owned by
# PG_USER and is reachable by it; print its real path.
pg_prepare_dir() {
	local dir
	mkdir -p "$DATA"
	if [ -L "$PG_LINK" ]; then
		dir="$(readlink -m "$PG_LINK")"
		mkdir -p "$dir"
	elif [ -d "$PG_LINK" ]; then
		dir="$PG_LINK"
		if ! as_pg test -x "$DATA"; then
			die "$PG_USER cannot reach $PG_LINK (a parent directory is private); run '$0 stop && rm -rf $PG_LINK' to recreate the cluster in /var/tmp"
		fi
	elif as_pg test -x "$DATA"; then
		dir="$PG_LINK"
		mkdir "$dir"
	else
		dir="$FALLBACK_PREFIX$(printf '%s' "$ROOT" | sha1sum | cut -c1-12)"
		say "$PG_USER cannot reach $DATA; placing the cluster in $dir" >&2
		mkdir -p "$dir"
		ln -sfn "$dir" "$PG_LINK"
		# Remembers whose cluster this is, for pg_remove_stale_clusters.
		printf '%s\n' "$ROOT" >"$dir.repo"
	fi
	if is_root; then chown "$PG_USER:" "$dir"; fi
	chmod 700 "$dir"
	echo "$dir"
}

# pg_remove_stale_clusters: delete clusters in /var/tmp whose checkout is gone
# (every CI run clones into a new directory, so they would pile up).
pg_remove_stale_clusters() {
	local d repo pid
	for d in "$FALLBACK_PREFIX"*; do
		if [ ! -d "$d" ] || [ ! -f "$d.repo" ]; then continue; fi
		repo="$(cat "$d.repo")"
		# Still the cluster of an existing checkout?
		[ "$(readlink -m "$repo/.data/pg" 2>/dev/null)" = "$d" ] && continue
		# Still running?
		pid="$(sed -n 1p "$d/postmaster.pid" 2>/dev/null || true)"
		[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && continue
		say "removing $d, the PostgreSQL cluster of $repo, which is gone"
		rm -rf -- "$d" "$d.repo"
	done
}

pg_running() { # pg_running BINDIR DATADIR
	[ -f "$2/PG_VERSION" ] || return 1
	as_pg "$1/pg_ctl" -D "$2" status >/dev/null 2>&1
}

# pg_pid_line DATADIR N: line N of postmaster.pid (1 = pid, 4 = port).
pg_pid_line() { sed -n "${2}p" "$1/postmaster.pid" 2>/dev/null || true; }

pg_ready() { # pg_ready BINDIR
	"$1/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -t 2 >/dev/null 2>&1
}

pg_psql() { # pg_psql BINDIR ARGS...
	local bin="$1"
	shift
	PGCONNECT_TIMEOUT=5 "$bin/psql" "postgresql://postgres@127.0.0.1:$PG_PORT/postgres?sslmode=disable" \
		-X -q -t -A -v ON_ERROR_STOP=1 "$@"
}

pg_write_conf() { # pg_write_conf DATADIR
	local dir="$1" sockdir q="'"
	# A unix socket path is limited to ~107 bytes; skip the socket on deep paths.
	sockdir="$dir"
	if [ "$((${#sockdir} + 20))" -gt 100 ]; then sockdir=""; fi
	sockdir="${sockdir//$q/$q$q}"
	cat >"$dir/waddle.conf" <<EOF
# Written by scripts/services.sh at every start; edit that script instead.
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$sockdir'
max_connections = 300
# A throwaway development cluster: trade durability for speed.
fsync = off
synchronous_commit = off
full_page_writes = off
EOF
	if is_root; then chown "$PG_USER:" "$dir/waddle.conf"; fi
	if ! grep -q "^include_if_exists 'waddle.conf'" "$dir/postgresql.conf"; then
		printf "\n# Settings of scripts/services.sh\ninclude_if_exists 'waddle.conf'\n" >>"$dir/postgresql.conf"
	fi
}

pg_initdb() { # pg_initdb BINDIR DATADIR
	local locale=C
	if locale -a 2>/dev/null | grep -qiE '^c\.utf-?8$'; then locale=C.UTF-8; fi
	say "initializing a PostgreSQL cluster in $2"
	if ! as_pg "$1/initdb" -D "$2" --auth=trust -U postgres --encoding=UTF8 \
		--locale="$locale" >"$DATA/initdb.log" 2>&1 </dev/null; then
		die_with_log "initdb failed" "$DATA/initdb.log"
	fi
}

# port_owner_hint PORT KIND: describe what listens on a port, if it's one of ours.
port_owner_hint() {
	local other=""
	if [ "$2" = pg ]; then
		local bin
		bin="$(pg_newest_bindir)" || return 0
		other="$(PGCONNECT_TIMEOUT=2 "$bin/psql" "postgresql://postgres@127.0.0.1:$1/postgres?sslmode=disable" \
			-X -q -t -A -c 'SHOW data_directory' 2>/dev/null || true)"
	else
		other="$(timeout 2 redis-cli -h 127.0.0.1 -p "$1" --raw config get dir 2>/dev/null | sed -n 2p || true)"
	fi
	if [ -n "$other" ]; then echo " (its data directory is $other: another checkout's services? stop them there with scripts/services.sh stop)"; fi
}

pg_start() {
	local dir bin running_port
	ensure_pg_user
	pg_remove_stale_clusters
	dir="$(pg_prepare_dir)"
	bin="$(pg_bindir "$dir")" || die "no PostgreSQL binaries under /usr/lib/postgresql/*/bin"
	[ -f "$dir/PG_VERSION" ] || pg_initdb "$bin" "$dir"

	if pg_running "$bin" "$dir"; then
		running_port="$(pg_pid_line "$dir" 4)"
		if [ "$running_port" = "$PG_PORT" ]; then
			say "PostgreSQL already running on 127.0.0.1:$PG_PORT (pid $(pg_pid_line "$dir" 1))"
		else
			say "PostgreSQL is running on port $running_port, restarting it on $PG_PORT"
			as_pg "$bin/pg_ctl" -D "$dir" -m fast -w -t 60 stop >/dev/null
		fi
	fi

	if ! pg_running "$bin" "$dir"; then
		if port_in_use "$PG_PORT"; then
			die "port $PG_PORT on 127.0.0.1 is already in use by another program$(port_owner_hint "$PG_PORT" pg); set WADDLE_PG_PORT to a free port"
		fi
		pg_write_conf "$dir"
		say "starting PostgreSQL on 127.0.0.1:$PG_PORT (data $dir, log $PG_LOG)"
		# The server inherits this redirection, so it logs to .data/pg.log
		# even when the postgres user cannot open files under .data.
		if ! as_pg "$bin/pg_ctl" -D "$dir" -w -t "$WAIT_SECONDS" -s start >>"$PG_LOG" 2>&1 </dev/null; then
			die_with_log "PostgreSQL failed to start" "$PG_LOG"
		fi
	fi

	local i
	for ((i = 0; i < WAIT_SECONDS; i++)); do
		pg_ready "$bin" && break
		sleep 1
	done
	pg_ready "$bin" || die_with_log "PostgreSQL does not answer on 127.0.0.1:$PG_PORT" "$PG_LOG"

	if [ "$(pg_psql "$bin" -c "SELECT 1 FROM pg_database WHERE datname = 'waddle'")" != 1 ]; then
		say "creating database waddle"
		pg_psql "$bin" -c 'CREATE DATABASE waddle' >/dev/null
	fi
}

pg_stop() {
	local dir bin
	dir="$(pg_datadir)"
	if [ ! -f "$dir/PG_VERSION" ] || ! bin="$(pg_bindir "$dir")"; then
		say "PostgreSQL: no cluster"
		return 0
	fi
	if pg_running "$bin" "$dir"; then
		say "stopping PostgreSQL (pid $(pg_pid_line "$dir" 1))"
		as_pg "$bin/pg_ctl" -D "$dir" -m fast -w -t 60 stop >/dev/null ||
			die_with_log "PostgreSQL did not stop" "$PG_LOG"
	else
		say "PostgreSQL is not running"
	fi
}

pg_status() {
	local dir bin
	dir="$(pg_datadir)"
	if [ ! -f "$dir/PG_VERSION" ] || ! bin="$(pg_bindir "$dir")"; then
		echo "postgres: not running (no cluster in $dir)"
		return 1
	fi
	if pg_running "$bin" "$dir"; then
		echo "postgres: running, pid $(pg_pid_line "$dir" 1), 127.0.0.1:$(pg_pid_line "$dir" 4), data $dir"
	else
		echo "postgres: not running (data $dir)"
		return 1
	fi
}

# ---------------------------------------------------------------- Redis

redis_pid() { # print the pid from our pidfile if that process is a live redis-server
	local pid
	[ -f "$REDIS_PIDFILE" ] || return 1
	pid="$(tr -dc 0-9 <"$REDIS_PIDFILE")"
	[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
	grep -q redis-server "/proc/$pid/comm" 2>/dev/null || return 1
	echo "$pid"
}

redis_cli() { timeout 3 redis-cli -h 127.0.0.1 -p "$REDIS_PORT" "$@"; }

redis_ping() { [ "$(redis_cli ping 2>/dev/null)" = PONG ]; }

# redis_ours: the server on REDIS_PORT is the one that works in .data/redis.
redis_ours() {
	[ "$(redis_cli --raw config get dir 2>/dev/null | sed -n 2p)" = "$REDIS_DIR" ]
}

redis_wait_gone() { # redis_wait_gone PID
	local i
	for ((i = 0; i < 50; i++)); do
		kill -0 "$1" 2>/dev/null || return 0
		sleep 0.2
	done
	return 1
}

redis_start() {
	local pid=""
	mkdir -p "$REDIS_DIR"
	pid="$(redis_pid)" || pid=""
	if port_in_use "$REDIS_PORT"; then
		if redis_ours; then
			say "Redis already running on 127.0.0.1:$REDIS_PORT${pid:+ (pid $pid)}"
			return 0
		fi
		die "port $REDIS_PORT on 127.0.0.1 is already in use by another program$(port_owner_hint "$REDIS_PORT" redis); set WADDLE_REDIS_PORT to a free port"
	fi
	if [ -n "$pid" ]; then
		# Ours, but listening elsewhere (WADDLE_REDIS_PORT changed) or hung.
		say "stopping the previous Redis (pid $pid) to start it on port $REDIS_PORT"
		kill "$pid" 2>/dev/null || true
		redis_wait_gone "$pid" || die "Redis (pid $pid) did not stop"
	fi
	say "starting Redis on 127.0.0.1:$REDIS_PORT (log $REDIS_LOG)"
	# shellcheck disable=SC2094 # redis-server appends to its log; so do we, before it daemonizes
	if ! redis-server --daemonize yes --bind 127.0.0.1 --port "$REDIS_PORT" \
		--protected-mode yes --dir "$REDIS_DIR" --pidfile "$REDIS_PIDFILE" \
		--logfile "$REDIS_LOG" --save '' --appendonly no >/dev/null 2>>"$REDIS_LOG" </dev/null; then
		die_with_log "redis-server failed to start" "$REDIS_LOG"
	fi
	local i
	for ((i = 0; i < WAIT_SECONDS * 5; i++)); do
		redis_ping && return 0
		sleep 0.2
	done
	die_with_log "Redis does not answer on 127.0.0.1:$REDIS_PORT after ${WAIT_SECONDS}s" "$REDIS_LOG"
}

redis_stop() {
	local pid=""
	pid="$(redis_pid)" || pid=""
	if redis_ping && redis_ours; then
		say "stopping Redis on 127.0.0.1:$REDIS_PORT${pid:+ (pid $pid)}"
		redis_cli shutdown nosave >/dev/null 2>&1 || true
	elif [ -n "$pid" ]; then
		say "stopping Redis (pid $pid)"
		kill "$pid" 2>/dev/null || true
	else
		say "Redis is not running"
		return 0
	fi
	if [ -n "$pid" ]; then
		redis_wait_gone "$pid" || die "Redis (pid $pid) did not stop"
	else
		local i
		for ((i = 0; i < 50; i++)); do
			redis_ping || return 0
			sleep 0.2
		done
		die "Redis on port $REDIS_PORT did not stop"
	fi
}

redis_status() {
	local pid=""
	pid="$(redis_pid)" || pid=""
	if redis_ping && redis_ours; then
		echo "redis: running${pid:+, pid $pid}, 127.0.0.1:$REDIS_PORT, dir $REDIS_DIR"
	elif [ -n "$pid" ]; then
		echo "redis: running, pid $pid, but not answering on 127.0.0.1:$REDIS_PORT"
		return 1
	else
		echo "redis: not running"
		return 1
	fi
}

# ---------------------------------------------------------------- main

usage() {
	echo "usage: $0 start|stop|status|env|ca-certificates" >&2
	exit 2
}

[ "$#" -eq 1 ] || usage
case "$1" in
start)
	ensure_packages
	pg_start
	redis_start
	say "ready: postgres on 127.0.0.1:$PG_PORT, redis on 127.0.0.1:$REDIS_PORT"
	;;
stop)
	rc=0
	pg_stop || rc=1
	redis_stop || rc=1
	exit "$rc"
	;;
status)
	rc=0
	pg_status || rc=3
	redis_status || rc=3
	exit "$rc"
	;;
ca-certificates)
	[ -s /etc/ssl/certs/ca-certificates.crt ] || install_packages ca-certificates
	;;
env)
	echo "export DATABASE_URL='postgres://postgres@127.0.0.1:$PG_PORT/waddle?sslmode=disable'"
	echo "export REDIS_URL='redis://127.0.0.1:$REDIS_PORT/0'"
	;;
*) usage ;;
esac
