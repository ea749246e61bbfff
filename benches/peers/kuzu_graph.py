#!/usr/bin/env python3
"""Kuzu (embedded, through its Python API and Cypher) on the bench graph, as PEERS.md ran it.

Reads the Kuzu-dialect CSV files and queries.json that the Basalt benches prepare under
<target>/bench-data/<seed>/ (see benches/src/lib.rs), and measures, on one thread:

- bulk load: COPY Person FROM vertices.csv, COPY knows FROM edges.csv into a new database;
- point lookup: MATCH (p:Person {id: X}) RETURN p.name, for the 1000 sample ids;
- 1-hop: MATCH (a:Person {id: X})-[:knows]->(b:Person) RETURN count(b), same ids;
- 2-hop: MATCH (a:Person {id: X})-[:knows]->(:Person)-[:knows]->(c:Person)
  RETURN count(DISTINCT c), for the 100 two-hop sample ids;
- class scan: MATCH (p:Person) RETURN sum(p.age).

Ids are inlined in the query text: Kuzu 0.11.3 plans a prepared `$id` lookup as a full scan
(PEERS.md). Every answer is checked against queries.json. Each figure is the median over
--runs runs (a fresh database each run), with min and max; ops/s = queries / wall time of
the sequential loop, warm (one untimed pass first). Prints one JSON object.
"""

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time

import kuzu


def scalar(conn, query):
    result = conn.execute(query)
    if not result.has_next():
        raise SystemExit(f"no row for: {query}")
    return result.get_next()[0]


def timed_queries(conn, queries, check):
    """Runs the queries once untimed (warm-up, checks answers), then timed; returns ops/s
    and per-query latencies in seconds."""
    for q, want in queries:
        got = scalar(conn, q)
        if not check(got, want):
            raise SystemExit(f"wrong answer {got!r} (expected {want!r}) for: {q}")
    latencies = []
    start = time.perf_counter()
    for q, _ in queries:
        t = time.perf_counter()
        scalar(conn, q)
        latencies.append(time.perf_counter() - t)
    total = time.perf_counter() - start
    return len(queries) / total, latencies


def one_run(data, parent):
    workdir = tempfile.mkdtemp(prefix="kuzu-bench-", dir=parent)
    try:
        db = kuzu.Database(os.path.join(workdir, "graph.kuzu"))
        conn = kuzu.Connection(db)
        conn.execute("CREATE NODE TABLE Person(id INT64, name STRING, age INT64, score DOUBLE, PRIMARY KEY(id))")
        conn.execute("CREATE REL TABLE knows(FROM Person TO Person, weight INT64)")
        vertices = os.path.join(data, "kuzu", "vertices.csv")
        edges = os.path.join(data, "kuzu", "edges.csv")
        t0 = time.perf_counter()
        conn.execute(f"COPY Person FROM '{vertices}' (HEADER=true)")
        t1 = time.perf_counter()
        conn.execute(f"COPY knows FROM '{edges}' (HEADER=true)")
        t2 = time.perf_counter()
        with open(os.path.join(data, "queries.json")) as f:
            q = json.load(f)
        edge_count = scalar(conn, "MATCH ()-[k:knows]->() RETURN count(k)")
        if edge_count != q["edges"]:
            raise SystemExit(f"Kuzu loaded {edge_count} edges, expected {q['edges']}")
        out = {"load_s": t2 - t0, "load_vertices_s": t1 - t0, "load_edges_s": t2 - t1}
        eq = lambda got, want: got == want
        lookups = [(f"MATCH (p:Person {{id: {x['id']}}}) RETURN p.name", x["name"]) for x in q["lookup"]]
        one_hop = [
            (f"MATCH (a:Person {{id: {x['id']}}})-[:knows]->(b:Person) RETURN count(b)", x["count"])
            for x in q["one_hop"]
        ]
        two_hop = [
            (
                f"MATCH (a:Person {{id: {x['id']}}})-[:knows]->(:Person)-[:knows]->(c:Person) "
                "RETURN count(DISTINCT c)",
                x["count"],
            )
            for x in q["two_hop"]
        ]
        scans = [("MATCH (p:Person) RETURN sum(p.age)", q["age_sum"])] * 5
        for name, queries in [("lookup", lookups), ("one_hop", one_hop), ("two_hop", two_hop), ("class_scan", scans)]:
            ops, lat = timed_queries(conn, queries, eq)
            out[name + "_ops"] = ops
            out[name + "_median_ms"] = statistics.median(lat) * 1000
        conn.close()
        db.close()
        return out
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True, help="the bench data folder (…/bench-data/<seed>)")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--tmp", default=None, help="where to put the databases (default: the data folder)")
    args = ap.parse_args()
    runs = [one_run(args.data, args.tmp or args.data) for _ in range(args.runs)]
    summary = {"system": f"kuzu {kuzu.__version__}", "runs": args.runs}
    for key in runs[0]:
        values = [r[key] for r in runs]
        summary[key] = {"median": statistics.median(values), "min": min(values), "max": max(values)}
    summary["edges_per_s"] = {
        k: 1_000_000 / summary["load_s"][k2] for k, k2 in [("median", "median"), ("min", "max"), ("max", "min")]
    }
    json.dump(summary, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
