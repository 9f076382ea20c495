#!/usr/bin/env bash
# Rebuilds the previous-schema fixture from the release it stands for, with that release's own
# code: a checkout of $REV, gen/main.go built inside it, run once on SQLite and once on a fresh
# PostgreSQL database, which pg_dump then writes out as plain SQL.
#
#   NINES_TEST_POSTGRES=postgres://nines@127.0.0.1:55433/postgres?sslmode=disable \
#     internal/app/testdata/upgrade/make.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
REV=${REV:-63770fd}
: "${NINES_TEST_POSTGRES:?set NINES_TEST_POSTGRES to a PostgreSQL server URL}"
work=$(mktemp -d)
trap 'git -C "$here" worktree remove --force "$work/src" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

git -C "$here" worktree add --detach "$work/src" "$REV" >/dev/null
mkdir -p "$work/src/cmd/upgradefixture"
cp "$here/gen/main.go" "$work/src/cmd/upgradefixture/main.go"
(cd "$work/src" && go build -o "$work/gen" ./cmd/upgradefixture)

# SQLite: the data directory as that release leaves it (database and key file).
rm -rf "$here/sqlite" && mkdir -p "$here/sqlite"
"$work/gen" "$here/sqlite" "" "$here/token.txt"
rm -f "$here/sqlite/nines.lock" "$here/sqlite/nines.db-wal" "$here/sqlite/nines.db-shm"

# PostgreSQL: a fresh database, then a plain SQL dump of it.
db="nines_upgrade_fixture_$$"
psql -q "$NINES_TEST_POSTGRES" -c "CREATE DATABASE $db"
url=${NINES_TEST_POSTGRES/\/postgres\?//$db?}
mkdir -p "$work/pg"
"$work/gen" "$work/pg" "$url" "$work/pg-token.txt"
pg_dump --no-owner --no-privileges --file "$here/postgres.sql" "$url"
cp "$work/pg-token.txt" "$here/postgres-token.txt"
psql -q "$NINES_TEST_POSTGRES" -c "DROP DATABASE $db"
echo "fixture rebuilt from $REV ($(git -C "$here" rev-parse "$REV"))"
