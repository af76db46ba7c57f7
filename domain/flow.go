package domain

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"time"
)

// FlowReport is a value stream's flow over a window (DESIGN.md 4, Flow): per
// stage what is in it, how long work stays and what arrives and leaves; the
// flow metrics of the items finished; the constraint; and the series behind
// the charts. Durations are in seconds.
type FlowReport struct {
	Window Window
	// AsOf is the moment "now" means: the end of the window, or the present
	// when the window reaches today.
	AsOf   time.Time
	Stages []StageFlow

	Done         int // items finished in the window (flow velocity)
	FlowTime     DurationStats
	Load         *float64 // time-averaged WIP over the window
	WIP          int      // items in progress at AsOf
	Efficiency   *float64 // Σ active time / Σ flow time of the items finished
	Activity     *float64 // Σ median time of active stages / Σ median time of all stages
	Distribution map[FlowType]int
	WIPByType    map[FlowType]int
	LittlesLaw   LittlesLaw
	// Constraint is the stage named the constraint, nil when none stands
	// out; NoConstraint then says why, in words with the numbers.
	Constraint     *Constraint
	NoConstraint   string
	ConstraintRule ConstraintRule

	Weeks    []FlowWeek
	CFD      CumulativeFlow
	Aging    Aging
	Forecast Forecast
}

// DurationStats summarise a set of durations in seconds.
type DurationStats struct {
	Items  int
	Median *float64
	P85    *float64
	Mean   *float64
}

func durationStats(xs []float64) DurationStats {
	d := DurationStats{Items: len(xs)}
	if len(xs) == 0 {
		return d
	}
	var sum float64
	for _, x := range xs {
		sum += x
	}
	m := sum / float64(len(xs))
	d.Mean = &m
	d.P85 = Percentile(xs, 85)
	d.Median = Median(xs)
	return d
}

// StageFlow is one stage over the window.
type StageFlow struct {
	Name      string
	Kind      StageKind
	FixedTime bool // waits by design: never the constraint
	WIPLimit  int
	WIP       int // items in the stage at AsOf
	OverLimit bool
	// Arrivals entered the stage in the window, Departures left it, Skipped
	// went past it in the window without a sign of it.
	Arrivals, Departures, Skipped int
	// TimeInStage is over the items that left the stage in the window; a
	// fixed-time stage's timed delay counts in it (see stageTimes).
	TimeInStage DurationStats
	// OldestAge is the longest an item at AsOf has been in the stage.
	OldestAge  *float64
	MedianAge  *float64
	Constraint bool
}

// LittlesLaw compares the measured load with throughput × flow time: on a
// steady stream they agree; a load well above the prediction means work is
// piling up.
type LittlesLaw struct {
	Days             float64 // length of the measured period
	ThroughputPerDay float64
	MeanFlowDays     *float64
	PredictedLoad    *float64
	Load             *float64
}

// FlowWeek is one week (Monday to Sunday, clipped to the window).
type FlowWeek struct {
	Start      time.Time
	Done       int
	FlowTime   DurationStats
	Load       *float64
	Efficiency *float64
	WIP        int // in progress at the end of the week
	ByType     map[FlowType]int
}

// CumulativeFlow counts, at the end of each day, the items that had reached
// each stage or a later one; the last series is Done. The gap between two
// neighbouring series is the work in that stage.
type CumulativeFlow struct {
	Series []string
	Days   []time.Time
	Counts [][]int // [day][series]
}

// AgingPercentiles are the flow-time percentiles the aging chart draws.
var AgingPercentiles = []float64{50, 70, 85, 95}

// Aging is the work in progress by age, against how long finished work took.
type Aging struct {
	Percentiles []*float64 // flow time of items finished in the window, per AgingPercentiles
	Items       []AgingItem
	Shown       int // items listed (the oldest per stage, up to AgingPerStage)
}

// AgingPerStage bounds the aging items listed per stage.
const AgingPerStage = 100

// AgingItem is one item in progress.
type AgingItem struct {
	Key, Title string
	Type       FlowType
	Stage      int
	StageName  string
	Age        float64 // since it entered its first stage
	InStage    float64
}

// Forecast says when the Now items not yet done are likely all done, by
// resampling the daily throughput of the last weeks (Monte Carlo).
type Forecast struct {
	Items int // Now items not yet done
	// The sample: SampleDays periods of 24 hours from SampleFrom up to
	// SampleTo (AsOf), in which Finished items were done — every item done
	// up to now counts, so the sample never misses what velocity shows.
	SampleDays           int
	SampleFrom, SampleTo time.Time
	Finished             int
	Trials               int
	Throughput           float64 // Finished / SampleDays
	// Dates by which all items are done with 50, 85 and 95 % likelihood
	// (end of that day); zero when there is no forecast (Reason says why).
	P50, P85, P95 time.Time
	Reason        string
}

// Forecast parameters.
const (
	ForecastSampleDays = 84
	ForecastTrials     = 10000
	forecastMaxDays    = 3650
)

const secondMicros = 1e6
const dayMicrosF = 86400e6

// ComputeFlow measures a value stream's flow over window w, at now.
func ComputeFlow(v *ValueStream, items []FlowItem, w Window, now time.Time) FlowReport {
	r := FlowReport{Window: w, AsOf: now.UTC(), Distribution: map[FlowType]int{}, WIPByType: map[FlowType]int{}}
	if end := w.End(); end.Before(r.AsOf) {
		r.AsOf = end
	}
	from, asOf := w.From.UnixMicro(), r.AsOf.UnixMicro()
	n := len(v.Stages)
	r.Stages = make([]StageFlow, n)
	for i, st := range v.Stages {
		r.Stages[i] = StageFlow{Name: st.Name, Kind: st.Kind, FixedTime: st.FixedTime, WIPLimit: st.WIPLimit}
	}
	// Everything strictly before AsOf counts.
	lim := asOf - 1
	inWindow := func(t int64) bool { return t != 0 && t >= from && t <= lim }

	// Weeks start on Monday; the first may begin before the window.
	var weeks []weekAcc
	if asOf > from {
		ws := w.From.AddDate(0, 0, -((int(w.From.Weekday()) + 6) % 7))
		for ; ws.UnixMicro() < asOf; ws = ws.AddDate(0, 0, 7) {
			lo, hi := max(ws.UnixMicro(), from), min(ws.AddDate(0, 0, 7).UnixMicro(), asOf)
			weeks = append(weeks, weekAcc{start: ws, lo: lo, hi: hi, byType: map[FlowType]int{}})
		}
	}
	weekOf := func(t int64) int {
		for i := range weeks {
			if t >= weeks[i].lo && t < weeks[i].hi {
				return i
			}
		}
		return -1
	}

	// Cumulative flow: arrivals per day per series, on top of what came before.
	days := 0
	if asOf > from {
		days = int((asOf - from + int64(dayMicrosF) - 1) / int64(dayMicrosF))
	}
	series := n + 1
	cfdBase := make([]int, series)
	cfdDay := make([][]int, days)
	for d := range cfdDay {
		cfdDay[d] = make([]int, series)
	}
	noteCFD := func(s int, t int64) {
		switch {
		case t == 0 || t > asOf:
		case t < from:
			cfdBase[s]++
		default:
			cfdDay[int((t-from)/int64(dayMicrosF))][s]++
		}
	}

	// Throughput sample for the forecast: items done in each of the
	// ForecastSampleDays periods of 24 hours up to AsOf. Whole periods
	// ending now, rather than whole calendar days before today, so that an
	// item finished today is in the sample as it is in the velocity.
	asOfDay := Midnight(r.AsOf)
	sampleFrom := asOf - ForecastSampleDays*int64(dayMicrosF)
	sample := make([]int, ForecastSampleDays)

	times := make([][]float64, n)
	ages := make([][]float64, n)
	var flowTimes []float64
	var activeSum, flowSum float64
	var loadSum float64
	var aging []AgingItem
	for idx := range items {
		it := &items[idx]
		if !v.Includes(it) {
			continue
		}
		j := v.JourneyOf(it, lim)
		if it.Horizon == HorizonNow && j.Done == 0 {
			r.Forecast.Items++
		}
		if j.Done != 0 && j.Done >= sampleFrom && j.Done < asOf {
			sample[(j.Done-sampleFrom)/int64(dayMicrosF)]++
		}
		if !j.Started() {
			continue
		}
		// Per stage: arrivals, departures, time in stage, skips; and the
		// cumulative flow (a skipped stage is reached with the next one).
		// A done item has passed every stage after its last one too.
		reached := j.Done
		var active float64
		stay, exit := v.stageTimes(it, &j)
		for i := n - 1; i >= 0; i-- {
			if e := j.Entered[i]; e != 0 {
				reached = e
				if inWindow(e) {
					r.Stages[i].Arrivals++
				}
				if x := exit[i]; x != 0 {
					d := float64(stay[i]) / secondMicros
					if v.Stages[i].Active() {
						active += d
					}
					if inWindow(x) {
						r.Stages[i].Departures++
						times[i] = append(times[i], d)
					}
				}
			} else if j.Skipped(i) && inWindow(reached) {
				r.Stages[i].Skipped++
			}
			noteCFD(i, reached)
		}
		noteCFD(n, j.Done)

		// Load: time in progress within the window, overall and per week.
		end := asOf
		if j.Done != 0 {
			end = j.Done
		}
		if lo, hi := max(j.Start, from), min(end, asOf); hi > lo {
			loadSum += float64(hi - lo)
		}
		for k := range weeks {
			wk := &weeks[k]
			if lo, hi := max(j.Start, wk.lo), min(end, wk.hi); hi > lo {
				wk.load += float64(hi - lo)
			}
			if j.Start < wk.hi && (j.Done == 0 || j.Done >= wk.hi) {
				wk.wip++
			}
		}

		if j.Done == 0 {
			r.WIP++
			r.WIPByType[it.Type]++
			c := j.Current
			r.Stages[c].WIP++
			inStage := float64(asOf-j.Entered[c]) / secondMicros
			ages[c] = append(ages[c], inStage)
			aging = append(aging, AgingItem{Key: it.Key, Title: it.Title, Type: it.Type, Stage: c, StageName: v.Stages[c].Name,
				Age: float64(asOf-j.Start) / secondMicros, InStage: inStage})
			continue
		}
		if !inWindow(j.Done) {
			continue
		}
		ft := float64(j.Done-j.Start) / secondMicros
		r.Done++
		r.Distribution[it.Type]++
		flowTimes = append(flowTimes, ft)
		flowSum += ft
		activeSum += active
		if k := weekOf(j.Done); k >= 0 {
			wk := &weeks[k]
			wk.flowTimes = append(wk.flowTimes, ft)
			wk.active += active
			wk.flow += ft
			wk.byType[it.Type]++
		}
	}

	// Stages.
	var activeMedians, allMedians float64
	for i := range r.Stages {
		st := &r.Stages[i]
		st.OverLimit = st.WIPLimit > 0 && st.WIP > st.WIPLimit
		st.TimeInStage = durationStats(times[i])
		if st.TimeInStage.Median != nil {
			allMedians += *st.TimeInStage.Median
			if v.Stages[i].Active() {
				activeMedians += *st.TimeInStage.Median
			}
		}
		if len(ages[i]) > 0 {
			st.OldestAge = ptr(slices.Max(ages[i]))
			st.MedianAge = Median(ages[i])
		}
	}
	if allMedians > 0 {
		r.Activity = ptr(activeMedians / allMedians)
	}

	// Flow metrics of the items finished.
	aged := slices.Clone(flowTimes)
	r.FlowTime = durationStats(flowTimes)
	if flowSum > 0 {
		r.Efficiency = ptr(activeSum / flowSum)
	}
	span := float64(asOf - from)
	if span > 0 {
		r.Load = ptr(loadSum / span)
		ll := LittlesLaw{Days: span / dayMicrosF, ThroughputPerDay: float64(r.Done) / (span / dayMicrosF), Load: r.Load}
		if r.FlowTime.Mean != nil {
			ll.MeanFlowDays = ptr(*r.FlowTime.Mean / 86400)
			ll.PredictedLoad = ptr(ll.ThroughputPerDay * *ll.MeanFlowDays)
		}
		r.LittlesLaw = ll
	}

	r.ConstraintRule = v.ConstraintRule()
	r.Constraint, r.NoConstraint = findConstraint(r.Stages, r.ConstraintRule)
	if r.Constraint != nil {
		r.Stages[r.Constraint.Stage].Constraint = true
	}

	for _, wk := range weeks {
		fw := FlowWeek{Start: wk.start, Done: len(wk.flowTimes), FlowTime: durationStats(wk.flowTimes), WIP: wk.wip, ByType: wk.byType}
		if d := float64(wk.hi - wk.lo); d > 0 {
			fw.Load = ptr(wk.load / d)
		}
		if wk.flow > 0 {
			fw.Efficiency = ptr(wk.active / wk.flow)
		}
		r.Weeks = append(r.Weeks, fw)
	}

	// Cumulative flow.
	r.CFD.Series = make([]string, 0, series)
	for _, st := range v.Stages {
		r.CFD.Series = append(r.CFD.Series, st.Name)
	}
	r.CFD.Series = append(r.CFD.Series, "Done")
	running := slices.Clone(cfdBase)
	for d := range days {
		for s := range running {
			running[s] += cfdDay[d][s]
		}
		r.CFD.Days = append(r.CFD.Days, w.From.AddDate(0, 0, d))
		r.CFD.Counts = append(r.CFD.Counts, slices.Clone(running))
	}

	// Aging: the oldest items per stage, against flow-time percentiles.
	for _, p := range AgingPercentiles {
		r.Aging.Percentiles = append(r.Aging.Percentiles, Percentile(aged, p))
	}
	slices.SortFunc(aging, func(a, b AgingItem) int {
		if c := cmp.Compare(a.Stage, b.Stage); c != 0 {
			return c
		}
		if c := cmp.Compare(b.Age, a.Age); c != 0 {
			return c
		}
		return cmp.Compare(a.Key, b.Key)
	})
	perStage := map[int]int{}
	for _, a := range aging {
		if perStage[a.Stage] < AgingPerStage {
			perStage[a.Stage]++
			r.Aging.Items = append(r.Aging.Items, a)
		}
	}
	r.Aging.Shown = len(r.Aging.Items)

	if now.Before(w.End()) {
		r.Forecast = forecast(r.Forecast.Items, sample, asOfDay, uint64(v.ID)<<32^uint64(asOfDay.Unix()/86400))
		r.Forecast.SampleFrom, r.Forecast.SampleTo = time.UnixMicro(sampleFrom).UTC(), r.AsOf
	} else {
		r.Forecast = Forecast{Items: r.Forecast.Items, SampleDays: ForecastSampleDays, Trials: ForecastTrials,
			Reason: "A forecast looks ahead from today: choose a period that ends today."}
	}
	return r
}

type weekAcc struct {
	start        time.Time
	lo, hi       int64
	load         float64
	wip          int
	flowTimes    []float64
	active, flow float64
	byType       map[FlowType]int
}

func ptr[T any](v T) *T { return &v }

// forecast resamples daily throughput to say when items are all done.
func forecast(items int, sample []int, day time.Time, seed uint64) Forecast {
	f := Forecast{Items: items, SampleDays: len(sample), Trials: ForecastTrials}
	for _, s := range sample {
		f.Finished += s
	}
	f.Throughput = float64(f.Finished) / float64(len(sample))
	switch {
	case items == 0:
		f.Reason = "Nothing on Now is left to finish."
		return f
	case f.Finished == 0:
		f.Reason = fmt.Sprintf("Nothing in this stream finished in the %d days up to now, so there is no throughput to forecast from.", len(sample))
		return f
	case float64(items)/f.Throughput > forecastMaxDays:
		f.Reason = "At the pace of the last weeks this would take more than ten years."
		return f
	}
	days := MonteCarloDays(items, sample, ForecastTrials, seed)
	at := func(p float64) time.Time {
		d := Percentile(days, p)
		return day.AddDate(0, 0, int(*d))
	}
	f.P50, f.P85, f.P95 = at(50), at(85), at(95)
	return f
}

// MonteCarloDays simulates finishing items by drawing each coming day's
// throughput from the sample, trials times, and returns the number of days
// each trial took (day 1 is the day after the forecast is made).
func MonteCarloDays(items int, sample []int, trials int, seed uint64) []float64 {
	rng := rand.New(rand.NewPCG(seed, 0x5eed_f10e))
	out := make([]float64, trials)
	for t := range out {
		done, d := 0, 0
		for done < items && d < forecastMaxDays {
			done += sample[rng.IntN(len(sample))]
			d++
		}
		out[t] = float64(d)
	}
	return out
}

// HumanSeconds writes a duration in seconds the way people read one:
// 45 s, 12 min, 5.2 h, 3 d, and past two years 56.9 y.
func HumanSeconds(s float64) string {
	trim := func(x string) string { return strings.TrimSuffix(x, ".0") }
	switch a := math.Abs(s); {
	case a < 90:
		return fmt.Sprintf("%.0f s", s)
	case a < 90*60:
		return fmt.Sprintf("%.0f min", s/60)
	case a < 48*3600:
		return trim(fmt.Sprintf("%.1f", s/3600)) + " h"
	case a < 2*365.25*86400:
		return trim(fmt.Sprintf("%.1f", s/86400)) + " d"
	default:
		// Years, which only a wrong clock makes (an event dated 1970):
		// "56.9 y" reads where "20791.3 d" does not.
		return trim(fmt.Sprintf("%.1f", s/(365.25*86400))) + " y"
	}
}
