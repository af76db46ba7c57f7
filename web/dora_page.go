package web

import (
	"context"
	"io"
	"net/url"
	"strings"

	"github.com/a-h/templ"
	"github.com/labstack/echo/v4"

	"github.com/throughline/throughline/domain"
	"github.com/throughline/throughline/web/views"
)

// pageRows bounds the drill-down tables on the page (the API has more).
const pageRows = 100

func (s *Server) handleDORA(c echo.Context) error {
	w, f, err := s.doraQuery(c)
	if err != nil {
		return err
	}
	if id := csvRequested(c); id != "" {
		v, _, err := s.doraView(c, w, f)
		if err != nil {
			return err
		}
		return servePageTable(c, id, v.Tables.All()...)
	}
	ctx := c.Request().Context()
	version, err := s.deps.DORA.DORAVersion(ctx)
	if err != nil {
		return err
	}
	return s.renderCached(c, version, func(p views.Page) templ.Component {
		v, empty, err := s.doraView(c, w, f)
		switch {
		case err != nil:
			return errorComponent(err)
		case empty:
			return views.Section(p, views.SectionView{
				Title:       "DORA metrics",
				Description: "Deployment frequency, lead time, change failure rate, recovery time and rework, per service and team.",
				EmptyTitle:  "No production deployments yet",
				EmptyBody:   "The metrics appear once CDEvents for changes, artifacts and production deployments arrive. Run throughline demo to see a realistic history.",
			})
		}
		return views.DORA(p, v)
	}, "DORA", "dora")
}

// doraView gathers what the DORA page shows; empty reports that nothing
// has been deployed anywhere yet.
func (s *Server) doraView(c echo.Context, w domain.Window, f domain.DORAFilter) (views.DORAView, bool, error) {
	ctx := c.Request().Context()
	report, err := s.deps.DORA.DORAReport(ctx, w, f)
	if err != nil {
		return views.DORAView{}, false, err
	}
	trend, err := s.deps.DORA.DORATrend(ctx, w, domain.BucketWeek, f)
	if err != nil {
		return views.DORAView{}, false, err
	}
	showAll := c.QueryParam("show") == "all"
	shown, err := s.deps.DORA.DeploymentsIn(ctx, w, f, !showAll, pageRows)
	if err != nil {
		return views.DORAView{}, false, err
	}
	incidents, err := s.deps.DORA.IncidentsIn(ctx, w, f, pageRows)
	if err != nil {
		return views.DORAView{}, false, err
	}
	reviews, err := s.reviewsOf(ctx, incidents)
	if err != nil {
		return views.DORAView{}, false, err
	}
	services, err := s.deps.DORA.Services(ctx)
	if err != nil {
		return views.DORAView{}, false, err
	}
	cov, err := s.deps.DORA.Coverage(ctx)
	if err != nil {
		return views.DORAView{}, false, err
	}
	teams, err := s.deps.DORA.Teams(ctx)
	if err != nil {
		return views.DORAView{}, false, err
	}
	total := report.Failed
	if showAll {
		total = report.Deployments
	}
	withShow := func(show string) string {
		q := c.Request().URL.Query()
		q.Del("show")
		if show != "" {
			q.Set("show", show)
		}
		return "/dora?" + q.Encode() + "#deployments"
	}
	v := views.DORAView{
		Query:            views.DORAQuery{From: w.From.Format(domain.DateLayout), To: w.To.Format(domain.DateLayout), Service: f.Service, Team: f.Team},
		Teams:            teams,
		Report:           report,
		Trend:            trend,
		Deployments:      shown,
		DeploymentsTotal: total,
		FailedCount:      report.Failed,
		AllCount:         report.Deployments,
		ShowAll:          showAll,
		ShowFailedHref:   withShow(""),
		ShowAllHref:      withShow("all"),
		Incidents:        incidents,
		Reviews:          reviews,
		ReturnTo:         c.Request().URL.RequestURI(),
		CoverageFrom:     cov.From,
	}
	for _, sv := range services {
		v.Services = append(v.Services, sv.Name)
	}
	today := domain.Midnight(s.now())
	for _, p := range []struct {
		label string
		days  int
	}{{"30 days", 30}, {"90 days", 90}, {"6 months", 182}, {"1 year", 365}} {
		from := today.AddDate(0, 0, -(p.days - 1))
		q := url.Values{"from": {from.Format(domain.DateLayout)}, "to": {today.Format(domain.DateLayout)}}
		if f.Service != "" {
			q.Set("service", f.Service)
		}
		if f.Team != "" {
			q.Set("team", f.Team)
		}
		v.Presets = append(v.Presets, views.Preset{Label: p.label, Href: "/dora?" + q.Encode(),
			Current: w.To.Equal(today) && w.From.Equal(from)})
	}
	v.QuickCheck = domain.QuickCheckOf(report)
	v.Tables = views.NewDORATables(v)
	return v, report.Deployments == 0 && len(services) == 0, nil
}

// errorComponent turns an error met while rendering into a failing component,
// so that the error handler answers instead.
func errorComponent(err error) templ.Component {
	return templ.ComponentFunc(func(context.Context, io.Writer) error { return err })
}

// handleOverride records an editor's verdict from the DORA page.
func (s *Server) handleOverride(c echo.Context) error {
	back := safeNext(c.FormValue("return"))
	if !strings.HasPrefix(back, "/dora") {
		back = "/dora"
	}
	id := domain.Identity{Source: c.FormValue("source"), ID: c.FormValue("id")}
	ctx := c.Request().Context()
	var err error
	switch c.FormValue("verdict") {
	case "failed":
		err = s.deps.DORA.SetOverride(ctx, id, true, c.FormValue("reason"), actor(c), splitComma(c.FormValue("incidents")))
	case "ok":
		err = s.deps.DORA.SetOverride(ctx, id, false, c.FormValue("reason"), actor(c), splitComma(c.FormValue("incidents")))
	case "clear":
		err = s.deps.DORA.ClearOverride(ctx, id, actor(c))
	default:
		err = domain.Errorf(domain.EINVALID, "Choose failed, not failed, or let the rules decide.")
	}
	if err != nil {
		if code := domain.ErrorCode(err); code == domain.EINVALID || code == domain.ENOTFOUND {
			return s.redirectWithFlash(c, back, "error", domain.ErrorMessage(err))
		}
		return err
	}
	return s.redirectWithFlash(c, back, "success", "Verdict saved for "+id.ID+"; the metrics include it now.")
}
