#!/usr/bin/env bash
# Snapshot create and restore throughput (MB/s of raw database bytes) on a database of at least
# 1 GiB, beside the zstd CLI's own speed on the same bytes (a tar of the database's files,
# without its WAL) in the same run: `zstd -1 -T1` (the level and the single thread the
# snapshot writer uses) compressing to a file, then decompressing to a file, each followed by
# a sync, as basalt-snapshot syncs what it writes. Prints a table with the ratios.
#
#   benches/run-snapshot-vs-zstd.sh [MIB]      (default 1100 MiB of database files)
#
# Needs the zstd CLI (apt-get install -y zstd) and python3. Builds basalt-snapshot and the
# make_snapshot_db example in release. Uses CARGO_TARGET_DIR if set (else ./target). Waits
# (at most 180 s) for an idle CPU before each phase (BENCH_NO_WAIT=1 skips it) and holds the
# same lock file as the other bench scripts. Results go to
# $CARGO_TARGET_DIR/bench-results/snapshot-<time>/. Not part of any default run.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
export CARGO_TARGET_DIR=$TARGET
MIB=${1:-1100}
RUNS=3
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
OUT=$TARGET/bench-results/snapshot-$STAMP
WORK=$TARGET/tmp/snapshot-bench-$STAMP
mkdir -p "$OUT" "$WORK"
command -v zstd >/dev/null || { echo "the zstd CLI is missing (apt-get install -y zstd)" >&2; exit 2; }

exec 9>"${TMPDIR:-/tmp}/basalt-bench.lock"
flock 9

source "$ROOT/benches/bench-lib.sh"
cleanup() { rm -rf "$WORK"; }
trap cleanup EXIT

{
    echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD 2>/dev/null || echo ' + uncommitted changes')"
    echo "machine: $(nproc) cpu, $(uname -sr); $(zstd --version)"
} | tee "$OUT/conditions.txt"

cargo build --release -p basalt-tools --bin basalt-snapshot -p basalt-benches --example make_snapshot_db >/dev/null 2>&1 ||
    cargo build --release -p basalt-tools --bin basalt-snapshot -p basalt-benches --example make_snapshot_db
SNAP=$TARGET/release/basalt-snapshot
MAKE=$TARGET/release/examples/make_snapshot_db
HOME_DIR=$WORK/home
DB_DIR=$HOME_DIR/databases/big

echo "making a database of at least $MIB MiB..."
"$MAKE" "$DB_DIR" "$MIB" | tee "$OUT/database.json"
# The same bytes for zstd: the database's files as one tar (no WAL, as the snapshot holds).
tar -cf "$WORK/db.tar" -C "$DB_DIR" --exclude=./wal .
sync -f "$WORK/db.tar"

now() { date +%s.%N; }
for r in $(seq "$RUNS"); do
    wait_idle "create run $r"
    rm -f "$WORK/big.snap"
    "$SNAP" create --quiet --json --home "$HOME_DIR" --db big "$WORK/big.snap" > "$OUT/create-$r.json"
    wait_idle "restore run $r"
    rm -rf "$WORK/restore"; mkdir -p "$WORK/restore"
    "$SNAP" restore --quiet --json "$WORK/big.snap" --home "$WORK/restore" > "$OUT/restore-$r.json"
    wait_idle "zstd run $r"
    rm -f "$WORK/db.tar.zst" "$WORK/db.out.tar"
    t0=$(now); zstd -q -1 -T1 "$WORK/db.tar" -o "$WORK/db.tar.zst"; sync -f "$WORK/db.tar.zst"; t1=$(now)
    zstd -q -d -T1 "$WORK/db.tar.zst" -o "$WORK/db.out.tar"; sync -f "$WORK/db.out.tar"; t2=$(now)
    echo "{\"raw\": $(stat -c %s "$WORK/db.tar"), \"compressed\": $(stat -c %s "$WORK/db.tar.zst"), \"compress_s\": $(awk "BEGIN{print $t1 - $t0}"), \"decompress_s\": $(awk "BEGIN{print $t2 - $t1}")}" > "$OUT/zstd-$r.json"
done

python3 - "$OUT" "$RUNS" <<'EOF' | tee "$OUT/summary.txt"
import json, statistics, sys
out, runs = sys.argv[1], int(sys.argv[2])
load = lambda name: [json.load(open(f"{out}/{name}-{r}.json")) for r in range(1, runs + 1)]
create, restore, z = load("create"), load("restore"), load("zstd")
mb = 1e6
def fig(xs):
    return statistics.median(xs), min(xs), max(xs)
c = fig([x["rawBytes"] / x["seconds"] / mb for x in create])
r = fig([x["rawBytes"] / x["seconds"] / mb for x in restore])
zc = fig([x["raw"] / x["compress_s"] / mb for x in z])
zd = fig([x["raw"] / x["decompress_s"] / mb for x in z])
raw = create[0]["rawBytes"]
ratio_b = raw / create[0]["compressedBytes"]
ratio_z = z[0]["raw"] / z[0]["compressed"]
row = lambda name, f, note: print(f"| {name} | {f[0]:,.0f} [{f[1]:,.0f}-{f[2]:,.0f}] | {note} |")
print(f"database: {raw / 2**20:,.0f} MiB raw; medians over {runs} runs, [min-max]")
print("| operation | MB/s of raw bytes | notes |")
print("|---|---|---|")
row("basalt-snapshot create (read, zstd -1, checksum, write, fsync)", c, f"compression ratio {ratio_b:.2f}")
row("zstd -1 -T1 on the same bytes (tar), to a file, + sync", zc, f"compression ratio {ratio_z:.2f}")
row("basalt-snapshot restore (verify, decompress, install, open, digest)", r, "")
row("zstd -d -T1 to a file, + sync", zd, "")
print(f"create / zstd compress: {c[0] / zc[0]:.2f}; restore / zstd decompress: {r[0] / zd[0]:.2f}")
EOF
echo "results in $OUT"
