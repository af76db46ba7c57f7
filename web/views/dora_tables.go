package views

import (
	"net/url"
	"strconv"

	"github.com/a-h/templ"

	"github.com/throughline/throughline/domain"
)

// DORATables are the DORA page's tables.
type DORATables struct {
	Weekly, Deployments, Incidents, Clusters Table
}

// All lists them for ?csv=<id>.
func (t DORATables) All() []Table { return []Table{t.Weekly, t.Deployments, t.Incidents, t.Clusters} }

// NewDORATables builds the DORA page's tables from its view.
func NewDORATables(v DORAView) DORATables {
	return DORATables{Weekly: doraWeeklyTable(v.Trend), Deployments: doraDeploymentsTable(v), Incidents: doraIncidentsTable(v.Incidents, v.Reviews),
		Clusters: clustersTable(v.Report)}
}

// clustersTable sets the window's figures beside the 2024 report's four
// performance clusters.
func clustersTable(r domain.DORAReport) Table {
	t := Table{ID: "clusters-2024", Title: "2024 performance clusters", TestID: "clusters-2024", Columns: []Column{
		{Head: "Profile", Kind: KindText}, {Head: "Share of respondents (2024)", Kind: KindText},
		{Head: "Deployment frequency", Kind: KindText}, {Head: "Lead time for changes", Kind: KindText},
		{Head: "Change failure rate", Kind: KindText}, {Head: "Failed deployment recovery time", Kind: KindText}}}
	t.Rows = append(t.Rows, Row{TestID: "clusters-you", Cells: []Cell{TextCell("This window"), TextCell(""),
		TextCell(doraValue("deployment_frequency", r)), TextCell(doraValue("lead_time", r)),
		TextCell(doraValue("change_failure_rate", r)), TextCell(doraValue("recovery_time", r))}})
	for _, c := range domain.Clusters2024() {
		t.Rows = append(t.Rows, Row{Cells: []Cell{TextCell(c.Name + " (2024)"), TextCell(c.Share), TextCell(c.DeploymentFrequency),
			TextCell(c.LeadTime), TextCell(c.ChangeFailureRate), TextCell(c.RecoveryTime)}})
	}
	return t
}

// quickCheckText writes a 0–10 score with one decimal, "—" without one.
func quickCheckText(p *float64) string {
	if p == nil {
		return "—"
	}
	return strconv.FormatFloat(*p, 'f', 1, 64)
}

// DORAMetricKind is how a DORA metric's raw value is kept: per day as a
// number, lead and recovery times in seconds, rates from 0 to 1 (as the
// JSON API gives them).
func DORAMetricKind(key string) Kind {
	switch key {
	case "lead_time", "recovery_time":
		return KindDuration
	case "change_failure_rate", "rework_rate":
		return KindRate
	}
	return KindNumber
}

// DORAMetricUnit names the unit of a metric's raw value in a CSV head.
func DORAMetricUnit(key string) string {
	switch DORAMetricKind(key) {
	case KindDuration:
		return "s"
	case KindRate:
		return "0–1"
	}
	return "per day"
}

// DORAMetricCell is a metric of a report: the raw value for the CSV, the
// metric in its display unit on the page.
func DORAMetricCell(m domain.TrendMetric, r domain.DORAReport) Cell {
	var raw *float64
	switch m.Key {
	case "deployment_frequency":
		raw = r.PerDay
	case "lead_time":
		raw = r.LeadMedian
	case "change_failure_rate":
		raw = r.FailureRate
	case "recovery_time":
		raw = r.RecoveryMedian
	case "rework_rate":
		raw = r.ReworkRate
	}
	c := NumberCell(raw)
	c.Show = OptionalMetricText(m.Value(r), m.Unit)
	return c
}

func doraMetric(key string, r domain.DORAReport) Cell {
	m, _ := domain.TrendMetricByKey(key)
	return DORAMetricCell(m, r)
}

func doraWeeklyTable(trend []domain.DORAReport) Table {
	t := Table{ID: "weekly", Columns: []Column{
		{Head: "Week of", Kind: KindDate},
		{Head: "Deployments", Kind: KindCount, Class: "num"},
		{Head: "Per day", Kind: KindNumber, Class: "num"},
		{Head: "Lead time (median)", CSVHead: "Lead time median (s)", Kind: KindDuration, Class: "num"},
		{Head: "Change failure rate", Kind: KindRate, Class: "num"},
		{Head: "Recovery (median)", CSVHead: "Recovery median (s)", Kind: KindDuration, Class: "num"},
		{Head: "Rework", CSVHead: "Rework rate", Kind: KindRate, Class: "num"},
		{Head: "Restore (median)", CSVHead: "Time to restore median (s)", Kind: KindDuration, Class: "num"},
		// What per day divides by: the days Throughline has data for.
		{Head: "Covered days", Kind: KindCount, Place: PlaceNone},
	}}
	for _, r := range trend {
		restore := NumberCell(r.RestoreMedian)
		restore.Show = hoursText(r.RestoreMedian)
		t.Rows = append(t.Rows, Row{Cells: []Cell{
			TimeCell(r.Window.BucketStart),
			CountCell(r.Deployments),
			doraMetric("deployment_frequency", r),
			doraMetric("lead_time", r),
			doraMetric("change_failure_rate", r),
			doraMetric("recovery_time", r),
			doraMetric("rework_rate", r),
			restore,
			CountCell(r.CoveredDays),
		}})
	}
	return t
}

func doraDeploymentsTable(v DORAView) Table {
	t := Table{ID: "deployments", Columns: []Column{
		{Head: "When", Kind: KindTime, Class: "nowrap small"},
		{Head: "Service", Kind: KindText},
		{Head: "Artifact", Kind: KindText, Class: "mono small"},
		{Head: "Changes", Kind: KindCount, Class: "num"},
		{Head: "Verdict", Kind: KindText, Class: "deploy-status"},
		{Head: "Overridden by", Kind: KindText, Place: PlaceInline},
		{Head: "Why", Kind: KindText, Class: "small muted reason", Place: PlaceBelow},
		{Head: "Event", Kind: KindLink, Place: PlaceBelow},
		{Head: "Recovery", CSVHead: "Recovery (s)", Kind: KindDuration, Class: "nowrap small"},
		{Head: "Recovered by", Kind: KindText, Class: "muted", Place: PlaceBelow},
		{Head: "Rework", Kind: KindText, Class: "small"},
	}}
	for _, d := range v.Deployments {
		verdict := TextCell("ok")
		switch {
		case d.Deployment.Rollback:
			verdict = TextCell("rollback")
			verdict.Class = "badge badge-info"
		case d.Verdict.Failed:
			verdict = TextCell("failed")
			verdict.Class = "badge badge-bad"
		default:
			verdict.Class = "badge badge-good"
		}
		var override, why Cell
		if o := d.Verdict.Override; o != nil {
			override = TextCell(o.By)
			override.Show, override.Class, override.Title = "override", "badge", "Override by "+o.By+": "+o.Reason
		}
		if reason := d.FailureReason(); reason != "" {
			why = TextCell(reason)
			why.TestID = "failure-reason"
		} else if o := d.Verdict.Override; o != nil {
			why = TextCell("Marked not failed by " + o.By + ": " + o.Reason)
		}
		event := LinkCell(d.Deployment.Event.ID, eventURL(d.Deployment.Event))
		event.Class = "mono small"
		if !d.Deployment.Rollback {
			event.After = func(p Page) templ.Component {
				if !p.CanEdit() {
					return nil
				}
				return overrideForm(p, v, d)
			}
		}
		recovery, recoveredBy := BlankCell(), Cell{} // nothing to recover from
		if secs, ok := d.Verdict.RecoverySeconds(d.Deployment); ok {
			recovery, recoveredBy = ValueCell(secs), TextCell(recoveryLabel(d.Verdict.RecoveredBy))
		} else if d.Verdict.Failed {
			recovery = Cell{Show: "not yet", Class: "badge badge-warn"}
		}
		var rework Cell
		if d.Verdict.Rework {
			rework = TextCell(string(d.Verdict.ReworkReason))
			rework.Class = "badge badge-warn"
		}
		changes := CountCell(len(d.Verdict.Changes))
		changes.Title = joinList(d.Verdict.Changes)
		artifact := TextCell(d.Deployment.Artifact)
		artifact.Show, artifact.Title = shortID(d.Deployment.Artifact), d.Deployment.Artifact
		t.Rows = append(t.Rows, Row{TestID: "deployment-row", Attrs: templ.Attributes{"data-failed": strconv.FormatBool(d.Verdict.Failed)},
			Cells: []Cell{TimeCell(d.Deployment.At), TextCell(d.Deployment.Service), artifact, changes, verdict, override, why, event,
				recovery, recoveredBy, rework}})
	}
	return t
}

// doraIncidentsTable lists the window's incidents; with reviews (nil when
// there are no review pages) each links to its review, with its status and
// open action items.
func doraIncidentsTable(incidents []domain.IncidentRecord, reviews map[string]domain.ReviewSummary) Table {
	t := Table{ID: "incidents", Columns: []Column{
		{Head: "Started", Kind: KindTime, Class: "nowrap small"},
		{Head: "Incident", Kind: KindText, Class: "mono small"},
		{Head: "Service", Kind: KindText},
		{Head: "Restored in", CSVHead: "Restored in (s)", Kind: KindDuration, Class: "nowrap small"},
		{Head: "Resolved", Kind: KindTime, Place: PlaceNone}, // empty while open
		{Head: "Counts against", Kind: KindLink, Class: "small"},
		{Head: "Why", Kind: KindText, Class: "muted", Place: PlaceBelow},
	}}
	if reviews != nil {
		t.Columns[1].Kind = KindLink
		t.Columns = append(t.Columns, Column{Head: "Review", Kind: KindText, Class: "small"})
	}
	for _, i := range incidents {
		var restored Cell
		if secs, ok := i.Incident.RestoreSeconds(); ok {
			restored = ValueCell(secs)
		} else {
			restored.Show, restored.Class = "open", "badge badge-warn"
		}
		against, why := TextCell("unattributed"), TextCell(i.Unattributed)
		against.Class, why.TestID = "badge", "unattributed-reason"
		if i.Attributed() {
			against = LinkCell(i.DeploymentEvent.ID, eventURL(i.DeploymentEvent))
			against.Class = "mono small"
			why = TextCell(ruleLabel(i.Rule))
		}
		row := Row{TestID: "incident-row", Attrs: templ.Attributes{"data-attributed": strconv.FormatBool(i.Attributed())},
			Cells: []Cell{TimeCell(i.Incident.Start), TextCell(i.Incident.ID), TextCell(i.Incident.Service), restored,
				TimeCell(i.Incident.Resolved), against, why}}
		if reviews != nil {
			row.Cells[1] = LinkCell(i.Incident.ID, string(ReviewHref(i.Incident.ID)))
			row.Cells = append(row.Cells, reviewCell(reviews[i.Incident.ID]))
		}
		t.Rows = append(t.Rows, row)
	}
	return t
}

// reviewCell is a review's status and its open action items.
func reviewCell(r domain.ReviewSummary) Cell {
	st := r.Status
	if st == "" {
		st = domain.ReviewNotStarted
	}
	text := st.Label()
	if r.OpenActions > 0 {
		text += ", " + strconv.Itoa(r.OpenActions) + " open action item"
		if r.OpenActions > 1 {
			text += "s"
		}
	}
	c := TextCell(text)
	c.Class, c.TestID = reviewStatusBadge(st), "incident-review"
	return c
}

// reviewStatusLine counts the incidents' reviews not yet published and their
// open action items.
func reviewStatusLine(incidents []domain.IncidentRecord, reviews map[string]domain.ReviewSummary) string {
	published, open := 0, 0
	for _, i := range incidents {
		r := reviews[i.Incident.ID]
		if r.Status == domain.ReviewPublished {
			published++
		}
		open += r.OpenActions
	}
	return "Reviews: " + strconv.Itoa(published) + " of " + strconv.Itoa(len(incidents)) + " published, " +
		strconv.Itoa(open) + " open action item(s)."
}

// reviewsHref is the list of reviews for the page's window and scope.
func reviewsHref(p Page) templ.SafeURL {
	if p.URL == nil {
		return "/reviews"
	}
	q := url.Values{}
	for _, k := range []string{"from", "to", "service", "team"} {
		if v := p.URL.Query().Get(k); v != "" {
			q.Set(k, v)
		}
	}
	if len(q) == 0 {
		return "/reviews"
	}
	return templ.SafeURL("/reviews?" + q.Encode())
}
