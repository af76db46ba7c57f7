package web

import (
	"context"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/throughline/throughline/domain"
)

type ideaJSON struct {
	Key        string   `json:"key"`
	Title      string   `json:"title"`
	Problem    string   `json:"problem"`
	Hypothesis string   `json:"hypothesis"`
	Horizon    string   `json:"horizon"`
	FlowType   string   `json:"flow_type"`
	Team       string   `json:"team"`
	Services   []string `json:"services"`
	KeyResults []int64  `json:"key_results"`
	Reach      float64  `json:"reach"`
	Impact     float64  `json:"impact"`
	Confidence float64  `json:"confidence"`
	Effort     float64  `json:"effort"`
	RICE       *float64 `json:"rice"`
	Archived   bool     `json:"archived"`
	Stage      *string  `json:"stage"`
	Done       bool     `json:"done"`
	// DoneBy is "verdict" or "no_key_result" when done (DESIGN.md 4).
	DoneBy  *string    `json:"done_by"`
	DoneAt  *time.Time `json:"done_at"`
	Shipped bool       `json:"shipped"`
	// ShippedAt is its first production deployment, null before it or
	// while it is rolled back (domain.ShippedAt).
	ShippedAt     *time.Time     `json:"shipped_at"`
	RolledBack    *removalJSON   `json:"rolled_back"`
	Stalled       *stallJSON     `json:"stalled"`
	Verdict       *verdictJSON   `json:"verdict"`
	Stages        []stageJSON    `json:"stages,omitempty"`
	Links         *linksJSON     `json:"links,omitempty"`
	KeyResultsNow []readingJSON  `json:"key_results_now,omitempty"`
	Evidence      []evidenceJSON `json:"evidence,omitempty"`
	CreatedAt     time.Time      `json:"created_at"`
	UpdatedAt     time.Time      `json:"updated_at"`
}

// removalJSON is the deployment that took a rolled back idea's last change
// out of production.
type removalJSON struct {
	At         time.Time     `json:"at"`
	Service    string        `json:"service"`
	Deployment deployRefJSON `json:"deployment"`
	Artifact   string        `json:"artifact"`
	Rollback   bool          `json:"rollback"`
}

// deployRefJSON names a production deployment.
type deployRefJSON struct {
	ID      string    `json:"id"`
	Source  string    `json:"source"`
	Service string    `json:"service"`
	Time    time.Time `json:"time"`
}

type stallJSON struct {
	Stage string    `json:"stage"`
	Since time.Time `json:"since"`
	Days  int       `json:"days"`
}

// readingJSON is a key result's current value at a moment
// (domain.ReadKeyResult): the mean of the daily means from..to.
type readingJSON struct {
	KeyResult    int64    `json:"key_result"`
	Title        string   `json:"title"`
	Current      *float64 `json:"current"`
	Progress     *float64 `json:"progress"`
	From         string   `json:"current_from"`
	To           string   `json:"current_to"`
	DaysWithData int      `json:"current_days_with_data"`
}

func toReadingJSON(kr domain.KeyResult, r domain.KRReading) readingJSON {
	return readingJSON{KeyResult: kr.ID, Title: kr.Title, Current: r.Current, Progress: r.Progress,
		From: r.Window.From.Format(domain.DateLayout), To: r.Window.To.Format(domain.DateLayout), DaysWithData: r.Days}
}

type verdictJSON struct {
	Verdict string    `json:"verdict"`
	Note    string    `json:"note"`
	By      string    `json:"by"`
	At      time.Time `json:"at"`
}

type stageJSON struct {
	Stage   string     `json:"stage"`
	Entered *time.Time `json:"entered_at"`
	Skipped bool       `json:"skipped"`
}

type linksJSON struct {
	Changes     []map[string]any   `json:"changes"`
	Runs        []map[string]any   `json:"runs"`
	Artifacts   []map[string]any   `json:"artifacts"`
	Deployments []map[string]any   `json:"deployments"`
	Incidents   []ideaIncidentJSON `json:"incidents"`
}

// ideaIncidentJSON is an incident on an idea's page: where and when, and the
// deployment it was attributed to with the rule, or why it is unattributed.
type ideaIncidentJSON struct {
	ID                 string         `json:"id"`
	Service            string         `json:"service"`
	Artifact           string         `json:"artifact"`
	Environment        string         `json:"environment"`
	Start              *time.Time     `json:"start"`
	Resolved           *time.Time     `json:"resolved"`
	RestoreSeconds     *float64       `json:"restore_seconds"`
	Attributed         bool           `json:"attributed"`
	Deployment         *deployRefJSON `json:"deployment"`
	Rule               *string        `json:"rule"`
	UnattributedReason *string        `json:"unattributed_reason"`
}

func toIdeaIncidentJSON(li domain.LinkedIncident) ideaIncidentJSON {
	base := toIncidentJSON(li.IncidentRecord)
	out := ideaIncidentJSON{ID: base.ID, Service: base.Service, Artifact: base.Artifact, Environment: base.Environment,
		Start: base.Start, Resolved: base.Resolved, RestoreSeconds: base.RestoreSeconds, Attributed: base.Attributed,
		Rule: base.Rule, UnattributedReason: base.UnattributedReason}
	if li.Attributed() {
		out.Deployment = &deployRefJSON{ID: li.DeploymentEvent.ID, Source: li.DeploymentEvent.Source, Service: li.DeploymentService,
			Time: li.DeploymentAt.UTC()}
	}
	return out
}

type evidenceJSON struct {
	KeyResult      int64      `json:"key_result"`
	Metric         string     `json:"metric"`
	DeployedAt     *time.Time `json:"deployed_at"`
	WindowDays     int        `json:"window_days"`
	DaysBefore     int        `json:"days_before"`
	DaysAfter      int        `json:"days_after"`
	BeforeMean     *float64   `json:"before_mean"`
	AfterMean      *float64   `json:"after_mean"`
	Difference     *float64   `json:"difference"`
	RelativeChange *float64   `json:"relative_change"`
	Low            *float64   `json:"ci95_low"`
	High           *float64   `json:"ci95_high"`
	Verdict        *string    `json:"verdict"`
	Reason         string     `json:"reason"`
	WindowOpen     bool       `json:"window_open"`
	Observational  bool       `json:"observational"`
	// Anchor is where the comparison is centred (DESIGN.md 4): where the
	// idea's exposure became full, or its first production deployment.
	Anchor anchorJSON `json:"anchor"`
}

type anchorJSON struct {
	Kind string     `json:"kind"`
	At   *time.Time `json:"at"`
	Text string     `json:"text"`
}

func toAnchorJSON(a domain.Anchor) anchorJSON {
	out := anchorJSON{Kind: string(a.Kind), Text: a.Text}
	if !a.At.IsZero() {
		at := a.At.UTC()
		out.At = &at
	}
	return out
}

func toIdeaJSON(i *domain.Idea, it *domain.FlowItem, tl domain.Timeline, now time.Time) ideaJSON {
	out := ideaJSON{Key: i.Key, Title: i.Title, Problem: i.Problem, Hypothesis: i.Hypothesis, Horizon: string(i.Horizon),
		FlowType: string(i.FlowType), Team: i.Team, Services: append([]string{}, i.Services...), KeyResults: append([]int64{}, i.KeyResults...),
		Reach: i.Reach, Impact: i.Impact, Confidence: i.Confidence, Effort: i.Effort, RICE: i.RICE(), Archived: i.Archived,
		Done: tl.Done, CreatedAt: i.CreatedAt.UTC(), UpdatedAt: i.UpdatedAt.UTC()}
	if tl.Current != "" {
		st := string(tl.Current)
		out.Stage = &st
	}
	if tl.Done {
		by := string(tl.DoneBy)
		out.DoneBy, out.DoneAt = &by, timePtr(tl.DoneAt)
	}
	out.Shipped, out.ShippedAt = tl.Shipped, timePtr(domain.ShippedAt(it))
	if r := tl.RolledBack; r != nil {
		out.RolledBack = &removalJSON{At: r.At.UTC(), Service: r.Service, Artifact: r.Artifact, Rollback: r.Rollback,
			Deployment: deployRefJSON{ID: r.Event.ID, Source: r.Event.Source, Service: r.Service, Time: r.At.UTC()}}
	}
	if st := domain.StalledIn(i.Horizon, tl, now); st != nil {
		out.Stalled = &stallJSON{Stage: string(st.Stage), Since: st.Since.UTC(), Days: st.Days}
	}
	if i.Verdict != "" {
		out.Verdict = &verdictJSON{Verdict: string(i.Verdict), Note: i.VerdictNote, By: i.VerdictBy, At: i.VerdictAt.UTC()}
	}
	return out
}

func (s *Server) handleIdeasAPI(c echo.Context) error {
	ctx := c.Request().Context()
	f := domain.IdeaFilter{Team: c.QueryParam("team"), IncludeArchived: c.QueryParam("archived") == "true"}
	ideas, err := s.deps.Roadmap.Ideas(ctx, f)
	if err != nil {
		return err
	}
	if h := c.QueryParam("horizon"); h != "" {
		if !domain.Horizon(h).Valid() {
			return domain.Errorf(domain.EINVALID, "horizon must be now, next or later.")
		}
		kept := ideas[:0]
		for _, i := range ideas {
			if string(i.Horizon) == h {
				kept = append(kept, i)
			}
		}
		ideas = kept
	}
	flow, err := s.deps.Roadmap.IdeaFlow(ctx, ideaKeys(ideas))
	if err != nil {
		return err
	}
	now := s.now()
	out := make([]ideaJSON, len(ideas))
	for i, idea := range ideas {
		it := flow[idea.Key]
		out[i] = toIdeaJSON(idea, &it, domain.StageTimeline(&it, now), now)
	}
	return c.JSON(http.StatusOK, map[string]any{"ideas": out})
}

func (s *Server) handleIdeaAPI(c echo.Context) error {
	ctx := c.Request().Context()
	idea, err := s.deps.Roadmap.Idea(ctx, c.Param("key"))
	if err != nil {
		return err
	}
	flow, err := s.deps.Roadmap.IdeaFlow(ctx, []string{idea.Key})
	if err != nil {
		return err
	}
	links, err := s.deps.Roadmap.IdeaLinks(ctx, idea.Key)
	if err != nil {
		return err
	}
	now := s.now()
	it := flow[idea.Key]
	tl := domain.StageTimeline(&it, now)
	out := toIdeaJSON(idea, &it, tl, now)
	skipped := map[domain.Stage]bool{}
	for _, st := range tl.Skipped {
		skipped[st] = true
	}
	for _, st := range domain.Stages {
		sj := stageJSON{Stage: string(st), Skipped: skipped[st]}
		if t, ok := tl.Entered[st]; ok {
			tt := t.UTC()
			sj.Entered = &tt
		}
		out.Stages = append(out.Stages, sj)
	}
	out.Links = toLinksJSON(links)
	krs, err := s.deps.Roadmap.KeyResults(ctx)
	if err != nil {
		return err
	}
	for _, kr := range krs {
		if containsID(idea.KeyResults, kr.ID) {
			r, err := s.readKeyResult(ctx, kr, now)
			if err != nil {
				return err
			}
			out.KeyResultsNow = append(out.KeyResultsNow, toReadingJSON(kr, r))
		}
	}
	anchor, err := s.evidenceAnchor(ctx, idea.Key, it.Signals.At(domain.TrigDeployProd))
	if err != nil {
		return err
	}
	evidence, err := s.ideaEvidence(ctx, idea, it.Signals.At(domain.TrigDeployProd), anchor, now)
	if err != nil {
		return err
	}
	out.Evidence = evidence
	return c.JSON(http.StatusOK, out)
}

func (s *Server) ideaEvidence(ctx context.Context, idea *domain.Idea, firstProd time.Time, anchor domain.Anchor, now time.Time) ([]evidenceJSON, error) {
	krs, err := s.deps.Roadmap.KeyResults(ctx)
	if err != nil {
		return nil, err
	}
	window := s.cfg.EvidenceWindow
	var out []evidenceJSON
	for _, kr := range krs {
		if !containsID(idea.KeyResults, kr.ID) {
			continue
		}
		e := evidenceJSON{KeyResult: kr.ID, Metric: kr.Metric, WindowDays: window, Observational: true,
			Reason: anchor.Text, Anchor: toAnchorJSON(anchor)}
		if !firstProd.IsZero() {
			at := firstProd.UTC()
			e.DeployedAt = &at
		}
		if !anchor.At.IsZero() {
			day := domain.Midnight(anchor.At)
			daily, err := s.deps.Roadmap.MetricDaily(ctx, kr.Metric, kr.Attributes, day.AddDate(0, 0, -window), day.AddDate(0, 0, window+1))
			if err != nil {
				return nil, err
			}
			ev := domain.CompareAround(anchor.At, window, daily, kr.Direction, now)
			verdict := string(ev.Verdict)
			e.DaysBefore, e.DaysAfter = len(ev.Before), len(ev.After)
			e.BeforeMean, e.AfterMean, e.Difference, e.RelativeChange = ev.BeforeMean, ev.AfterMean, ev.Difference, ev.RelativeChange
			e.Low, e.High, e.Verdict, e.Reason, e.WindowOpen = ev.Low, ev.High, &verdict, ev.Reason, ev.WindowOpen
		}
		out = append(out, e)
	}
	return out, nil
}

// toLinksJSON writes an idea's links. A time the store has as zero is null,
// never the year 1: the store keeps "never" as 0, which is also the Unix
// epoch a producer with a zeroed clock sends.
func toLinksJSON(l domain.IdeaLinks) *linksJSON {
	out := &linksJSON{Changes: []map[string]any{}, Runs: []map[string]any{}, Artifacts: []map[string]any{}, Deployments: []map[string]any{}, Incidents: []ideaIncidentJSON{}}
	for _, c := range l.Changes {
		out.Changes = append(out.Changes, map[string]any{"id": c.ID, "repository": c.Repository, "started_at": timePtr(c.Start),
			"merged_at": timePtr(c.Merged), "in_production_at": timePtr(c.InProduction)})
	}
	for _, r := range l.Runs {
		out.Runs = append(out.Runs, map[string]any{"kind": string(r.Kind), "id": r.SubjectID, "artifact": r.Artifact,
			"environment": r.Environment, "outcome": string(r.Outcome), "at": timePtr(r.At)})
	}
	for _, a := range l.Artifacts {
		out.Artifacts = append(out.Artifacts, map[string]any{"id": a.ID, "packaged_at": timePtr(a.Packaged), "published_at": timePtr(a.Published)})
	}
	for _, d := range l.Deployments {
		dj := map[string]any{"id": d.Event.ID, "source": d.Event.Source, "service": d.Service,
			"environment": d.Environment, "artifact": d.Artifact, "time": timePtr(d.At), "production": d.Production, "rollback": d.Rollback, "failed": d.Failed,
			"carries_idea": d.Carries, "took_out_of_production": d.TookOut, "rolled_back_by": nil}
		if r := d.RolledBackBy; r != nil {
			dj["rolled_back_by"] = eventRef{ID: r.ID, Source: r.Source}
		}
		out.Deployments = append(out.Deployments, dj)
	}
	for _, i := range l.Incidents {
		out.Incidents = append(out.Incidents, toIdeaIncidentJSON(i))
	}
	return out
}

type keyResultJSON struct {
	ID         int64             `json:"id"`
	Title      string            `json:"title"`
	Metric     string            `json:"metric"`
	Attributes map[string]string `json:"attributes"`
	Baseline   float64           `json:"baseline"`
	Target     float64           `json:"target"`
	Direction  string            `json:"direction"`
	Due        *time.Time        `json:"due"`
	Unit       string            `json:"unit"`
	State      string            `json:"state"`
	// Current and Progress as every page shows them (domain.ReadKeyResult).
	Current      *float64 `json:"current"`
	Progress     *float64 `json:"progress"`
	CurrentFrom  string   `json:"current_from"`
	CurrentTo    string   `json:"current_to"`
	DaysWithData int      `json:"current_days_with_data"`
	Ideas        []string `json:"ideas"`
}

func (s *Server) handleOutcomesAPI(c echo.Context) error {
	ctx := c.Request().Context()
	objectives, err := s.deps.Roadmap.Objectives(ctx)
	if err != nil {
		return err
	}
	krs, err := s.deps.Roadmap.KeyResults(ctx)
	if err != nil {
		return err
	}
	ideas, err := s.deps.Roadmap.Ideas(ctx, domain.IdeaFilter{})
	if err != nil {
		return err
	}
	type objectiveJSON struct {
		ID          int64           `json:"id"`
		Title       string          `json:"title"`
		Description string          `json:"description"`
		KeyResults  []keyResultJSON `json:"key_results"`
	}
	out := make([]objectiveJSON, 0, len(objectives))
	now := s.now()
	for _, o := range objectives {
		oj := objectiveJSON{ID: o.ID, Title: o.Title, Description: o.Description, KeyResults: []keyResultJSON{}}
		for _, kr := range krs {
			if kr.ObjectiveID != o.ID {
				continue
			}
			r, err := s.readKeyResult(ctx, kr, now)
			if err != nil {
				return err
			}
			rj := toReadingJSON(kr, r)
			kj := keyResultJSON{ID: kr.ID, Title: kr.Title, Metric: kr.Metric, Attributes: kr.Attributes, Baseline: kr.Baseline,
				Target: kr.Target, Direction: string(kr.Direction), Due: timePtr(kr.Due), Unit: string(kr.Unit), State: string(kr.State()), Current: r.Current, Progress: r.Progress,
				CurrentFrom: rj.From, CurrentTo: rj.To, DaysWithData: rj.DaysWithData, Ideas: []string{}}
			if kj.Attributes == nil {
				kj.Attributes = map[string]string{}
			}
			for _, i := range ideas {
				if containsID(i.KeyResults, kr.ID) {
					kj.Ideas = append(kj.Ideas, i.Key)
				}
			}
			oj.KeyResults = append(oj.KeyResults, kj)
		}
		out = append(out, oj)
	}
	return c.JSON(http.StatusOK, map[string]any{"objectives": out})
}

type metricPointJSON struct {
	Start time.Time `json:"start"`
	Count int64     `json:"count"`
	Sum   float64   `json:"sum"`
	Min   float64   `json:"min"`
	Max   float64   `json:"max"`
	Mean  float64   `json:"mean"`
}

// handleMetricAPI answers GET /api/v1/metrics/{name}?from&to&bucket&attr.k=v.
func (s *Server) handleMetricAPI(c echo.Context) error {
	attrs, from, to, bucket, err := metricQuery(c, s.now())
	if err != nil {
		return err
	}
	name := c.Param("name")
	pts, err := s.deps.Roadmap.MetricSeries(c.Request().Context(), name, attrs, bucket, from, to)
	if err != nil {
		return err
	}
	out := make([]metricPointJSON, len(pts))
	for i, p := range pts {
		out[i] = metricPointJSON{Start: p.Start.UTC(), Count: p.Count, Sum: p.Sum, Min: p.Min, Max: p.Max, Mean: p.Mean()}
	}
	return c.JSON(http.StatusOK, map[string]any{"metric": name, "attributes": attrs, "bucket": bucket,
		"from": from.UTC(), "to": to.UTC(), "points": out})
}
