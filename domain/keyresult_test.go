package domain

import (
	"math"
	"testing"
	"time"
)

func TestReadKeyResult(t *testing.T) {
	kr := KeyResult{Baseline: 10, Target: 20, Direction: Increase}
	// Thursday 12 March 2026, 15:00: the window is 5–11 March.
	at := time.Date(2026, 3, 12, 15, 0, 0, 0, time.UTC)
	if w := KRCurrentWindow(at); !w.From.Equal(utcDay("2026-03-05")) || !w.To.Equal(utcDay("2026-03-11")) {
		t.Fatalf("window %v – %v; want 5–11 March", w.From, w.To)
	}
	daily := []DailyValue{
		{Day: utcDay("2026-03-04"), Value: 100}, // before the window
		{Day: utcDay("2026-03-05"), Value: 12},
		{Day: utcDay("2026-03-08"), Value: 16},
		{Day: utcDay("2026-03-11"), Value: 17},
		{Day: utcDay("2026-03-12"), Value: 100}, // today: partial, left out
	}
	r := ReadKeyResult(kr, daily, at)
	// (12 + 16 + 17) / 3 = 15 → half way.
	if r.Days != 3 || r.Current == nil || math.Abs(*r.Current-15) > 1e-9 || math.Abs(*r.Progress-0.5) > 1e-9 {
		t.Fatalf("reading %+v", r)
	}
	// The metric fell below its baseline: progress is negative, not 0.
	r = ReadKeyResult(kr, []DailyValue{{Day: utcDay("2026-03-10"), Value: 7}}, at)
	if r.Progress == nil || math.Abs(*r.Progress+0.3) > 1e-9 {
		t.Fatalf("below baseline: %+v", r)
	}
	if r := ReadKeyResult(kr, daily[:1], at); r.Current != nil || r.Progress != nil || r.Days != 0 {
		t.Fatalf("no day in the window: %+v", r)
	}
	p := func(v float64) *float64 { return &v }
	if m, n := MeanProgress([]KRReading{{Progress: p(1.2)}, {}, {Progress: p(-0.2)}}); n != 2 || math.Abs(*m-0.5) > 1e-9 {
		t.Fatalf("mean progress %v of %d", m, n)
	}
	if m, n := MeanProgress(nil); m != nil || n != 0 {
		t.Fatal("mean of nothing")
	}
}
