#!/usr/bin/env python3
"""SQLite (Python's sqlite3 module) doing what `engine_write/insert_vertex/1` does: one
durable single-row insert per transaction from one client, as PEERS.md ran it.

journal_mode=WAL, synchronous=FULL (every COMMIT fsyncs the WAL). Each row is a person like
the Basalt bench's vertex: name TEXT, age INTEGER, score REAL, with an INTEGER PRIMARY KEY.
The database lives in a new temporary folder under --dir (put it on the disk Basalt's bench
uses). Each run inserts --rows rows into a fresh database; ops/s = rows / wall time of the
loop; latencies are per transaction (BEGIN, INSERT, COMMIT). Prints one JSON object with the
median over --runs runs and min/max.
"""

import argparse
import json
import os
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time


def one_run(parent, rows):
    workdir = tempfile.mkdtemp(prefix="sqlite-insert-", dir=parent)
    try:
        conn = sqlite3.connect(os.path.join(workdir, "bench.db"), isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("CREATE TABLE person (id INTEGER PRIMARY KEY, name TEXT, age INTEGER, score REAL)")
        latencies = []
        start = time.perf_counter()
        for i in range(rows):
            t = time.perf_counter()
            conn.execute("BEGIN")
            conn.execute("INSERT INTO person (name, age, score) VALUES (?, ?, ?)", (f"writer0-{i}", 18 + i % 73, i * 0.5))
            conn.execute("COMMIT")
            latencies.append(time.perf_counter() - t)
        total = time.perf_counter() - start
        (count,) = conn.execute("SELECT count(*) FROM person").fetchone()
        if count != rows:
            raise SystemExit(f"SQLite holds {count} rows, expected {rows}")
        conn.close()
        latencies.sort()
        return {
            "ops": rows / total,
            "median_ms": statistics.median(latencies) * 1000,
            "p99_ms": latencies[int(len(latencies) * 0.99)] * 1000,
        }
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dir", default=tempfile.gettempdir(), help="parent folder of the database")
    ap.add_argument("--rows", type=int, default=20000)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    os.makedirs(args.dir, exist_ok=True)
    runs = [one_run(args.dir, args.rows) for _ in range(args.runs)]
    summary = {"system": f"sqlite {sqlite3.sqlite_version} (python sqlite3)", "runs": args.runs, "rows": args.rows}
    for key in runs[0]:
        values = [r[key] for r in runs]
        summary[key] = {"median": statistics.median(values), "min": min(values), "max": max(values)}
    json.dump(summary, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
