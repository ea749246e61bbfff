#!/usr/bin/env python3
"""Independently computed answers about the Grateful Dead graph (graph-example-2.xml).

Reads the GraphML file with Python's standard library only (xml.etree) and writes
expected.json: facts that SQL tests compare with, each with the OrientDB SQL query it answers.
This script shares no code with Basalt, so an agreement between the two means something.

Usage (from anywhere):
    python3 tests/data/grateful-dead/expected.py [GRAPHML] [--output JSON]

Defaults, relative to the repository root (found from this script's location):
    GRAPHML = data/grateful-dead/graph-example-2.xml
    JSON    = tests/data/grateful-dead/expected.json

Model (what OrientDB 2.x's `import database graph-example-2.xml` builds, see
data/grateful-dead/README.md):
- Every vertex is in class V. Vertices are created in order of first appearance in the file:
  a <node> (at its end tag), or an edge endpoint (source, then target, at the edge's start
  tag), whichever comes first. V's cluster is 9, so the n-th vertex created (0-based) is #9:n.
- Each edge label (the `label` attribute) is an edge class extending E. Edges are directed
  source -> target; `out('followed_by')` from a song yields the targets of its followed_by
  edges, one per edge (parallel edges repeat the target).
- Properties are converted with the <key attr.type>: performances and weight are ints.

Every fact is an object {"sql": ..., "value": ...} and optionally "how" (how the value was
computed here, or what a test must keep in mind). Lists are in the order the SQL's ORDER BY
gives; rows of GROUP BY queries are sorted with the null group first and should be compared
as sets. The JSON is written with sorted keys and a fixed indent, so reruns are byte-identical.
"""

import argparse
import collections
import hashlib
import json
import os
import sys
import xml.etree.ElementTree as ET

GRAPHML_NS = "{http://graphml.graphdrawing.org/xmlns}"
VERTEX_CLUSTER = 9
SONGS = ["DARK STAR", "PLAYING IN THE BAND", "TRUCKING", "CHINA CAT SUNFLOWER", "ME AND MY UNCLE"]
RID_NAMES = [
    "HEY BO DIDDLEY",
    "IM A MAN",
    "NOT FADE AWAY",
    "BERTHA",
    "DARK STAR",
    "PLAYING IN THE BAND",
    "Garcia",
    "Weir",
    "Hunter",
    "Bob_Dylan",
]
RID_POSITIONS = [0, 1, 2, 3, 7, 8, 100, 808]
# (writer, singer) pairs for the MATCH facts: real artist names from the data.
WRITER_SINGER = [("Barlow", "Weir"), ("Hunter", "Weir"), ("Bob_Dylan", "Garcia")]
CONVERTERS = {"string": str, "int": int, "long": int, "float": float, "double": float,
              "boolean": lambda text: text.strip().lower() == "true"}


def local(tag):
    """Tag name without the GraphML namespace."""
    return tag[len(GRAPHML_NS):] if tag.startswith(GRAPHML_NS) else tag


class Graph:
    """The graph as OrientDB would hold it after the import."""

    def __init__(self, path):
        root = ET.parse(path).getroot()
        assert local(root.tag) == "graphml", root.tag
        keys = {}
        for key in root.iter(GRAPHML_NS + "key"):
            keys[key.get("id")] = (key.get("attr.name"), CONVERTERS[key.get("attr.type", "string")])
        self.order = []          # vertex file ids in creation order
        self.props = {}          # file id -> {name: value}
        self.edges = []          # (edge id, label, source, target, {name: value})
        graphs = [child for child in root if local(child.tag) == "graph"]
        assert len(graphs) == 1
        for element in graphs[0]:
            kind = local(element.tag)
            data = {}
            for item in element:
                assert local(item.tag) == "data", item.tag
                name, convert = keys[item.get("key")]
                data[name] = convert(item.text or "")
            if kind == "edge":
                source, target = element.get("source"), element.get("target")
                self.create(source)
                self.create(target)
                self.edges.append((element.get("id"), element.get("label"), source, target, data))
            else:
                assert kind == "node", kind
                self.create(element.get("id"))
                assert not self.props[element.get("id")], "a node appears twice"
                self.props[element.get("id")].update(data)
        self.rid = {vid: "#%d:%d" % (VERTEX_CLUSTER, n) for n, vid in enumerate(self.order)}
        self.by_name = {}
        for vid in self.order:
            name = self.props[vid].get("name")
            if name is not None:
                assert name not in self.by_name, "names must be unique for name-based facts"
                self.by_name[name] = vid
        self.out = collections.defaultdict(list)    # (label, vid) -> [target, ...] in file order
        self.inn = collections.defaultdict(list)    # (label, vid) -> [source, ...]
        for _, label, source, target, _ in self.edges:
            self.out[(label, source)].append(target)
            self.inn[(label, target)].append(source)

    def create(self, vid):
        if vid not in self.props:
            self.order.append(vid)
            self.props[vid] = {}

    def name(self, vid):
        return self.props[vid].get("name")

    def vertices(self, vtype):
        return [vid for vid in self.order if self.props[vid].get("type") == vtype]


def fact(sql, value, how=None):
    entry = {"sql": sql, "value": value}
    if how:
        entry["how"] = how
    return entry


def quote(text):
    return "'" + text.replace("'", "\\'") + "'"


def counts(g):
    labels = sorted({label for _, label, _, _, _ in g.edges})
    by_type = collections.Counter(g.props[vid].get("type") for vid in g.order)
    rows = [{"type": t, "count": by_type[t]} for t in sorted(by_type, key=lambda t: (t is not None, t or ""))]
    return {
        "vertex_count": fact("SELECT count(*) FROM V", len(g.order)),
        "edge_count": fact("SELECT count(*) FROM E", len(g.edges)),
        "edge_count_by_label": {
            label: fact("SELECT count(*) FROM %s" % label, sum(1 for e in g.edges if e[1] == label))
            for label in labels
        },
        "vertex_count_by_type": fact(
            "SELECT type, count(*) AS count FROM V GROUP BY type", rows,
            "one row per distinct type; the null row is vertex #9:0, which has no properties"),
        "song_count": fact("SELECT count(*) FROM V WHERE type = 'song'", by_type["song"]),
        "artist_count": fact("SELECT count(*) FROM V WHERE type = 'artist'", by_type["artist"]),
        "vertices_without_name": fact(
            "SELECT count(*) FROM V WHERE name IS NULL", sum(1 for v in g.order if g.name(v) is None)),
        "vertices_without_properties": fact(
            "SELECT @rid FROM V WHERE name IS NULL AND type IS NULL",
            [g.rid[v] for v in g.order if not g.props[v]]),
        "edges_with_weight": fact(
            "SELECT count(*) FROM E WHERE weight IS NOT NULL", sum(1 for e in g.edges if "weight" in e[4]),
            "only followed_by edges carry weight"),
        "followed_by_weight_sum": fact(
            "SELECT sum(weight) FROM followed_by", sum(e[4]["weight"] for e in g.edges if e[1] == "followed_by")),
        "parallel_edges": fact(
            "SELECT count(*) FROM (SELECT out.@rid AS s, in.@rid AS t, @class AS c, count(*) AS n FROM E "
            "GROUP BY out, in, @class) WHERE n > 1",
            sum(1 for n in collections.Counter((e[1], e[2], e[3]) for e in g.edges).values() if n > 1),
            "number of (source, target, label) triples that occur more than once"),
    }


def rids(g):
    return {
        "rule": "vertices in order of first appearance (node, or edge source then target); n-th is #9:n",
        "rid_by_name": {
            name: fact("SELECT @rid FROM V WHERE name = %s" % quote(name), g.rid[g.by_name[name]])
            for name in RID_NAMES
        },
        "name_by_rid": {
            "#9:%d" % n: fact("SELECT name FROM #9:%d" % n, g.name(g.order[n])) for n in RID_POSITIONS
        },
        "last_rid": fact("SELECT @rid FROM V ORDER BY @rid DESC LIMIT 1", g.rid[g.order[-1]]),
    }


def within_two_hops(g, start):
    """Vertices at distance 1 or 2 over followed_by, excluding the start (breadth-first)."""
    first = set(g.out[("followed_by", start)])
    second = {t for v in first for t in g.out[("followed_by", v)]}
    return (first | second) - {start}


def within_depth(g, start, max_depth):
    """Vertices at distance 1 to max_depth over followed_by, excluding the start."""
    seen = {start}
    frontier = [start]
    for _ in range(max_depth):
        frontier = [t for v in frontier for t in g.out[("followed_by", v)] if t not in seen]
        seen.update(frontier)
    return seen - {start}


def depth_first_traverse(g, start, max_depth=None, while_max_depth=None):
    """OrientDB's default TRAVERSE (DEPTH_FIRST), as its executor does it
    (core/src/main/java/com/orientechnologies/orient/core/sql/executor/DepthFirstTraverseStep.java):
    a list of entry points whose head is expanded next; the records an expanded record leads
    to are put at the head one by one (so the last found is expanded first), and each is
    marked traversed when it is discovered, not when it is expanded. MAXDEPTH stops expansion
    (`max_depth`); a WHILE condition (`$depth <= while_max_depth`) is tested where a record is
    discovered, and a record failing it is marked traversed all the same, so it is never
    reached again by another path. Returns the vertices returned, start excluded."""
    returned = set()
    seen = {start}
    entry = [(start, 0)]
    while entry:
        vid, depth = entry.pop(0)
        returned.add(vid)
        if max_depth is None or depth < max_depth:
            for target in g.out[("followed_by", vid)]:
                if target not in seen:
                    seen.add(target)
                    if while_max_depth is None or depth + 1 <= while_max_depth:
                        entry.insert(0, (target, depth + 1))
    return returned - {start}


def song_facts(g, name):
    vid = g.by_name[name]
    where = "FROM V WHERE name = %s" % quote(name)
    outs = g.out[("followed_by", vid)]
    two_hop = [t for v in outs for t in g.out[("followed_by", v)]]
    within = within_two_hops(g, vid)
    how_traverse = "distinct vertices at distance 1 or 2, start excluded (breadth-first order makes depth exact)"
    depth_first = depth_first_traverse(g, vid, 2)
    how_depth_first = ("OrientDB's DepthFirstTraverseStep marks a record traversed when it is discovered, so "
                       "MAXDEPTH 2 reaches every vertex within two hops, as breadth first does")
    return {
        "rid": fact("SELECT @rid " + where, g.rid[vid]),
        "performances": fact("SELECT performances " + where, g.props[vid].get("performances")),
        "song_type": fact("SELECT song_type " + where, g.props[vid].get("song_type")),
        "followed_by_out_degree": fact("SELECT out('followed_by').size() " + where, len(outs),
                                       "edges counted, parallel edges included"),
        "followed_by_in_degree": fact("SELECT in('followed_by').size() " + where,
                                      len(g.inn[("followed_by", vid)]), "edges counted, parallel edges included"),
        "followed_by_out_names": fact(
            "SELECT DISTINCT name FROM (SELECT expand(out('followed_by')) %s) ORDER BY name" % where,
            sorted({g.name(t) for t in outs})),
        "followed_by_out_weight_sum": fact(
            "SELECT sum(weight) FROM followed_by WHERE out.name = %s" % quote(name),
            sum(e[4]["weight"] for e in g.edges if e[1] == "followed_by" and e[2] == vid)),
        "two_hop_paths": fact("SELECT out('followed_by').out('followed_by').size() " + where, len(two_hop),
                              "one entry per 2-edge path; may include the start"),
        "two_hop_distinct": fact("SELECT out('followed_by').out('followed_by').asSet().size() " + where,
                                 len(set(two_hop)), "distinct vertices exactly 2 hops away; may include the start"),
        "traverse_depth_2_without_start": fact(
            "SELECT count(*) FROM (TRAVERSE out('followed_by') FROM (SELECT %s) MAXDEPTH 2 "
            "STRATEGY BREADTH_FIRST) WHERE $depth > 0" % where,
            len(within), how_traverse),
        "traverse_depth_2_depth_first_without_start": fact(
            "SELECT count(*) FROM (TRAVERSE out('followed_by') FROM (SELECT %s) MAXDEPTH 2) "
            "WHERE $depth > 0" % where,
            len(depth_first), how_depth_first),
        "traverse_while_depth_2_without_start": fact(
            "SELECT count(*) FROM (TRAVERSE out('followed_by') FROM (SELECT %s) WHILE $depth <= 2) "
            "WHERE $depth > 0" % where,
            len(depth_first_traverse(g, vid, while_max_depth=2)),
            "WHILE is tested where a record is discovered, with its $depth, and a record failing it is "
            "marked traversed all the same (DepthFirstTraverseStep.tryAddEntryPoint): the vertices two hops "
            "away that were first discovered at depth 3, under a sibling expanded before, are lost, so "
            "this is fewer than with MAXDEPTH 2 (edges followed in file order)"),
        "traverse_depth_3_depth_first_without_start": fact(
            "SELECT count(*) FROM (TRAVERSE out('followed_by') FROM (SELECT %s) MAXDEPTH 3) "
            "WHERE $depth > 0" % where,
            len(depth_first_traverse(g, vid, 3)),
            "depth first, edges followed in file order (the order of the vertex's out_followed_by bag): "
            "a vertex two hops away can be discovered first at depth 3, under a sibling expanded before, "
            "and is then not expanded, so this is fewer than breadth first's %d" % len(within_depth(g, vid, 3))),
    }


def ranking(g):
    songs = [v for v in g.vertices("song") if "performances" in g.props[v]]
    top = sorted(songs, key=lambda v: (-g.props[v]["performances"], g.name(v)))[:10]
    artists = g.vertices("artist")

    def by_in(label):
        sizes = {v: len(g.inn[(label, v)]) for v in artists}
        best = sorted(artists, key=lambda v: (-sizes[v], g.name(v)))[:5]
        return [{"name": g.name(v), "songs": sizes[v], "distinct_songs": len(set(g.inn[(label, v)]))}
                for v in best]

    return {
        "top10_songs_by_performances": fact(
            "SELECT name, performances FROM V WHERE type = 'song' AND performances IS NOT NULL "
            "ORDER BY performances DESC, name ASC LIMIT 10",
            [{"name": g.name(v), "performances": g.props[v]["performances"]} for v in top]),
        "top5_artists_by_songs_sung": fact(
            "SELECT name, in('sung_by').size() AS songs FROM V WHERE type = 'artist' "
            "ORDER BY songs DESC, name ASC LIMIT 5",
            by_in("sung_by"), "songs counts edges (parallel edges twice); distinct_songs counts vertices"),
        "top5_artists_by_songs_written": fact(
            "SELECT name, in('written_by').size() AS songs FROM V WHERE type = 'artist' "
            "ORDER BY songs DESC, name ASC LIMIT 5",
            by_in("written_by"), "songs counts edges (parallel edges twice); distinct_songs counts vertices"),
    }


def matches(g):
    result = {}
    for writer, singer in WRITER_SINGER:
        names = sorted(
            g.name(v) for v in g.vertices("song")
            if writer in {g.name(t) for t in g.out[("written_by", v)]}
            and singer in {g.name(t) for t in g.out[("sung_by", v)]})
        sql = ("MATCH {class: V, as: s, where: (type = 'song')}-written_by->{where: (name = %s)}, "
               "{as: s}-sung_by->{where: (name = %s)} RETURN DISTINCT s.name AS name ORDER BY name"
               % (quote(writer), quote(singer)))
        entry = fact(sql, names, "names of songs with a written_by edge to the writer and a sung_by edge to the singer")
        entry["select_sql"] = ("SELECT name FROM V WHERE type = 'song' AND out('written_by').name CONTAINS %s "
                               "AND out('sung_by').name CONTAINS %s ORDER BY name" % (quote(writer), quote(singer)))
        result["written_by_%s_sung_by_%s" % (writer, singer)] = entry
    return result


def performance_stats(g):
    songs = g.vertices("song")
    values = [g.props[v]["performances"] for v in songs if "performances" in g.props[v]]
    types = collections.Counter(g.props[v].get("song_type") for v in songs)
    rows = [{"song_type": t, "count": types[t]} for t in sorted(types, key=lambda t: (t is not None, t or ""))]
    heaviest = max(e[4]["weight"] for e in g.edges if e[1] == "followed_by")
    heavy = [e for e in g.edges if e[1] == "followed_by" and e[4]["weight"] == heaviest]
    assert len(heavy) == 1, "the heaviest followed_by edge must be unique"
    return {
        "songs_with_performances_over_100": fact(
            "SELECT count(*) FROM V WHERE performances > 100", sum(1 for p in values if p > 100)),
        "songs_with_performances": fact(
            "SELECT count(*) FROM V WHERE type = 'song' AND performances IS NOT NULL", len(values)),
        "songs_without_performances": fact(
            "SELECT count(*) FROM V WHERE type = 'song' AND performances IS NULL", len(songs) - len(values)),
        "performances_sum": fact("SELECT sum(performances) FROM V WHERE type = 'song'", sum(values)),
        "performances_min": fact("SELECT min(performances) FROM V WHERE type = 'song'", min(values)),
        "performances_max": fact("SELECT max(performances) FROM V WHERE type = 'song'", max(values)),
        "performances_avg": fact(
            "SELECT avg(performances) FROM V WHERE type = 'song'", sum(values) / len(values),
            "exact mean over the songs that have performances (nulls ignored) = sum / count; "
            "an implementation averaging ints in integer arithmetic gives %d" % (sum(values) // len(values))),
        "songs_by_song_type": fact(
            "SELECT song_type, count(*) AS count FROM V WHERE type = 'song' GROUP BY song_type", rows),
        "songs_without_song_type": fact(
            "SELECT count(*) FROM V WHERE type = 'song' AND song_type IS NULL", types[None]),
        "heaviest_followed_by": fact(
            "SELECT out.name AS source, in.name AS target, weight FROM followed_by ORDER BY weight DESC LIMIT 1",
            {"source": g.name(heavy[0][2]), "target": g.name(heavy[0][3]), "weight": heaviest}),
    }


def names(g):
    songs = [g.name(v) for v in g.vertices("song")]
    # All song names are upper case, so LIKE's case sensitivity cannot change these answers.
    assert all(n == n.upper() for n in songs)
    return {
        "songs_like_S_count": fact(
            "SELECT count(*) FROM V WHERE type = 'song' AND name LIKE 'S%'", sum(1 for n in songs if n.startswith("S"))),
        "songs_containing_STAR": fact(
            "SELECT name FROM V WHERE type = 'song' AND name LIKE '%STAR%' ORDER BY name",
            sorted(n for n in songs if "STAR" in n)),
    }


def main():
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("graphml", nargs="?", default=os.path.join(root, "data/grateful-dead/graph-example-2.xml"))
    parser.add_argument("--output", default=os.path.join(root, "tests/data/grateful-dead/expected.json"))
    args = parser.parse_args()
    with open(args.graphml, "rb") as f:
        raw = f.read()
    g = Graph(args.graphml)
    expected = {
        "source": {"file": os.path.basename(args.graphml), "bytes": len(raw),
                   "sha256": hashlib.sha256(raw).hexdigest()},
        "counts": counts(g),
        "rids": rids(g),
        "songs": {name: song_facts(g, name) for name in SONGS},
        "rankings": ranking(g),
        "matches": matches(g),
        "performances": performance_stats(g),
        "names": names(g),
    }
    text = json.dumps(expected, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    with open(args.output, "w", encoding="utf-8") as f:
        f.write(text)
    print("wrote %s (%d vertices, %d edges)" % (args.output, len(g.order), len(g.edges)), file=sys.stderr)


if __name__ == "__main__":
    main()
