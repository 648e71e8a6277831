package measure

import (
	"math"
	"sort"
)

// Quantile is the nearest-rank q-quantile (0 < q <= 1) of xs; NaN when xs
// is empty. xs is not modified.
func Quantile(xs []float64, q float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	rank := int(math.Ceil(q*float64(len(s)))) - 1
	return s[min(max(rank, 0), len(s)-1)]
}

// Median is the nearest-rank median of xs.
func Median(xs []float64) float64 { return Quantile(xs, 0.5) }

// Max is the largest of xs; NaN when xs is empty.
func Max(xs []float64) float64 { return Quantile(xs, 1) }

// Min is the smallest of xs; NaN when xs is empty.
func Min(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	m := xs[0]
	for _, x := range xs[1:] {
		m = math.Min(m, x)
	}
	return m
}
