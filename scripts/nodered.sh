#!/usr/bin/env bash
# A local Node-RED running the benchmark's flow, to compare Waddle with.
#
# Usage: scripts/nodered.sh start [PORT] | stop | status
#
#   start   install what is missing (Node.js with apt-get, Node-RED with npm
#           into ./.data/nodered), write its settings and the flow, and start
#           it in the background on 127.0.0.1; a running instance is reused
#   stop    stop it (no error when it is not running)
#   status  print whether it is running (exit 0 when it is, 3 if not)
#
# The flow is the one `waddle bench` drives on both sides:
#   POST /bench  {"user":"alice","amount":5}
#     → {"user":"alice","points":50,"note":"thanks alice"}
# as an http in → function → http response flow. The editor and the admin
# API are off (httpAdminRoot: false) and nothing is logged below warn.
#
# Environment:
#   WADDLE_NODERED_PORT  port on 127.0.0.1 (default 1880); start's PORT
#                        argument wins over it
set -euo pipefail

usage() {
	echo "usage: $0 start [PORT] | stop | status" >&2
	exit 2
}
case "${1:-}" in
start) [ "$#" -le 2 ] || usage ;;
stop | status) [ "$#" -eq 1 ] || usage ;;
*) usage ;;
esac
if [ "$1" = start ] && [ "$#" -eq 2 ]; then WADDLE_NODERED_PORT="$2"; fi

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
DATA="$ROOT/.data"
# Node-RED 4.x, pinned: the version the benchmark figures in README name.
NODERED_VERSION=4.1.15
PORT="${WADDLE_NODERED_PORT:-1880}"
PREFIX="$DATA/nodered"
USERDIR="$PREFIX/user"
PIDFILE="$DATA/nodered.pid"
LOG="$DATA/nodered.log"
WAIT_SECONDS=60

say() { echo "nodered: $*"; }
die() {
	echo "nodered: error: $*" >&2
	exit 1
}

# die_with_log MESSAGE LOGFILE: fail, showing the end of a log file.
die_with_log() {
	echo "nodered: error: $1" >&2
	if [ -s "$2" ]; then
		echo "nodered: last lines of $2:" >&2
		tail -n 30 "$2" | sed 's/^/    /' >&2
	fi
	exit 1
}

case "$PORT" in
'' | *[!0-9]*) die "the port (WADDLE_NODERED_PORT or start's argument) must be a number, not '$PORT'" ;;
esac
if [ "$PORT" -lt 1 ] || [ "$PORT" -gt 65535 ]; then
	die "the port (WADDLE_NODERED_PORT or start's argument) must be between 1 and 65535, not '$PORT'"
fi

# port_in_use PORT: something accepts TCP connections on 127.0.0.1:PORT.
port_in_use() {
	# shellcheck disable=SC2016 # $1 expands in the inner shell
	timeout 3 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1"' _ "$1" 2>/dev/null
}

is_root() { [ "$(id -u)" = 0 ]; }

# ---------------------------------------------------------------- installing

ensure_node() {
	local pkgs=()
	command -v node >/dev/null || pkgs+=(nodejs)
	command -v npm >/dev/null || pkgs+=(npm)
	command -v curl >/dev/null || pkgs+=(curl)
	if [ "${#pkgs[@]}" -gt 0 ]; then
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
	fi
	local major
	major="$(node -p 'process.versions.node.split(".")[0]')"
	[ "$major" -ge 18 ] || die "Node-RED $NODERED_VERSION needs Node.js 18 or newer; this is $(node --version)"
}

installed_version() {
	node -p "require('$PREFIX/node_modules/node-red/package.json').version" 2>/dev/null || true
}

ensure_nodered() {
	[ "$(installed_version)" = "$NODERED_VERSION" ] && return 0
	mkdir -p "$PREFIX"
	local npmlog="$DATA/nodered-npm.log"
	say "installing node-red@$NODERED_VERSION into $PREFIX (log: $npmlog)"
	# A package.json of our own keeps npm from climbing up to the repository.
	[ -f "$PREFIX/package.json" ] || echo '{"name":"waddle-bench-nodered","private":true}' >"$PREFIX/package.json"
	if ! npm install --prefix "$PREFIX" --no-audit --no-fund --omit=dev --save-exact \
		"node-red@$NODERED_VERSION" >"$npmlog" 2>&1 </dev/null; then
		die_with_log "npm install node-red@$NODERED_VERSION failed" "$npmlog"
	fi
	[ "$(installed_version)" = "$NODERED_VERSION" ] ||
		die "npm installed node-red $(installed_version), not $NODERED_VERSION"
}

# ---------------------------------------------------------------- the flow

write_config() {
	mkdir -p "$USERDIR"
	cat >"$USERDIR/settings.js" <<EOF
// Written by scripts/nodered.sh at every start; edit that script instead.
module.exports = {
    uiHost: "127.0.0.1",
    uiPort: $PORT,
    flowFile: "flows.json",
    credentialSecret: false,
    // No editor, no admin API: a local benchmark target only.
    httpAdminRoot: false,
    httpNodeRoot: "/",
    logging: { console: { level: "warn", metrics: false, audit: false } },
    diagnostics: { enabled: false },
    runtimeState: { enabled: false },
    telemetry: { enabled: false, updateNotification: false },
    externalModules: { autoInstall: false, palette: { allowInstall: false } },
    functionExternalModules: false,
    editorTheme: { projects: { enabled: false } }
};
EOF
	cat >"$USERDIR/flows.json" <<'EOF'
[
    {"id": "b0a0000000000001", "type": "tab", "label": "bench", "disabled": false, "info": ""},
    {"id": "b0a0000000000002", "type": "http in", "z": "b0a0000000000001", "name": "POST /bench",
     "url": "/bench", "method": "post", "upload": false, "swaggerDoc": "", "x": 120, "y": 80,
     "wires": [["b0a0000000000003"]]},
    {"id": "b0a0000000000003", "type": "function", "z": "b0a0000000000001", "name": "transform",
     "func": "msg.payload = {user: msg.payload.user, points: msg.payload.amount * 10, note: \"thanks \" + msg.payload.user};\nreturn msg;",
     "outputs": 1, "timeout": 0, "noerr": 0, "initialize": "", "finalize": "", "libs": [], "x": 300, "y": 80,
     "wires": [["b0a0000000000004"]]},
    {"id": "b0a0000000000004", "type": "http response", "z": "b0a0000000000001", "name": "",
     "statusCode": "200", "headers": {}, "x": 470, "y": 80, "wires": []}
]
EOF
}

# ---------------------------------------------------------------- process

nodered_pid() { # print the pid from our pidfile if that process is a live node
	local pid
	[ -f "$PIDFILE" ] || return 1
	pid="$(tr -dc 0-9 <"$PIDFILE")"
	[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
	grep -q node "/proc/$pid/cmdline" 2>/dev/null || return 1
	echo "$pid"
}

flow_answers() {
	[ "$(curl -s -m 3 -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
		-d '{"user":"alice","amount":5}' "http://127.0.0.1:$PORT/bench" 2>/dev/null)" = 200 ]
}

wait_gone() { # wait_gone PID
	local i
	for ((i = 0; i < 50; i++)); do
		kill -0 "$1" 2>/dev/null || return 0
		sleep 0.2
	done
	return 1
}

start() {
	local pid=""
	pid="$(nodered_pid)" || pid=""
	if [ -n "$pid" ]; then
		if flow_answers; then
			say "already running on 127.0.0.1:$PORT (pid $pid)"
			return 0
		fi
		say "stopping the previous Node-RED (pid $pid) to start it on port $PORT"
		kill "$pid" 2>/dev/null || true
		wait_gone "$pid" || die "Node-RED (pid $pid) did not stop"
	fi
	if port_in_use "$PORT"; then
		die "port $PORT on 127.0.0.1 is already in use by another program; set WADDLE_NODERED_PORT to a free port"
	fi
	ensure_node
	ensure_nodered
	write_config
	say "starting Node-RED $NODERED_VERSION on 127.0.0.1:$PORT (log $LOG)"
	: >"$LOG"
	NODE_ENV=production setsid node "$PREFIX/node_modules/node-red/red.js" \
		--userDir "$USERDIR" --settings "$USERDIR/settings.js" \
		>>"$LOG" 2>&1 </dev/null &
	echo "$!" >"$PIDFILE"
	pid="$!"
	local i
	for ((i = 0; i < WAIT_SECONDS * 5; i++)); do
		if flow_answers; then
			say "ready: POST http://127.0.0.1:$PORT/bench (pid $pid)"
			return 0
		fi
		kill -0 "$pid" 2>/dev/null || die_with_log "Node-RED exited" "$LOG"
		sleep 0.2
	done
	die_with_log "Node-RED does not answer POST /bench on 127.0.0.1:$PORT after ${WAIT_SECONDS}s" "$LOG"
}

stop() {
	local pid=""
	pid="$(nodered_pid)" || pid=""
	if [ -z "$pid" ]; then
		say "Node-RED is not running"
		rm -f "$PIDFILE"
		return 0
	fi
	say "stopping Node-RED (pid $pid)"
	kill "$pid" 2>/dev/null || true
	wait_gone "$pid" || die "Node-RED (pid $pid) did not stop"
	rm -f "$PIDFILE"
}

status() {
	local pid=""
	pid="$(nodered_pid)" || pid=""
	if [ -z "$pid" ]; then
		echo "nodered: not running"
		return 3
	fi
	if flow_answers; then
		echo "nodered: running, pid $pid, POST http://127.0.0.1:$PORT/bench"
	else
		echo "nodered: running, pid $pid, but POST /bench does not answer on 127.0.0.1:$PORT"
		return 3
	fi
}

# ---------------------------------------------------------------- main

case "$1" in
start) start ;;
stop) stop ;;
status) status ;;
esac
