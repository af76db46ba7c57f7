package web

import (
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/throughline/throughline/domain"
)

// JSON of value streams and their flow. Durations are seconds; counts are
// always numbers; medians and ratios are null when their set is empty.

type stageDefJSON struct {
	Name      string   `json:"name"`
	Kind      string   `json:"kind"`
	FixedTime bool     `json:"fixed_time"`
	WIPLimit  *int     `json:"wip_limit"`
	Rule      []string `json:"rule"`
}

// constraintRuleJSON is the evidence a stage needs to be named the
// constraint.
type constraintRuleJSON struct {
	MinItems int     `json:"min_items"`
	MinRatio float64 `json:"min_ratio"`
}

func toConstraintRuleJSON(r domain.ConstraintRule) constraintRuleJSON {
	return constraintRuleJSON{MinItems: r.MinItems, MinRatio: r.MinRatio}
}

type valueStreamJSON struct {
	ID             int64              `json:"id"`
	Name           string             `json:"name"`
	Description    string             `json:"description"`
	Teams          []string           `json:"teams"`
	Services       []string           `json:"services"`
	Everything     bool               `json:"covers_every_idea"`
	Stages         []stageDefJSON     `json:"stages"`
	ConstraintRule constraintRuleJSON `json:"constraint_rule"`
	Revision       int                `json:"revision"`
	UpdatedAt      time.Time          `json:"updated_at"`
}

func toValueStreamJSON(v domain.ValueStream) valueStreamJSON {
	out := valueStreamJSON{ID: v.ID, Name: v.Name, Description: v.Description, Teams: v.Teams, Services: v.Services,
		Everything: v.Everything(), Revision: v.Revision, UpdatedAt: v.UpdatedAt.UTC(), Stages: []stageDefJSON{},
		ConstraintRule: toConstraintRuleJSON(v.ConstraintRule())}
	if out.Teams == nil {
		out.Teams = []string{}
	}
	if out.Services == nil {
		out.Services = []string{}
	}
	for _, st := range v.Stages {
		sj := stageDefJSON{Name: st.Name, Kind: string(st.Kind), FixedTime: st.FixedTime, Rule: []string{}}
		if st.WIPLimit > 0 {
			n := st.WIPLimit
			sj.WIPLimit = &n
		}
		for _, t := range st.Rule {
			sj.Rule = append(sj.Rule, t.String())
		}
		out.Stages = append(out.Stages, sj)
	}
	return out
}

type durationJSON struct {
	Items         int      `json:"items"`
	MedianSeconds *float64 `json:"median_seconds"`
	P85Seconds    *float64 `json:"p85_seconds"`
	MeanSeconds   *float64 `json:"mean_seconds"`
}

func toDurationJSON(d domain.DurationStats) durationJSON {
	return durationJSON{Items: d.Items, MedianSeconds: d.Median, P85Seconds: d.P85, MeanSeconds: d.Mean}
}

type stageFlowJSON struct {
	Name             string       `json:"name"`
	Kind             string       `json:"kind"`
	FixedTime        bool         `json:"fixed_time"`
	WIPLimit         *int         `json:"wip_limit"`
	WIP              int          `json:"wip"`
	OverLimit        bool         `json:"over_limit"`
	Arrivals         int          `json:"arrivals"`
	Departures       int          `json:"departures"`
	Skipped          int          `json:"skipped"`
	TimeInStage      durationJSON `json:"time_in_stage"`
	OldestAgeSeconds *float64     `json:"oldest_age_seconds"`
	MedianAgeSeconds *float64     `json:"median_age_seconds"`
	Constraint       bool         `json:"constraint"`
}

type flowTotalsJSON struct {
	Velocity     int            `json:"velocity"`
	FlowTime     durationJSON   `json:"flow_time"`
	Load         *float64       `json:"load"`
	WIP          int            `json:"wip"`
	Efficiency   *float64       `json:"efficiency"`
	Activity     *float64       `json:"activity"`
	Distribution map[string]int `json:"distribution"`
	WIPByType    map[string]int `json:"wip_by_type"`
}

type littleJSON struct {
	Days             float64  `json:"days"`
	ThroughputPerDay float64  `json:"throughput_per_day"`
	MeanFlowDays     *float64 `json:"mean_flow_time_days"`
	PredictedLoad    *float64 `json:"predicted_load"`
	Load             *float64 `json:"load"`
}

type constraintJSON struct {
	Stage       string   `json:"stage"`
	Index       int      `json:"index"`
	Seconds     float64  `json:"seconds"`
	Basis       string   `json:"basis"`
	Items       int      `json:"items"`
	NextStage   string   `json:"next_stage"`
	NextSeconds float64  `json:"next_seconds"`
	Ratio       *float64 `json:"ratio"` // null when the next stage's median is zero
	Arrivals    int      `json:"arrivals"`
	Departures  int      `json:"departures"`
	WIP         int      `json:"wip"`
	Reason      string   `json:"reason"`
}

type flowWeekJSON struct {
	Start        string         `json:"start"`
	Velocity     int            `json:"velocity"`
	FlowTime     durationJSON   `json:"flow_time"`
	Load         *float64       `json:"load"`
	Efficiency   *float64       `json:"efficiency"`
	WIP          int            `json:"wip"`
	Distribution map[string]int `json:"distribution"`
}

type cfdDayJSON struct {
	Day    string `json:"day"`
	Counts []int  `json:"counts"`
}

type agingItemJSON struct {
	Key            string  `json:"key"`
	Title          string  `json:"title"`
	Type           string  `json:"type"`
	Stage          string  `json:"stage"`
	AgeSeconds     float64 `json:"age_seconds"`
	InStageSeconds float64 `json:"in_stage_seconds"`
}

type forecastJSON struct {
	Items            int        `json:"items"`
	SampleDays       int        `json:"sample_days"`
	SampleFrom       *time.Time `json:"sample_from"` // null when no forecast is made
	SampleTo         *time.Time `json:"sample_to"`
	Finished         int        `json:"finished_in_sample"`
	Trials           int        `json:"trials"`
	ThroughputPerDay float64    `json:"throughput_per_day"`
	P50              *string    `json:"p50"`
	P85              *string    `json:"p85"`
	P95              *string    `json:"p95"`
	Reason           string     `json:"reason,omitempty"`
}

type flowJSON struct {
	ValueStream struct {
		ID       int64  `json:"id"`
		Name     string `json:"name"`
		Revision int    `json:"revision"`
	} `json:"value_stream"`
	From       string          `json:"from"`
	To         string          `json:"to"`
	AsOf       time.Time       `json:"as_of"`
	Stages     []stageFlowJSON `json:"stages"`
	Flow       flowTotalsJSON  `json:"flow"`
	LittlesLaw littleJSON      `json:"littles_law"`
	Constraint *constraintJSON `json:"constraint"`
	// Why no stage is named the constraint (null when one is), and the
	// evidence a stage needs.
	NoConstraintReason *string            `json:"no_constraint_reason"`
	ConstraintRule     constraintRuleJSON `json:"constraint_rule"`
	Weeks              []flowWeekJSON     `json:"weeks"`
	CFD                struct {
		Series []string     `json:"series"`
		Days   []cfdDayJSON `json:"days"`
	} `json:"cumulative_flow"`
	Aging struct {
		Percentiles map[string]*float64 `json:"percentile_seconds"`
		Items       []agingItemJSON     `json:"items"`
	} `json:"aging"`
	Forecast forecastJSON `json:"forecast"`
}

func byType(m map[domain.FlowType]int) map[string]int {
	out := make(map[string]int, len(domain.FlowTypes))
	for _, t := range domain.FlowTypes {
		out[string(t)] = m[t]
	}
	return out
}

func dateOrNil(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := t.Format(domain.DateLayout)
	return &s
}

func toFlowJSON(v domain.ValueStream, r domain.FlowReport) flowJSON {
	var out flowJSON
	out.ValueStream.ID, out.ValueStream.Name, out.ValueStream.Revision = v.ID, v.Name, v.Revision
	out.From, out.To, out.AsOf = r.Window.From.Format(domain.DateLayout), r.Window.To.Format(domain.DateLayout), r.AsOf.UTC()
	out.Stages = []stageFlowJSON{}
	for _, st := range r.Stages {
		sj := stageFlowJSON{Name: st.Name, Kind: string(st.Kind), FixedTime: st.FixedTime, WIP: st.WIP, OverLimit: st.OverLimit, Arrivals: st.Arrivals,
			Departures: st.Departures, Skipped: st.Skipped, TimeInStage: toDurationJSON(st.TimeInStage),
			OldestAgeSeconds: st.OldestAge, MedianAgeSeconds: st.MedianAge, Constraint: st.Constraint}
		if st.WIPLimit > 0 {
			n := st.WIPLimit
			sj.WIPLimit = &n
		}
		out.Stages = append(out.Stages, sj)
	}
	out.Flow = flowTotalsJSON{Velocity: r.Done, FlowTime: toDurationJSON(r.FlowTime), Load: r.Load, WIP: r.WIP,
		Efficiency: r.Efficiency, Activity: r.Activity, Distribution: byType(r.Distribution), WIPByType: byType(r.WIPByType)}
	l := r.LittlesLaw
	out.LittlesLaw = littleJSON{Days: l.Days, ThroughputPerDay: l.ThroughputPerDay, MeanFlowDays: l.MeanFlowDays, PredictedLoad: l.PredictedLoad, Load: l.Load}
	if c := r.Constraint; c != nil {
		out.Constraint = &constraintJSON{Stage: c.Name, Index: c.Stage, Seconds: c.Seconds, Basis: c.Basis, Items: c.Items,
			NextStage: c.Next, NextSeconds: c.NextSeconds, Ratio: c.Ratio, Arrivals: c.Arrivals,
			Departures: c.Departures, WIP: c.WIP, Reason: c.Reason}
	} else {
		out.NoConstraintReason = &r.NoConstraint
	}
	out.ConstraintRule = toConstraintRuleJSON(r.ConstraintRule)
	out.Weeks = []flowWeekJSON{}
	for _, wk := range r.Weeks {
		out.Weeks = append(out.Weeks, flowWeekJSON{Start: wk.Start.Format(domain.DateLayout), Velocity: wk.Done, FlowTime: toDurationJSON(wk.FlowTime),
			Load: wk.Load, Efficiency: wk.Efficiency, WIP: wk.WIP, Distribution: byType(wk.ByType)})
	}
	out.CFD.Series = r.CFD.Series
	out.CFD.Days = []cfdDayJSON{}
	for i, d := range r.CFD.Days {
		out.CFD.Days = append(out.CFD.Days, cfdDayJSON{Day: d.Format(domain.DateLayout), Counts: r.CFD.Counts[i]})
	}
	out.Aging.Percentiles = map[string]*float64{}
	for i, p := range domain.AgingPercentiles {
		out.Aging.Percentiles["p"+strconv.Itoa(int(p))] = r.Aging.Percentiles[i]
	}
	out.Aging.Items = []agingItemJSON{}
	for _, a := range r.Aging.Items {
		out.Aging.Items = append(out.Aging.Items, agingItemJSON{Key: a.Key, Title: a.Title, Type: string(a.Type), Stage: a.StageName,
			AgeSeconds: a.Age, InStageSeconds: a.InStage})
	}
	f := r.Forecast
	out.Forecast = forecastJSON{Items: f.Items, SampleDays: f.SampleDays, Finished: f.Finished, Trials: f.Trials, ThroughputPerDay: f.Throughput,
		P50: dateOrNil(f.P50), P85: dateOrNil(f.P85), P95: dateOrNil(f.P95), Reason: f.Reason}
	if !f.SampleFrom.IsZero() {
		from, to := f.SampleFrom.UTC(), f.SampleTo.UTC()
		out.Forecast.SampleFrom, out.Forecast.SampleTo = &from, &to
	}
	return out
}

func (s *Server) handleValueStreamsAPI(c echo.Context) error {
	streams, err := s.deps.ValueStreams.ValueStreams(c.Request().Context())
	if err != nil {
		return err
	}
	out := make([]valueStreamJSON, len(streams))
	for i, v := range streams {
		out[i] = toValueStreamJSON(v)
	}
	return c.JSON(http.StatusOK, map[string]any{"value_streams": out})
}

func (s *Server) handleValueStreamAPI(c echo.Context) error {
	id, err := streamID(c)
	if err != nil {
		return err
	}
	v, err := s.deps.ValueStreams.ValueStream(c.Request().Context(), id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toValueStreamJSON(v))
}

func (s *Server) handleFlowAPI(c echo.Context) error {
	ctx := c.Request().Context()
	id, err := streamID(c)
	if err != nil {
		return err
	}
	v, err := s.deps.ValueStreams.ValueStream(ctx, id)
	if err != nil {
		return err
	}
	w, err := s.windowQuery(c)
	if err != nil {
		return err
	}
	r, err := s.deps.ValueStreams.Flow(ctx, &v, w, s.now())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toFlowJSON(v, r))
}
