#!/usr/bin/env bash
# Durable single-vertex writes through the HTTP API (the path users touch) at 1, 16 and 64
# clients, beside PostgreSQL 15 (pgbench, one single-row INSERT per transaction, same client
# counts) and SQLite (WAL, synchronous=FULL, one client), all in one run on the same disk,
# plus the floors a one-client write cannot beat (one 4 KiB fdatasync + one loopback TCP
# round trip). Prints a table with the ratios.
#
#   benches/run-http-vs-peers.sh [--quick]
#
# Needs PostgreSQL 15's initdb/pg_ctl/pgbench (Debian: postgresql-15) and python3. Builds
# basalt-server and http-load in release. Uses CARGO_TARGET_DIR if set (else ./target).
# Waits (at most 180 s) for an idle CPU before each phase (BENCH_NO_WAIT=1 skips it) and
# holds the same lock file as the other bench scripts. Results go to
# $CARGO_TARGET_DIR/bench-results/http-<time>/.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
export CARGO_TARGET_DIR=$TARGET
SECONDS_PER_RUN=20
RUNS=3
if [[ "${1:-}" == "--quick" ]]; then SECONDS_PER_RUN=3; RUNS=1; fi
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
OUT=$TARGET/bench-results/http-$STAMP
WORK=$TARGET/tmp/http-bench-$STAMP
mkdir -p "$OUT" "$WORK"
PG=()
PGW=
PGBIN=${PGBIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | tail -1)}
[[ -x "$PGBIN/pgbench" || -x "$(command -v pgbench)" ]] || { echo "pgbench is missing (apt-get install postgresql-15)" >&2; exit 2; }

exec 9>"${TMPDIR:-/tmp}/basalt-bench.lock"
flock 9

source "$ROOT/benches/bench-lib.sh"
cleanup() {
    [[ -n "${SERVER_PID:-}" ]] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null || true
    [[ -d "$PGW/pg" ]] && "${PG[@]}" "$PGBIN/pg_ctl" -D "$PGW/pg" -m fast stop >/dev/null 2>&1 || true
    rm -rf "$WORK"
    [[ -n "${PGW:-}" && "$PGW" != "$WORK" ]] && rm -rf "$PGW"
    true
}
trap cleanup EXIT

{
    echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD 2>/dev/null || echo ' + uncommitted changes')"
    echo "machine: $(nproc) cpu, $(uname -sr)"
} | tee "$OUT/conditions.txt"

cargo build --release -p basalt-server -p basalt-benches --bins >/dev/null 2>&1 || cargo build --release -p basalt-server -p basalt-benches --bins
SERVER=$TARGET/release/basalt-server
LOAD=$TARGET/release/http-load
PORT=$((20000 + RANDOM % 20000))
PASS=bench-password-1234

wait_idle "floors"
for r in $(seq "$RUNS"); do "$LOAD" floors --dir "$WORK"; done > "$OUT/floors.jsonl"

BASALT_ROOT_PASSWORD=$PASS "$SERVER" --home "$WORK/basalt" --node-name bench --no-demo --http-port "$PORT" \
    --cluster-port $((PORT + 1)) > "$OUT/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 120); do curl -sf "http://127.0.0.1:$PORT/ready" >/dev/null && break; sleep 0.5; done
curl -sf -u "root:$PASS" -X POST "http://127.0.0.1:$PORT/database/bench" >/dev/null
for c in 1 16 64; do
    wait_idle "basalt $c clients"
    for r in $(seq "$RUNS"); do
        "$LOAD" write --addr "127.0.0.1:$PORT" --db bench --user root --password "$PASS" --clients "$c" --seconds "$SECONDS_PER_RUN"
    done > "$OUT/basalt-$c.jsonl"
done
kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=

# PostgreSQL refuses to run as root: as root, its cluster belongs to the postgres user.
# (in a folder of its own under the temp folder, which is on the same filesystem here).
PGW=$WORK
if (( EUID == 0 )); then PG=(runuser -u postgres --); PGW=$(mktemp -d "${TMPDIR:-/tmp}/basalt-pg-XXXXXX"); chown postgres "$PGW"; fi
"${PG[@]}" "$PGBIN/initdb" -D "$PGW/pg" -A trust -U postgres >/dev/null
PGPORT=$((PORT + 2))
"${PG[@]}" "$PGBIN/pg_ctl" -D "$PGW/pg" -o "-p $PGPORT -c synchronous_commit=on -c fsync=on -c max_connections=200 -k $PGW" -l "$PGW/pg.log" -w start >/dev/null
PSQL=(psql -h 127.0.0.1 -p "$PGPORT" -U postgres -q)
"${PSQL[@]}" -c "CREATE TABLE v (id bigserial PRIMARY KEY, c int, n int, pad text)"
echo "INSERT INTO v (c, n, pad) VALUES (:client_id, 1, repeat('x', 200));" > "$WORK/insert.sql"
for c in 1 16 64; do
    wait_idle "postgresql $c clients"
    j=$(( c < 2 ? 1 : 2 ))
    for r in $(seq "$RUNS"); do
        pgbench -h 127.0.0.1 -p "$PGPORT" -U postgres -n -f "$WORK/insert.sql" -c "$c" -j "$j" -T "$SECONDS_PER_RUN" -r postgres 2>&1 \
            | awk -v c="$c" '/^tps = /{tps=$3} /latency average/{lat=$4} END{printf "{\"clients\": %d, \"ops_per_s\": %.0f, \"avg_ms\": %s}\n", c, tps, lat}'
    done > "$OUT/pg-$c.jsonl"
done
"${PG[@]}" "$PGBIN/pg_ctl" -D "$PGW/pg" -m fast stop >/dev/null
cp "$PGW/pg.log" "$OUT/pg.log" 2>/dev/null || true

wait_idle "sqlite"
python3 benches/peers/sqlite_insert.py --dir "$WORK" --runs "$RUNS" > "$OUT/sqlite.json"

python3 - "$OUT" <<'PY' | tee "$OUT/table.md"
import json, os, statistics, sys
out = sys.argv[1]
def lines(name):
    return [json.loads(l) for l in open(os.path.join(out, name)) if l.strip()]
def med(rows, key):
    return statistics.median(r[key] for r in rows)
floors = lines("floors.jsonl")
floor = med(floors, "floor_p50_us")
sqlite = json.load(open(os.path.join(out, "sqlite.json")))["ops"]["median"]
print(f"floors: fdatasync 4 KiB p50 {med(floors, 'fdatasync_4k_p50_us')} µs + loopback TCP RTT p50 {med(floors, 'tcp_rtt_p50_us')} µs = {floor} µs")
print()
print("| clients | Basalt HTTP writes/s | p50 µs | p99 µs | PostgreSQL tps | Basalt/PostgreSQL | SQLite (1 client) tx/s | Basalt/SQLite |")
print("|---|---|---|---|---|---|---|---|")
for c in (1, 16, 64):
    b, p = lines(f"basalt-{c}.jsonl"), lines(f"pg-{c}.jsonl")
    bo, po = med(b, "ops_per_s"), med(p, "ops_per_s")
    errors = sum(r["errors"] for r in b)
    note = f" ({errors} errors)" if errors else ""
    print(f"| {c} | {bo:,.0f}{note} | {med(b, 'p50_us'):.0f} | {med(b, 'p99_us'):.0f} | {po:,.0f} | {bo/po:.2f} | {sqlite:,.0f} | {bo/sqlite:.2f} |")
b1 = med(lines("basalt-1.jsonl"), "p50_us")
print()
print(f"1 client: p50 {b1:.0f} µs = {b1/floor:.2f}x the floor (target <= 1.5x)")
PY
