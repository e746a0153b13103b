#!/usr/bin/env bash
# The workflow benchmark beside Node-RED, in one run on this machine:
# starts PostgreSQL and Redis, a `waddle serve` on its own port and Node-RED,
# then drives both with `waddle bench` and stops what it started.
#
# Usage: scripts/bench-workflows.sh [waddle bench flags, e.g. -c 64 -d 10s]
#
# The same JSON body goes to Node-RED (http in → function → http response)
# and to a published Waddle workflow (signed webhook → data_transform →
# respond, traces stored), then asynchronous webhooks are measured: accepted
# per second, and the time until every run has completed and been traced.
set -euo pipefail
cd "$(dirname "$0")/.."

port="${WADDLE_BENCH_PORT:-8091}"
bin=.data/bin/waddle
scripts/services.sh start >/dev/null
mkdir -p .data/bin
go build -o "$bin" ./cmd/waddle
eval "$(scripts/services.sh env)"
[ -s .data/token-key ] || (umask 077; head -c 32 /dev/urandom | base64 > .data/token-key)
export TOKEN_ENCRYPTION_KEY="$(cat .data/token-key)"
export BASE_URL="http://127.0.0.1:$port" LISTEN_ADDR="127.0.0.1:$port" LOG_LEVEL=warn
"$bin" setup >/dev/null

"$bin" serve >.data/bench-serve.log 2>&1 &
serve=$!
cleanup() {
	kill "$serve" 2>/dev/null || true
	wait "$serve" 2>/dev/null || true
	scripts/nodered.sh stop >/dev/null || true
}
trap cleanup EXIT
for _ in $(seq 1 100); do
	curl -fsS "$BASE_URL/readyz" >/dev/null 2>&1 && break
	sleep 0.2
done
curl -fsS "$BASE_URL/readyz" >/dev/null || { echo "waddle serve did not start: see .data/bench-serve.log" >&2; exit 1; }
scripts/nodered.sh start >/dev/null

"$bin" bench nodered,webhook-sync -pid "nodered=$(cat .data/nodered.pid),webhook-sync=$serve" "$@"
"$bin" bench webhook-async -pid "webhook-async=$serve" "$@"
