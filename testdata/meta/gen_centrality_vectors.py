#!/usr/bin/python3
"""Writes centrality_vectors.json: networkx's centralities on small graphs,
on the graph of every real dbt manifest fixture and on a generated project.

Run from anywhere, with Debian's networkx (apt-get install python3-networkx):

    /usr/bin/python3 testdata/meta/gen_centrality_vectors.py

The manifest graph is the one issue 7 defines: nodes are every model, seed,
snapshot, source and exposure (sorted by unique_id); edges are parent → child
for each parent_map entry whose two ends are such nodes. Measures are
networkx's defaults; PageRank uses tol=1e-12 so the vector is the fixed
point to ~1e-12 (the default tol stops up to n·1e-6 away in L1).
"""
import json
import os
import sys

import networkx as nx

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
FIXTURES = os.path.join(ROOT, "..", "shared", "fixtures", "dbt")
sys.path.insert(0, HERE)
import synth_graph  # noqa: E402

MANIFESTS = [
    "dbtcore_state__v10",
    "dbtcore_state__v11",
    "dbtcore_state__v12",
    "jaffle_shop__v10__dbt1.6.0__bigquery",
    "jaffle_shop__v11__dbt1.7.0__bigquery",
    "jaffle_shop__v12__dbt1.10.13__duckdb",
    "jaffle_shop__v12__dbt1.12.0__duckdb",
]
KINDS = {"model", "seed", "snapshot", "source", "exposure"}


def measures(nodes, edges):
    g = nx.DiGraph()
    g.add_nodes_from(range(len(nodes)))
    g.add_edges_from(edges)
    out = {
        "degree": nx.degree_centrality(g),
        "in_degree": nx.in_degree_centrality(g),
        "out_degree": nx.out_degree_centrality(g),
        "closeness": nx.closeness_centrality(g),
        "betweenness": nx.betweenness_centrality(g),
        "pagerank": nx.pagerank(g, alpha=0.85, tol=1e-12, max_iter=100000),
    }
    return {k: [v[i] for i in range(len(nodes))] for k, v in out.items()}


def case(name, nodes, edges, **extra):
    c = {"name": name, "nodes": nodes, "edges": [list(e) for e in edges]}
    c.update(extra)
    c.update(measures(nodes, edges))
    return c


def manifest_case(folder):
    with open(os.path.join(FIXTURES, folder, "manifest.json")) as f:
        m = json.load(f)
    every = {}
    for key in ("nodes", "sources", "exposures"):
        every.update(m.get(key) or {})
    ids = sorted(k for k, v in every.items() if v["resource_type"] in KINDS)
    index = {k: i for i, k in enumerate(ids)}
    edges = []
    for child in ids:
        for parent in m["parent_map"].get(child, []):
            if parent in index:
                edges.append((index[parent], index[child]))
    return case("manifest/" + folder, ids, edges, manifest=folder)


def cyclic(n, m, seed):
    r = synth_graph.Rng(seed)
    edges = set()
    while len(edges) < m:
        u, v = r.intn(n), r.intn(n)
        if u != v:
            edges.add((u, v))
    return sorted(edges)


def main():
    small = [
        ("single", 1, []),
        ("pair", 2, [(0, 1)]),
        ("path5", 5, [(0, 1), (1, 2), (2, 3), (3, 4)]),
        ("star_out", 6, [(0, i) for i in range(1, 6)]),
        ("star_in", 6, [(i, 0) for i in range(1, 6)]),
        ("diamond", 5, [(0, 1), (0, 2), (1, 3), (2, 3), (3, 4)]),
        ("disconnected", 8, [(0, 1), (2, 3), (5, 6), (6, 7)]),
        ("cycle", 4, [(0, 1), (1, 2), (2, 0), (2, 3)]),
        ("self_loop", 3, [(0, 0), (0, 1), (1, 2)]),
        ("multi_paths", 7, [(0, 1), (0, 2), (0, 3), (1, 4), (2, 4), (3, 5), (4, 6), (5, 6)]),
        ("no_edges", 4, []),
        ("cyclic_random", 60, cyclic(60, 180, 11)),
    ]
    cases = [case(name, [str(i) for i in range(n)], edges) for name, n, edges in small]
    names, kinds, edges = synth_graph.dag(150, 3)
    cases.append(case("synth/150/3", names, edges, synth={"models": 150, "seed": 3}))
    cases.extend(manifest_case(f) for f in MANIFESTS)
    doc = {
        "generator": "testdata/meta/gen_centrality_vectors.py",
        "networkx": nx.__version__,
        "python": sys.version.split()[0],
        "cases": cases,
    }
    with open(os.path.join(HERE, "centrality_vectors.json"), "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
