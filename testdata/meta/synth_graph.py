"""Python port of engine/meta/internal/synth.DAG.

The Go generator and this one must produce the same graph for the same
(models, seed): gen_centrality_vectors.py writes a generated case into the
vectors file, and the Go tests check the Go generator reproduces it edge for
edge. networkx_bench.py uses it to time networkx on exactly the graph the Go
benchmarks measure.
"""

MASK = (1 << 64) - 1


class Rng:
    """splitmix64, as in synth/dag.go."""

    def __init__(self, seed):
        self.state = seed & MASK

    def next(self):
        self.state = (self.state + 0x9E3779B97F4A7C15) & MASK
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        return z ^ (z >> 31)

    def intn(self, n):
        return self.next() % n


def dag(models, seed):
    """Returns (names, kinds, edges) with edges as (parent, child) indexes."""
    r = Rng(seed)
    names, kinds, edges = [], [], []

    def add(kind, name):
        names.append(name)
        kinds.append(kind)
        return len(names) - 1

    n_sources = max(1, models // 10)
    n_staging = max(1, models * 4 // 10)
    n_inter = max(1, models * 3 // 10)
    n_marts = max(0, models - n_staging - n_inter)
    n_exposures = models // 50

    sources = [add("source", "source.synth.raw.src_%d" % i) for i in range(n_sources)]

    def link(child, pool, k, window):
        if not pool:
            return
        lo = max(0, len(pool) - window)
        seen = set()
        for _ in range(k):
            p = pool[lo + r.intn(len(pool) - lo)]
            if p not in seen:
                seen.add(p)
                edges.append((p, child))

    staging = []
    for i in range(n_staging):
        node = add("model", "model.synth.stg_%d" % i)
        at = i * n_sources // n_staging
        link(node, sources[: at + 1], 1 + r.intn(2), 8)
        staging.append(node)
    inter = []
    for i in range(n_inter):
        node = add("model", "model.synth.int_%d" % i)
        at = (i + 1) * n_staging // n_inter
        link(node, staging[:at], 2 + r.intn(3), 40)
        if len(inter) > 0 and r.intn(2) == 0:
            link(node, inter, 1 + r.intn(2), 30)
        inter.append(node)
    marts = []
    for i in range(n_marts):
        node = add("model", "model.synth.mart_%d" % i)
        at = (i + 1) * n_inter // max(1, n_marts)
        link(node, inter[: max(1, at)], 2 + r.intn(4), 60)
        if r.intn(3) == 0:
            link(node, staging, 1 + r.intn(2), len(staging))
        marts.append(node)
    for i in range(n_exposures):
        node = add("exposure", "exposure.synth.dash_%d" % i)
        link(node, marts, 1 + r.intn(4), len(marts))
    return names, kinds, edges
