package domain

import (
	"math"
	"sort"
)

// Median returns the median of xs (the mean of the two middle values for an
// even count), or nil for an empty set. xs is reordered.
func Median(xs []float64) *float64 {
	n := len(xs)
	if n == 0 {
		return nil
	}
	hi := selectKth(xs, n/2)
	if n%2 == 1 {
		return &hi
	}
	// The largest of the lower half is the other middle value; after
	// selectKth every element below index n/2 is <= hi.
	lo := xs[0]
	for _, x := range xs[1 : n/2] {
		lo = math.Max(lo, x)
	}
	m := (lo + hi) / 2
	return &m
}

// P90 returns the nearest-rank 90th percentile: the ⌈0.9·n⌉-th smallest
// value, or nil for an empty set. xs is reordered.
func P90(xs []float64) *float64 {
	n := len(xs)
	if n == 0 {
		return nil
	}
	rank := (9*n + 9) / 10 // ⌈0.9·n⌉ in integers
	v := selectKth(xs, rank-1)
	return &v
}

// Percentile returns the nearest-rank p-th percentile (0 < p ≤ 100).
func Percentile(xs []float64, p float64) *float64 {
	n := len(xs)
	if n == 0 {
		return nil
	}
	rank := int(math.Ceil(p / 100 * float64(n)))
	rank = min(max(rank, 1), n)
	v := selectKth(xs, rank-1)
	return &v
}

// selectKth puts the k-th smallest element (0-based) at xs[k], everything
// smaller or equal before it, and returns it. Average linear time.
func selectKth(xs []float64, k int) float64 {
	lo, hi := 0, len(xs)-1
	for hi-lo > 16 {
		// Median of three as pivot keeps sorted input linear.
		mid := lo + (hi-lo)/2
		if xs[mid] < xs[lo] {
			xs[mid], xs[lo] = xs[lo], xs[mid]
		}
		if xs[hi] < xs[lo] {
			xs[hi], xs[lo] = xs[lo], xs[hi]
		}
		if xs[hi] < xs[mid] {
			xs[hi], xs[mid] = xs[mid], xs[hi]
		}
		pivot := xs[mid]
		i, j := lo, hi
		for i <= j {
			for xs[i] < pivot {
				i++
			}
			for xs[j] > pivot {
				j--
			}
			if i <= j {
				xs[i], xs[j] = xs[j], xs[i]
				i++
				j--
			}
		}
		switch {
		case k <= j:
			hi = j
		case k >= i:
			lo = i
		default:
			return xs[k]
		}
	}
	sub := xs[lo : hi+1]
	sort.Float64s(sub)
	return xs[k]
}

// Runs is a set of values held as sorted runs, such as the facts of the
// weeks of a window: its order statistics are found without merging them.
type Runs [][]float64

// Len is the number of values.
func (r Runs) Len() int {
	n := 0
	for _, run := range r {
		n += len(run)
	}
	return n
}

// orderKey maps a float64 to a uint64 with the same order.
func orderKey(f float64) uint64 {
	b := math.Float64bits(f)
	if b>>63 == 1 {
		return ^b
	}
	return b | 1<<63
}

// Kth returns the k-th smallest value (0-based) exactly: a binary search
// over the values' order keys, counting in each run by binary search.
func (r Runs) Kth(k int) float64 {
	var lo, hi uint64 = 0, math.MaxUint64
	for lo < hi {
		mid := lo + (hi-lo)/2
		count := 0
		for _, run := range r {
			count += sort.Search(len(run), func(i int) bool { return orderKey(run[i]) > mid })
		}
		if count > k {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	// lo is the key of the answer; find the value that has it.
	for _, run := range r {
		i := sort.Search(len(run), func(i int) bool { return orderKey(run[i]) >= lo })
		if i < len(run) && orderKey(run[i]) == lo {
			return run[i]
		}
	}
	return math.NaN() // unreachable for 0 ≤ k < Len
}

// Median is the median of the runs (the mean of the two middle values of an
// even count); nil when empty.
func (r Runs) Median() *float64 {
	n := r.Len()
	if n == 0 {
		return nil
	}
	hi := r.Kth(n / 2)
	if n%2 == 1 {
		return &hi
	}
	m := (r.Kth(n/2-1) + hi) / 2
	return &m
}

// P90 is the nearest-rank 90th percentile of the runs; nil when empty.
func (r Runs) P90() *float64 {
	n := r.Len()
	if n == 0 {
		return nil
	}
	v := r.Kth((9*n+9)/10 - 1)
	return &v
}
