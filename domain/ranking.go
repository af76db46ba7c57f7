package domain

import (
	"slices"
	"sort"
)

// Reposition moves key to the 1-based position pos of the order keys
// (clamped to the list), keeping the others' order. The key must be in the
// list.
func Reposition(keys []string, key string, pos int) ([]string, error) {
	i := slices.Index(keys, key)
	if i < 0 {
		return nil, Errorf(EINVALID, "%s is not in that horizon.", key)
	}
	if pos < 1 {
		return nil, Errorf(EINVALID, "A position counts from 1.")
	}
	out := slices.Delete(slices.Clone(keys), i, i+1)
	pos = min(pos, len(out)+1)
	return slices.Insert(out, pos-1, key), nil
}

// RankByRICE orders ideas by RICE score, highest first; ideas without a
// score keep their order after those with one.
func RankByRICE(ideas []*Idea) []string {
	sorted := slices.Clone(ideas)
	sort.SliceStable(sorted, func(a, b int) bool {
		ra, rb := sorted[a].RICE(), sorted[b].RICE()
		switch {
		case ra == nil:
			return false
		case rb == nil:
			return true
		}
		return *ra > *rb
	})
	out := make([]string, len(sorted))
	for i, idea := range sorted {
		out[i] = idea.Key
	}
	return out
}
