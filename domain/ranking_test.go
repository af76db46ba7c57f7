package domain

import (
	"slices"
	"testing"
)

func TestReposition(t *testing.T) {
	keys := []string{"A-1", "A-2", "A-3", "A-4"}
	for _, tc := range []struct {
		key  string
		pos  int
		want []string
	}{
		{"A-3", 1, []string{"A-3", "A-1", "A-2", "A-4"}},
		{"A-1", 4, []string{"A-2", "A-3", "A-4", "A-1"}},
		{"A-1", 99, []string{"A-2", "A-3", "A-4", "A-1"}},
		{"A-2", 2, keys},
	} {
		got, err := Reposition(keys, tc.key, tc.pos)
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("Reposition(%s, %d) = %v %v; want %v", tc.key, tc.pos, got, err, tc.want)
		}
	}
	if _, err := Reposition(keys, "B-1", 1); ErrorCode(err) != EINVALID {
		t.Errorf("unknown key: %v", err)
	}
	if _, err := Reposition(keys, "A-1", 0); ErrorCode(err) != EINVALID {
		t.Errorf("position 0: %v", err)
	}
}

func TestRankByRICE(t *testing.T) {
	// RICE: A-1 100*1*0.5/1 = 50; A-2 none; A-3 10*2*1/1 = 20; A-4 200*1*1/2 = 100.
	ideas := []*Idea{
		{Key: "A-1", Reach: 100, Impact: 1, Confidence: 0.5, Effort: 1},
		{Key: "A-2"},
		{Key: "A-3", Reach: 10, Impact: 2, Confidence: 1, Effort: 1},
		{Key: "A-4", Reach: 200, Impact: 1, Confidence: 1, Effort: 2},
	}
	if got, want := RankByRICE(ideas), []string{"A-4", "A-1", "A-3", "A-2"}; !slices.Equal(got, want) {
		t.Errorf("RankByRICE = %v; want %v", got, want)
	}
}
