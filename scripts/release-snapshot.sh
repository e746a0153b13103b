#!/usr/bin/env bash
# Snapshots the queries a release sends, for the expand-then-contract test
# (db/compat): the next release's migrations must keep them working, so old
# and new instances can share one schema during a rolling upgrade.
#
# Run it when cutting a release, with the release's tag or commit, and commit
# the result on main:
#
#   scripts/release-snapshot.sh v1.4.0
#   git add db/compat/previous && git commit -m "Snapshot v1.4.0's queries"
#
# REF defaults to HEAD. The queries are read from the sqlc-generated files of
# REF itself (git archive), not from the working tree.
set -euo pipefail

ref="${1:-HEAD}"
cd "$(git rev-parse --show-toplevel)"
commit="$(git rev-parse --verify "${ref}^{commit}")"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

git archive "$commit" db | tar -x -C "$tmp"
go run ./db/compat/snapshot -dir "$tmp/db" -out db/compat/previous/queries.json.new
mv db/compat/previous/queries.json.new db/compat/previous/queries.json
{
	echo "$commit"
	git describe --tags --exact-match "$commit" 2>/dev/null || true
} > db/compat/previous/RELEASE
echo "db/compat/previous: $(grep -c '"name":' db/compat/previous/queries.json) queries of $(head -1 db/compat/previous/RELEASE)"
