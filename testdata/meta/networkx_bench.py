#!/usr/bin/python3
"""Times networkx on the graphs BenchmarkCentrality measures in Go, for the
side-by-side figures in BENCHMARKS.md (section meta):

    /usr/bin/python3 testdata/meta/networkx_bench.py 3000 20000

The graph is synth.DAG(models, seed=1) (synth_graph.py is its port; the Go
tests check both generators agree). Each measure runs with networkx's
defaults; PageRank with its default tol, as a user would call it.
"""
import sys
import time
import os

import networkx as nx

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import synth_graph  # noqa: E402


def bench(models, seed=1):
    names, kinds, edges = synth_graph.dag(models, seed)
    g = nx.DiGraph()
    g.add_nodes_from(range(len(names)))
    g.add_edges_from(edges)
    print("models=%d nodes=%d edges=%d (networkx %s)" % (models, g.number_of_nodes(), g.number_of_edges(), nx.__version__))
    total = 0.0
    for name, fn in [
        ("degree", lambda: (nx.degree_centrality(g), nx.in_degree_centrality(g), nx.out_degree_centrality(g))),
        ("closeness", lambda: nx.closeness_centrality(g)),
        ("betweenness", lambda: nx.betweenness_centrality(g)),
        ("pagerank", lambda: nx.pagerank(g)),
    ]:
        start = time.perf_counter()
        fn()
        took = time.perf_counter() - start
        total += took
        print("  %-12s %9.3f s" % (name, took))
    print("  %-12s %9.3f s" % ("all", total))


if __name__ == "__main__":
    for arg in sys.argv[1:] or ["3000"]:
        bench(int(arg))
