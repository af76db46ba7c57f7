package web

import (
	"context"
	"encoding/binary"
	"hash/fnv"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/a-h/templ"
	"github.com/labstack/echo/v4"

	"github.com/throughline/throughline/domain"
	"github.com/throughline/throughline/web/views"
)

// The trends pages: a quarter at a glance for people who browse rather than
// configure. Everything here reads rollups (DORA daily rollups, telemetry
// daily rollups) and the stored flow signals; nothing scans raw events.

// maxCompareGroups bounds the small multiples: more than this many teams or
// services make a wall, not a comparison.
const maxCompareGroups = 12

// trendsQuery is the parsed query of the trends page.
type trendsQuery struct {
	w       domain.Window
	bucket  domain.Bucket
	compare string
	filter  domain.DORAFilter
	stream  *domain.ValueStream
	raw     views.TrendsQuery
}

func (s *Server) trendsQuery(c echo.Context) (trendsQuery, error) {
	var q trendsQuery
	// Default: the last two quarters, the current one to date and the one
	// before it.
	w, err := s.windowQueryFrom(c, func(to time.Time) time.Time { return domain.QuarterStart(to).AddDate(0, -3, 0) })
	if err != nil {
		return q, err
	}
	q.w = w
	switch b := c.QueryParam("bucket"); b {
	case "", "week":
		q.bucket = domain.BucketWeek
		if b == "" && w.Days() > 200 {
			q.bucket = domain.BucketMonth
		}
	case "month":
		q.bucket = domain.BucketMonth
	default:
		return q, domain.Errorf(domain.EINVALID, "bucket must be week or month, not %q.", b)
	}
	switch q.compare = c.QueryParam("compare"); q.compare {
	case "", "team", "service", "stream":
	default:
		return q, domain.Errorf(domain.EINVALID, "compare must be team, service or stream, not %q.", q.compare)
	}
	q.filter = domain.DORAFilter{Service: strings.TrimSpace(c.QueryParam("service")), Team: strings.TrimSpace(c.QueryParam("team"))}
	q.raw = views.TrendsQuery{From: w.From.Format(domain.DateLayout), To: w.To.Format(domain.DateLayout), Bucket: string(q.bucket),
		Compare: q.compare, Service: q.filter.Service, Team: q.filter.Team, Stream: strings.TrimSpace(c.QueryParam("stream"))}
	if q.raw.Stream != "" {
		id, err := strconv.ParseInt(q.raw.Stream, 10, 64)
		if err != nil {
			return q, domain.Errorf(domain.EINVALID, "stream must be a value stream's number, not %q.", q.raw.Stream)
		}
		v, err := s.deps.ValueStreams.ValueStream(c.Request().Context(), id)
		if err != nil {
			return q, err
		}
		q.stream = &v
	}
	return q, nil
}

// encode writes the query back as URL parameters, with changes.
func (q trendsQuery) encode(set ...string) url.Values {
	v := url.Values{}
	add := func(k, val string) {
		if val != "" {
			v.Set(k, val)
		}
	}
	add("from", q.raw.From)
	add("to", q.raw.To)
	add("bucket", q.raw.Bucket)
	add("compare", q.raw.Compare)
	add("service", q.raw.Service)
	add("team", q.raw.Team)
	add("stream", q.raw.Stream)
	for i := 0; i+1 < len(set); i += 2 {
		if set[i+1] == "" {
			v.Del(set[i])
		} else {
			v.Set(set[i], set[i+1])
		}
	}
	return v
}

// axis is the time axis every chart of the page shares: first to last
// period.
func (q trendsQuery) axis() (time.Time, time.Time) {
	b := q.w.Buckets(q.bucket)
	return b[0].BucketStart, b[len(b)-1].BucketStart
}

func (q trendsQuery) csvHref(table string) string {
	return "/trends.csv?" + q.encode("table", table).Encode()
}

// streamServices is the services a value stream covers: those it names and
// those of the teams it names. nil for a stream that covers everything.
func streamServices(v *domain.ValueStream, services []domain.Service) []string {
	if v.Everything() {
		return nil
	}
	teams := map[string]bool{}
	for _, t := range v.Teams {
		teams[t] = true
	}
	seen := map[string]bool{}
	var out []string
	for _, s := range v.Services {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	for _, s := range services {
		if teams[s.Team] && !seen[s.Name] {
			seen[s.Name] = true
			out = append(out, s.Name)
		}
	}
	sort.Strings(out)
	return out
}

// streamFilter narrows DORA to a value stream. ok is false for a stream
// whose teams own no service yet: it has no deployments.
func streamFilter(f domain.DORAFilter, v *domain.ValueStream, services []domain.Service) (domain.DORAFilter, bool) {
	if v == nil || v.Everything() {
		return f, true
	}
	f.Services = streamServices(v, services)
	return f, len(f.Services) > 0
}

func (s *Server) handleTrends(c echo.Context) error {
	q, err := s.trendsQuery(c)
	if err != nil {
		return err
	}
	version, err := s.trendsVersion(c.Request().Context())
	if err != nil {
		return err
	}
	return s.renderCached(c, version, func(p views.Page) templ.Component {
		v, err := s.trendsView(c.Request().Context(), q)
		if err != nil {
			return errorComponent(err)
		}
		return views.Trends(p, v)
	}, "Trends", "trends")
}

// trendsVersion names the data a trends page was drawn from: the DORA
// rollups and the ideas' flow (a deployment, an idea edit or a verdict show
// at once), and the minute, which bounds how long telemetry, objectives and
// value stream edits take to appear (a minute at most).
func (s *Server) trendsVersion(ctx context.Context) (int64, error) {
	dv, err := s.deps.DORA.DORAVersion(ctx)
	if err != nil {
		return 0, err
	}
	fv, err := s.deps.ValueStreams.FlowVersion(ctx)
	if err != nil {
		return 0, err
	}
	h := fnv.New64a()
	var buf [24]byte
	binary.LittleEndian.PutUint64(buf[0:], uint64(dv))
	binary.LittleEndian.PutUint64(buf[8:], uint64(fv))
	binary.LittleEndian.PutUint64(buf[16:], uint64(s.now().Unix()/60))
	h.Write(buf[:])
	return int64(h.Sum64()), nil
}

// handleTrendsCSV serves one table of the trends page as CSV.
func (s *Server) handleTrendsCSV(c echo.Context) error {
	q, err := s.trendsQuery(c)
	if err != nil {
		return err
	}
	id := c.QueryParam("table")
	if id == "" {
		return domain.Errorf(domain.EINVALID, "Name the table to download (table=…).")
	}
	v, err := s.trendsView(c.Request().Context(), q)
	if err != nil {
		return err
	}
	for _, t := range v.Tables() {
		if t.ID == id {
			return writeCSV(c, "throughline-"+id+"-"+q.raw.From+"-"+q.raw.To+".csv", t)
		}
	}
	return domain.Errorf(domain.ENOTFOUND, "The trends page has no table %q for this query.", id)
}

// trendsView gathers the whole page.
func (s *Server) trendsView(ctx context.Context, q trendsQuery) (views.TrendsView, error) {
	v := views.TrendsView{Query: q.raw, HasSLOs: false}
	services, err := s.deps.DORA.Services(ctx)
	if err != nil {
		return v, err
	}
	for _, sv := range services {
		v.Services = append(v.Services, sv.Name)
	}
	if v.Teams, err = s.deps.DORA.Teams(ctx); err != nil {
		return v, err
	}
	streams, err := s.deps.ValueStreams.ValueStreams(ctx)
	if err != nil {
		return v, err
	}
	for _, st := range streams {
		v.Streams = append(v.Streams, views.Option{Value: strconv.FormatInt(st.ID, 10), Label: st.Name})
	}
	s.trendsPresets(q, &v)
	prev := domain.PreviousWindow(q.w)
	v.Period = dayRange(q.w)
	v.Previous = dayRange(prev)
	v.Scope = trendsScope(q)
	v.PrintTitle = "Throughline trends — " + v.Scope + ", " + v.Period
	doraQ := url.Values{"from": {q.raw.From}, "to": {q.raw.To}}
	if q.filter.Service != "" {
		doraQ.Set("service", q.filter.Service)
	}
	if q.filter.Team != "" {
		doraQ.Set("team", q.filter.Team)
	}
	v.DORAHref = "/dora?" + doraQ.Encode()

	f, ok := streamFilter(q.filter, q.stream, services)
	var cur domain.DORAReport
	if v.Metrics, cur, err = s.doraTrends(ctx, q, f, ok); err != nil {
		return v, err
	}
	cov, err := s.deps.DORA.Coverage(ctx)
	if err != nil {
		return v, err
	}
	cur.Window, cur.CoveredDays = q.w, cov.Days(q.w) // the report is empty when the filter matches nothing
	v.CoverageNote = views.CoverageNote(cur, cov.From)
	if q.compare != "" {
		if v.Compare, err = s.compareTrends(ctx, q, services, v.Teams, streams); err != nil {
			return v, err
		}
	}
	if v.Outcomes, err = s.outcomeTrends(ctx, q); err != nil {
		return v, err
	}
	chosen := streams
	if q.stream != nil {
		chosen = []domain.ValueStream{*q.stream}
	}
	if v.Flow, err = s.flowTrends(ctx, q, chosen); err != nil {
		return v, err
	}
	if v.Reliability, v.HasSLOs, err = s.reliabilityTrends(ctx, q, f, services); err != nil {
		return v, err
	}
	return v, nil
}

// reliabilityTrends draws each SLO's error budget at the end of every day
// of the range, for the services the page covers.
func (s *Server) reliabilityTrends(ctx context.Context, q trendsQuery, f domain.DORAFilter, services []domain.Service) ([]views.ReliabilityTrend, bool, error) {
	if s.deps.SLOs == nil {
		return nil, false, nil
	}
	slos, err := s.deps.SLOs.SLOs(ctx)
	if err != nil || len(slos) == 0 {
		return nil, false, err
	}
	teamOf := map[string]string{}
	for _, sv := range services {
		teamOf[sv.Name] = sv.Team
	}
	var out []views.ReliabilityTrend
	for _, slo := range slos {
		switch {
		case f.Service != "" && slo.Service != f.Service,
			f.Team != "" && teamOf[slo.Service] != f.Team,
			len(f.Services) > 0 && !slices.Contains(f.Services, slo.Service):
			continue
		}
		hist, err := s.budgetHistory(ctx, slo, q.w)
		if err != nil {
			return nil, true, err
		}
		id := "slo-" + strconv.FormatInt(slo.ID, 10)
		chart := budgetChart(slo, q.w, hist)
		chart.CSV = q.csvHref(id)
		t := views.ReliabilityTrend{Service: slo.Service, Title: slo.Title(), Href: "/slos/" + strconv.FormatInt(slo.ID, 10), Chart: chart,
			Table: views.Table{ID: id, Title: chart.Title, CSV: chart.CSV, Columns: []views.Column{
				{Head: "day", Kind: views.KindDate},
				// A fraction of the budget: below 0 once overspent.
				{Head: "budget remaining (1 = all of it)", Kind: views.KindRate},
				{Head: "posture", Kind: views.KindText}}}}
		for _, p := range hist {
			if p.Remaining != nil {
				t.Table.Rows = append(t.Table.Rows, views.Row{Cells: []views.Cell{views.TimeCell(p.Day), views.NumberCell(p.Remaining), views.TextCell(string(p.Posture))}})
				t.Posture = p.Posture // the last day with data
			}
		}
		out = append(out, t)
	}
	charts := make([]*views.LineChart, len(out))
	for i := range out {
		charts[i] = &out[i].Chart
	}
	views.ShareY(charts...) // side by side, one scale
	return out, true, nil
}

func dayRange(w domain.Window) string {
	if w.From.Year() == w.To.Year() {
		return w.From.Format("2 Jan") + " – " + w.To.Format("2 Jan 2006")
	}
	return w.From.Format("2 Jan 2006") + " – " + w.To.Format("2 Jan 2006")
}

func trendsScope(q trendsQuery) string {
	var parts []string
	if q.stream != nil {
		parts = append(parts, "value stream "+q.stream.Name)
	}
	if q.filter.Team != "" {
		parts = append(parts, "team "+q.filter.Team)
	}
	if q.filter.Service != "" {
		parts = append(parts, "service "+q.filter.Service)
	}
	if len(parts) == 0 {
		return "All services"
	}
	s := strings.Join(parts, ", ")
	return strings.ToUpper(s[:1]) + s[1:]
}

func (s *Server) trendsPresets(q trendsQuery, v *views.TrendsView) {
	today := domain.Midnight(s.now())
	qs := domain.QuarterStart(today)
	for _, p := range []struct {
		label string
		from  time.Time
	}{
		{"This quarter", qs},
		{"Last two quarters", qs.AddDate(0, -3, 0)},
		{"Last four quarters", qs.AddDate(0, -9, 0)},
		{"Two years", today.AddDate(-2, 0, 1)},
	} {
		from := p.from.Format(domain.DateLayout)
		to := today.Format(domain.DateLayout)
		v.Presets = append(v.Presets, views.Preset{Label: p.label, Href: "/trends?" + q.encode("from", from, "to", to, "bucket", "").Encode(),
			Current: q.raw.From == from && q.raw.To == to})
	}
}

// metricPoints turns a trend into chart points; a period without a value
// is a gap in the line.
func metricPoints(m domain.TrendMetric, trend []domain.DORAReport) []views.TimePoint {
	var pts []views.TimePoint
	for _, r := range trend {
		pts = append(pts, views.OptionalPoint(r.Window.BucketStart, m.Value(r)))
	}
	return pts
}

// scaled is v times k, or nil without a value.
func scaled(v *float64, k float64) *float64 {
	if v == nil {
		return nil
	}
	x := *v * k
	return &x
}

func tierBands(m domain.TrendMetric) []views.Band {
	var out []views.Band
	for _, b := range m.Bands {
		out = append(out, views.Band{Label: string(b.Tier), From: b.From, To: b.To, Class: "band-" + string(b.Tier)})
	}
	return out
}

func metricValueText(m domain.TrendMetric, val *float64) string {
	if val == nil {
		return "—"
	}
	return views.MetricText(*val, m.Unit)
}

func (s *Server) doraTrends(ctx context.Context, q trendsQuery, f domain.DORAFilter, ok bool) ([]views.MetricTrend, domain.DORAReport, error) {
	var trend []domain.DORAReport
	var cur, prev domain.DORAReport
	if ok {
		var err error
		if trend, err = s.deps.DORA.DORATrend(ctx, q.w, q.bucket, f); err != nil {
			return nil, cur, err
		}
		if cur, err = s.deps.DORA.DORAReport(ctx, q.w, f); err != nil {
			return nil, cur, err
		}
		if prev, err = s.deps.DORA.DORAReport(ctx, domain.PreviousWindow(q.w), f); err != nil {
			return nil, cur, err
		}
	}
	var out []views.MetricTrend
	for _, h := range domain.Headlines(cur, prev) {
		m := h.Metric
		t := views.MetricTrend{Key: m.Key, Title: m.Title, Unit: m.Unit, Rated: m.Tier != nil,
			Value: views.OptionalMetricText(h.Value, m.Unit), Tier: h.Tier, Change: h.Change, NoCompare: h.NoCompare}
		id := "dora-" + m.Key
		t.Chart = views.LineChart{Title: m.Title + " by " + string(q.bucket) + " — " + m.Unit, Points: metricPoints(m, trend),
			Bands: tierBands(m), CSV: q.csvHref(id)}
		t.Chart.XFrom, t.Chart.XTo = q.axis()
		t.Table = trendTable(id, t.Chart.Title, m, trend, q.bucket)
		out = append(out, t)
	}
	return out, cur, nil
}

// trendTable lists a metric per period with the counts behind it: its raw
// value, as the JSON API gives it (seconds, rates from 0 to 1).
func trendTable(id, title string, m domain.TrendMetric, trend []domain.DORAReport, b domain.Bucket) views.Table {
	t := views.Table{ID: id, Title: title, Columns: []views.Column{
		{Head: string(b) + " starting", Kind: views.KindDate},
		{Head: "from", Kind: views.KindDate},
		{Head: "to", Kind: views.KindDate},
		metricColumn(m.Key+" ("+views.DORAMetricUnit(m.Key)+")", m),
		{Head: "tier", Kind: views.KindText},
		{Head: "deployments", Kind: views.KindCount, Class: "num"},
		{Head: "covered days", Kind: views.KindCount, Class: "num"},
	}}
	for _, r := range trend {
		tier := ""
		if m.Tier != nil {
			if tr := m.Tier(r); tr != nil {
				tier = string(*tr)
			}
		}
		t.Rows = append(t.Rows, views.Row{Cells: []views.Cell{views.TimeCell(r.Window.BucketStart), views.TimeCell(r.Window.From),
			views.TimeCell(r.Window.To), views.DORAMetricCell(m, r), views.TextCell(tier), views.CountCell(r.Deployments), views.CountCell(r.CoveredDays)}})
	}
	return t
}

// metricColumn is a column of a DORA metric's raw values.
func metricColumn(head string, m domain.TrendMetric) views.Column {
	return views.Column{Head: head, Kind: views.DORAMetricKind(m.Key), Class: "num"}
}

// compareTrends draws every metric for each team, service or value stream.
func (s *Server) compareTrends(ctx context.Context, q trendsQuery, services []domain.Service, teams []string, streams []domain.ValueStream) (*views.CompareView, error) {
	type group struct {
		name   string
		filter domain.DORAFilter
		ok     bool
		href   string
	}
	var groups []group
	switch q.compare {
	case "team":
		for _, t := range teams {
			groups = append(groups, group{t, domain.DORAFilter{Team: t}, true, "/trends?" + q.encode("team", t, "compare", "").Encode()})
		}
	case "service":
		for _, sv := range services {
			if q.filter.Team != "" && sv.Team != q.filter.Team {
				continue
			}
			groups = append(groups, group{sv.Name, domain.DORAFilter{Service: sv.Name}, true, "/trends?" + q.encode("service", sv.Name, "compare", "").Encode()})
		}
	case "stream":
		for i := range streams {
			f, ok := streamFilter(domain.DORAFilter{}, &streams[i], services)
			groups = append(groups, group{streams[i].Name, f, ok, "/trends?" + q.encode("stream", strconv.FormatInt(streams[i].ID, 10), "compare", "").Encode()})
		}
	}
	cv := &views.CompareView{By: q.compare}
	if len(groups) > maxCompareGroups {
		cv.Omitted = len(groups) - maxCompareGroups
		groups = groups[:maxCompareGroups]
	}
	trends := make([][]domain.DORAReport, len(groups))
	totals := make([]domain.DORAReport, len(groups))
	for i, g := range groups {
		cv.Groups = append(cv.Groups, g.name)
		if !g.ok {
			continue
		}
		var err error
		if trends[i], err = s.deps.DORA.DORATrend(ctx, q.w, q.bucket, g.filter); err != nil {
			return nil, err
		}
		if totals[i], err = s.deps.DORA.DORAReport(ctx, q.w, g.filter); err != nil {
			return nil, err
		}
	}
	for _, m := range domain.TrendMetrics() {
		id := "compare-" + q.compare + "-" + m.Key
		cm := views.CompareMetric{Key: m.Key, Title: m.Title + " — " + m.Unit}
		cm.Table = views.Table{ID: id, Title: cm.Title + " by " + q.compare, CSV: q.csvHref(id),
			Columns: []views.Column{{Head: string(q.bucket) + " starting", Kind: views.KindDate}}}
		for _, g := range cv.Groups {
			cm.Table.Columns = append(cm.Table.Columns, metricColumn(g, m))
		}
		periods := q.w.Buckets(q.bucket)
		rows := make([]views.Row, len(periods))
		for p, pw := range periods {
			rows[p].Cells = []views.Cell{views.TimeCell(pw.BucketStart)}
		}
		for i, g := range groups {
			cell := views.CompareCell{Group: g.name, Href: g.href, Rated: m.Tier != nil}
			val := m.Value(totals[i])
			if !g.ok {
				val = nil
			}
			cell.Value = metricValueText(m, val)
			if m.Tier != nil && g.ok {
				cell.Tier = m.Tier(totals[i])
			}
			cell.Chart = views.LineChart{Title: m.Title + " — " + g.name, Points: metricPoints(m, trends[i]), Bands: tierBands(m), Small: true}
			cell.Chart.XFrom, cell.Chart.XTo = q.axis()
			cm.Cells = append(cm.Cells, cell)
			for p := range rows {
				var val views.Cell
				if p < len(trends[i]) {
					val = views.DORAMetricCell(m, trends[i][p])
				}
				rows[p].Cells = append(rows[p].Cells, val)
			}
		}
		cm.Table.Rows = rows
		charts := make([]*views.LineChart, len(cm.Cells))
		for i := range cm.Cells {
			charts[i] = &cm.Cells[i].Chart
		}
		views.ShareY(charts...) // small multiples share one scale
		cv.Metrics = append(cv.Metrics, cm)
	}
	return cv, nil
}

// outcomeTrends is key-result progress per objective, verdicts per quarter
// and the ideas in production still waiting for one.
func (s *Server) outcomeTrends(ctx context.Context, q trendsQuery) (views.OutcomeTrends, error) {
	var o views.OutcomeTrends
	objectives, err := s.deps.Roadmap.Objectives(ctx)
	if err != nil {
		return o, err
	}
	krs, err := s.deps.Roadmap.KeyResults(ctx)
	if err != nil {
		return o, err
	}
	periods := q.w.Buckets(q.bucket)
	// The headline is the key result's current value (the figure every page
	// shows) at the end of the window, or now when the window reaches today.
	at := s.now()
	if end := q.w.End(); end.Before(at) {
		at = end
	}
	for _, obj := range objectives {
		ot := views.ObjectiveTrend{Title: obj.Title}
		for _, kr := range krs {
			if kr.ObjectiveID != obj.ID {
				continue
			}
			daily, err := s.deps.Roadmap.MetricDaily(ctx, kr.Metric, kr.Attributes, q.w.From, q.w.End())
			if err != nil {
				return o, err
			}
			series := domain.KRProgressSeries(kr, daily, periods)
			id := "kr-" + strconv.FormatInt(kr.ID, 10)
			kt := views.KRTrend{ID: kr.ID, Title: kr.Title, Bucket: string(q.bucket)}
			if kt.Reading, err = s.readKeyResult(ctx, kr, at); err != nil {
				return o, err
			}
			kt.Chart = views.LineChart{Title: kr.Title + " — progress per " + string(q.bucket) + ", from the " + string(q.bucket) + "'s mean (%)", CSV: q.csvHref(id),
				Refs: []views.RefLine{{Label: "target", Value: 100, Class: "ref-target"}, {Label: "baseline", Value: 0, Class: "ref-baseline"}}}
			kt.Chart.XFrom, kt.Chart.XTo = q.axis()
			kt.Table = views.Table{ID: id, Title: kt.Chart.Title, CSV: kt.Chart.CSV, Columns: []views.Column{
				{Head: string(q.bucket) + " starting", Kind: views.KindDate},
				{Head: "days with data", Kind: views.KindCount},
				{Head: kr.Metric + " (mean of the " + string(q.bucket) + "'s daily means)", Kind: views.KindNumber},
				{Head: "progress over the " + string(q.bucket) + " (1 = target)", Kind: views.KindNumber}}}
			for _, p := range series {
				kt.Chart.Points = append(kt.Chart.Points, views.OptionalPoint(p.Window.BucketStart, scaled(p.Progress, 100)))
				progress := views.NumberCell(p.Progress)
				progress.Show = views.ProgressText(p.Progress)
				kt.Table.Rows = append(kt.Table.Rows, views.Row{Cells: []views.Cell{views.TimeCell(p.Window.BucketStart), views.CountCell(p.Days),
					views.NumberCell(p.Mean), progress}})
			}
			ot.KeyResults = append(ot.KeyResults, kt)
		}
		o.Objectives = append(o.Objectives, ot)
	}
	var krCharts []*views.LineChart // all progress charts share one scale
	for i := range o.Objectives {
		for j := range o.Objectives[i].KeyResults {
			krCharts = append(krCharts, &o.Objectives[i].KeyResults[j].Chart)
		}
	}
	views.ShareY(krCharts...)

	ideas, err := s.deps.Roadmap.Ideas(ctx, domain.IdeaFilter{})
	if err != nil {
		return o, err
	}
	list := make([]domain.Idea, 0, len(ideas))
	keys := make([]string, 0, len(ideas))
	for _, i := range ideas {
		if q.filter.Team != "" && i.Team != q.filter.Team {
			continue
		}
		list = append(list, *i)
		keys = append(keys, i.Key)
	}
	items, err := s.deps.Roadmap.IdeaFlow(ctx, keys)
	if err != nil {
		return o, err
	}
	quarters := q.w.Quarters()
	shares := domain.VerdictShares(list, items, quarters)
	o.Verdicts = views.StackedBars{Title: "Ideas shipped per quarter, by verdict", CSV: q.csvHref("verdicts"), Series: []views.BarSeries{
		{Name: "validated", Class: "verdict-validated"}, {Name: "invalidated", Class: "verdict-invalidated"},
		{Name: "inconclusive", Class: "verdict-inconclusive"}, {Name: "no verdict yet", Class: "verdict-awaiting"}}}
	o.VerdictTable = views.Table{ID: "verdicts", Title: o.Verdicts.Title, CSV: o.Verdicts.CSV, Columns: []views.Column{
		{Head: "quarter starting", Kind: views.KindDate},
		{Head: "shipped", Kind: views.KindCount},
		{Head: "validated", Kind: views.KindCount},
		{Head: "invalidated", Kind: views.KindCount},
		{Head: "inconclusive", Kind: views.KindCount},
		{Head: "no verdict yet", Kind: views.KindCount},
		{Head: "validated share", Kind: views.KindRate}}}
	for _, sh := range shares {
		label := domain.QuarterLabel(sh.Window.BucketStart)
		o.Verdicts.Labels = append(o.Verdicts.Labels, label)
		for i, n := range []int{sh.Validated, sh.Invalidated, sh.Inconclusive, sh.Awaiting} {
			o.Verdicts.Series[i].Values = append(o.Verdicts.Series[i].Values, float64(n))
		}
		quarter := views.TimeCell(sh.Window.BucketStart)
		quarter.Show = label
		o.VerdictTable.Rows = append(o.VerdictTable.Rows, views.Row{Cells: []views.Cell{quarter, views.CountCell(sh.Shipped), views.CountCell(sh.Validated),
			views.CountCell(sh.Invalidated), views.CountCell(sh.Inconclusive), views.CountCell(sh.Awaiting), views.NumberCell(sh.Share(sh.Validated))}})
	}
	o.Awaiting = domain.IdeasAwaitingVerdict(list, items, s.now())
	o.AwaitingTable = views.Table{ID: "awaiting", Title: "Ideas in production without a verdict", CSV: q.csvHref("awaiting"), Columns: []views.Column{
		{Head: "idea", Kind: views.KindText},
		{Head: "title", Kind: views.KindText},
		{Head: "team", Kind: views.KindText},
		{Head: "in production since", Kind: views.KindDate},
		{Head: "days", Kind: views.KindCount},
		{Head: "key result", Kind: views.KindText}}}
	for _, a := range o.Awaiting {
		kr := "yes"
		if !a.HasKeyResult {
			kr = "no"
		}
		o.AwaitingTable.Rows = append(o.AwaitingTable.Rows, views.Row{Cells: []views.Cell{views.TextCell(a.Idea.Key), views.TextCell(a.Idea.Title),
			views.TextCell(a.Idea.Team), views.TimeCell(a.Shipped), views.CountCell(a.Days), views.TextCell(kr)}})
	}
	o.AwaitingWithoutKR = domain.WithoutKeyResult(o.Awaiting)
	return o, nil
}

// flowTrends measures each value stream month by month.
func (s *Server) flowTrends(ctx context.Context, q trendsQuery, streams []domain.ValueStream) (views.FlowTrends, error) {
	var ft views.FlowTrends
	months := q.w.Buckets(domain.BucketMonth)
	for _, m := range months {
		ft.Months = append(ft.Months, m.BucketStart.Format("Jan 2006"))
	}
	ft.Table = views.Table{ID: "flow", Title: "Flow per value stream per month", CSV: q.csvHref("flow"),
		Columns: append([]views.Column{{Head: "value stream", Kind: views.KindText}}, flowColumns()...)}
	now := s.now()
	cov, err := s.deps.DORA.Coverage(ctx)
	if err != nil {
		return ft, err
	}
	types := domain.FlowTypes
	for i := range streams {
		st := &streams[i]
		href := "/value-streams/" + strconv.FormatInt(st.ID, 10)
		id := "flow-" + strconv.FormatInt(st.ID, 10)
		tr := views.StreamTrend{Name: st.Name, Href: href}
		tr.Done = views.StackedBars{Title: st.Name + " — items finished per month, by type", CSV: q.csvHref(id)}
		for _, t := range types {
			tr.Done.Series = append(tr.Done.Series, views.BarSeries{Name: string(t), Class: "bar-" + string(t)})
		}
		tr.FlowTime = views.LineChart{Title: st.Name + " — median flow time per month (days)",
			XFrom: months[0].BucketStart, XTo: months[len(months)-1].BucketStart}
		tr.Table = views.Table{ID: id, Title: st.Name + " — flow per month", CSV: tr.Done.CSV, Columns: flowColumns()}
		row := views.ConstraintRow{Stream: st.Name, Href: href}
		for mi, m := range months {
			r, err := s.deps.ValueStreams.Flow(ctx, st, m, now)
			if err != nil {
				return ft, err
			}
			label := ft.Months[mi]
			tr.Done.Labels = append(tr.Done.Labels, label)
			// A month Throughline has no delivery data for is no data, not
			// a month in which nothing finished.
			tr.Done.NoData = append(tr.Done.NoData, cov.Days(m) == 0)
			for ti, t := range types {
				tr.Done.Series[ti].Values = append(tr.Done.Series[ti].Values, float64(r.Distribution[t]))
			}
			flowDays := scaled(r.FlowTime.Median, 1.0/86400)
			tr.FlowTime.Points = append(tr.FlowTime.Points, views.OptionalPoint(m.BucketStart, flowDays))
			// The map's constraint and its sentence, month by month; a month
			// where nothing passed through any stage is a gap, not "none".
			cell := views.ConstraintCell{Title: label + ": " + r.NoConstraint}
			constraint, why := "", r.NoConstraint
			if stageTimesMeasured(r) {
				cell.None, cell.Title, constraint = true, label+": no constraint stands out. "+r.NoConstraint, "none"
			}
			if c := r.Constraint; c != nil {
				constraint, why = c.Name, c.Reason
				cell = views.ConstraintCell{Stage: c.Name, Class: "stage-" + strconv.Itoa(c.Stage%8), Title: label + ": " + c.Name + ". " + c.Reason}
			}
			row.Cells = append(row.Cells, cell)
			month := views.TimeCell(m.BucketStart)
			month.Show = label
			count := views.CountCell
			if cov.Days(m) == 0 {
				count = func(int) views.Cell { return views.Cell{} } // no data: empty, not 0
			}
			cells := []views.Cell{month, count(r.Done)}
			for _, t := range types {
				cells = append(cells, count(r.Distribution[t]))
			}
			cells = append(cells, views.NumberCell(r.FlowTime.Median), views.NumberCell(r.Efficiency), views.TextCell(constraint), views.TextCell(why))
			tr.Table.Rows = append(tr.Table.Rows, views.Row{Cells: cells})
			ft.Table.Rows = append(ft.Table.Rows, views.Row{Cells: append([]views.Cell{views.TextCell(st.Name)}, cells...)})
		}
		ft.Streams = append(ft.Streams, tr)
		ft.Constraints = append(ft.Constraints, row)
	}
	// The streams' panels share their scales.
	done := make([]*views.StackedBars, len(ft.Streams))
	flowTimes := make([]*views.LineChart, len(ft.Streams))
	for i := range ft.Streams {
		done[i], flowTimes[i] = &ft.Streams[i].Done, &ft.Streams[i].FlowTime
	}
	views.ShareBarsY(done...)
	views.ShareY(flowTimes...)
	return ft, nil
}

// stageTimesMeasured reports whether any item passed through a stage in
// the report's window: without that there is no evidence either way.
func stageTimesMeasured(r domain.FlowReport) bool {
	for _, st := range r.Stages {
		if st.TimeInStage.Items > 0 {
			return true
		}
	}
	return false
}

// flowColumns are a stream's flow figures for a month: counts of items,
// flow time in seconds, efficiency from 0 to 1.
func flowColumns() []views.Column {
	cols := []views.Column{{Head: "month", CSVHead: "month starting", Kind: views.KindDate}, {Head: "velocity (items done)", Kind: views.KindCount, Class: "num"}}
	for _, t := range domain.FlowTypes {
		cols = append(cols, views.Column{Head: string(t), Kind: views.KindCount, Class: "num"})
	}
	return append(cols,
		views.Column{Head: "median flow time", CSVHead: "median flow time (s)", Kind: views.KindDuration, Class: "num"},
		views.Column{Head: "flow efficiency", CSVHead: "flow efficiency (0–1)", Kind: views.KindRate, Class: "num"},
		views.Column{Head: "constraint", Kind: views.KindText},
		views.Column{Head: "constraint: why", Kind: views.KindText, Class: "small"})
}
