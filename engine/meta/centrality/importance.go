package centrality

import (
	"math"
	"sort"
)

// Importance combines measures into one score per node of subset: the mean,
// over the measures, of the node's percentile rank among subset.
//
// For each measure the nodes of subset are ranked from lowest (rank 1) to
// highest (rank N); ties share the average of their ranks; the percentile
// is (rank-1)/(N-1), 0 for the lowest and 1 for the highest (1 when N is
// 1). The score is the mean of those percentiles: 1 means first on every
// measure. Ranks rather than values make measures of different scales and
// skews (PageRank sums to 1, betweenness is mostly 0) count equally, and
// one outlier cannot dominate. Values within 1e-12 of each other tie, so
// rounding noise between equal values never reorders nodes.
//
// measures[k][v] is measure k of node v; the result is aligned with subset.
func Importance(measures [][]float64, subset []int) []float64 {
	n := len(subset)
	score := make([]float64, n)
	if n == 0 || len(measures) == 0 {
		return score
	}
	idx := make([]int, n) // positions in subset, sorted per measure
	for _, m := range measures {
		for i := range idx {
			idx[i] = i
		}
		sort.SliceStable(idx, func(a, b int) bool { return m[subset[idx[a]]] < m[subset[idx[b]]] })
		for start := 0; start < n; {
			end := start + 1
			first := m[subset[idx[start]]]
			for end < n && nearlyEqual(m[subset[idx[end]]], first) {
				end++
			}
			// Ranks start+1..end share their average.
			pct := 1.0
			if n > 1 {
				pct = (float64(start+end+1)/2 - 1) / float64(n-1)
			}
			for _, i := range idx[start:end] {
				score[i] += pct
			}
			start = end
		}
	}
	for i := range score {
		score[i] /= float64(len(measures))
	}
	return score
}

func nearlyEqual(a, b float64) bool {
	return math.Abs(a-b) <= 1e-12*math.Max(1, math.Max(math.Abs(a), math.Abs(b)))
}
