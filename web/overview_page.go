package web

import (
	"context"
	"net/url"
	"strconv"
	"strings"

	"github.com/a-h/templ"
	"github.com/labstack/echo/v4"

	"github.com/throughline/throughline/domain"
	"github.com/throughline/throughline/web/views"
)

// overviewDays is the period the overview's delivery numbers cover.
const overviewDays = 90

// handleHome is the landing overview: the handful of numbers that matter,
// each linking to its detail, then the system's state.
func (s *Server) handleHome(c echo.Context) error {
	if id := csvRequested(c); id != "" {
		return servePageTable(c, id, views.ChecksTable("system", s.runChecks(c.Request().Context())))
	}
	return s.renderCachedBuild(c, s.freshnessVersion(c), func() (func(views.Page) templ.Component, error) {
		ctx := c.Request().Context()
		v, err := s.overviewView(ctx)
		if err != nil {
			return nil, err
		}
		v.Checks = s.runChecks(ctx)
		v.System = views.ChecksTable("system", v.Checks)
		v.NATSURL, v.EventsSubject = s.cfg.Info.NATS, s.cfg.Info.EventsSubject
		v.BaseURL = c.Scheme() + "://" + c.Request().Host
		return func(p views.Page) templ.Component { return views.Home(p, v) }, nil
	}, "Overview", "")
}

func (s *Server) overviewView(ctx context.Context) (views.HomeView, error) {
	var v views.HomeView
	today := domain.Midnight(s.now())
	w := domain.Window{From: today.AddDate(0, 0, -(overviewDays - 1)), To: today}
	cur, err := s.deps.DORA.DORAReport(ctx, w, domain.DORAFilter{})
	if err != nil {
		return v, err
	}
	prev, err := s.deps.DORA.DORAReport(ctx, domain.PreviousWindow(w), domain.DORAFilter{})
	if err != nil {
		return v, err
	}
	v.HasDeliveries = cur.Deployments > 0 || prev.Deployments > 0
	cov, err := s.deps.DORA.Coverage(ctx)
	if err != nil {
		return v, err
	}
	v.CoverageNote = views.CoverageNote(cur, cov.From)
	doraHref := "/dora?" + url.Values{"from": {w.From.Format(domain.DateLayout)}, "to": {w.To.Format(domain.DateLayout)}}.Encode()
	for _, h := range domain.Headlines(cur, prev) {
		if h.Tier == nil && h.Metric.Tier == nil {
			continue // rework has no tier; it stays on the DORA page
		}
		v.Delivery = append(v.Delivery, views.Tile{Label: h.Metric.Title, Value: views.OptionalMetricText(h.Value, h.Metric.Unit), Tier: h.Tier, Rated: true,
			Change: h.Change, NoCompare: h.NoCompare, Unit: h.Metric.Unit, Href: doraHref, TestID: "tile-" + h.Metric.Key})
	}

	if v.Outcomes, err = s.outcomeTiles(ctx); err != nil {
		return v, err
	}

	streams, err := s.deps.ValueStreams.ValueStreams(ctx)
	if err != nil {
		return v, err
	}
	for i := range streams {
		if i == 4 {
			break
		}
		r, err := s.deps.ValueStreams.Flow(ctx, &streams[i], w, s.now())
		if err != nil {
			return v, err
		}
		// The constraint as the map names it, with the same sentence on why.
		t := views.Tile{Label: streams[i].Name + " — constraint", Value: "None stands out", Note: r.NoConstraint,
			Href: "/value-streams/" + strconv.FormatInt(streams[i].ID, 10), TestID: "tile-stream"}
		if c := r.Constraint; c != nil {
			t.Value, t.Note = c.Name, c.Reason
		}
		t.Foot = strconv.Itoa(r.Done) + " done in " + strconv.Itoa(overviewDays) + " days"
		if r.FlowTime.Median != nil {
			t.Foot += " · flow time " + domain.HumanSeconds(*r.FlowTime.Median)
		}
		v.Flow = append(v.Flow, t)
	}
	sts, err := s.sloStatuses(ctx)
	if err != nil {
		return v, err
	}
	v.SLO = views.Tile{Label: "Error budgets", Value: "No SLOs yet", Href: "/slos", TestID: "tile-slo", Foot: "posture per service appears once SLOs are declared"}
	if len(sts) > 0 {
		worst, counts := domain.PostureUnknown, map[domain.Posture]int{}
		for _, st := range sts {
			worst = domain.Worst(worst, st.Posture)
			counts[st.Posture]++
		}
		v.SLO.Value = worst.Label()
		var parts []string
		for _, p := range []domain.Posture{domain.PostureNormal, domain.PostureCaution, domain.PostureFreezeMinor, domain.PostureFreeze, domain.PostureUnknown} {
			if counts[p] > 0 {
				parts = append(parts, strconv.Itoa(counts[p])+" "+strings.ToLower(p.Label()))
			}
		}
		v.SLO.Foot = "worst of " + strconv.Itoa(len(sts)) + " SLOs: " + strings.Join(parts, " · ")
	}
	st, err := s.deps.Ingest.IngestStatus(ctx)
	if err != nil {
		return v, err
	}
	v.Ingest = views.Tile{Label: "Events stored", Value: views.FormatNumber(float64(st.Stored)), Href: "/settings/ingest", TestID: "tile-ingest",
		Foot: strconv.FormatInt(st.DeadLetters, 10) + " dead letters · " + strconv.FormatInt(st.Duplicates, 10) + " duplicates"}
	return v, nil
}
