package web

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/throughline/throughline/domain"
)

// Deployment (and incident) annotations for Grafana, in the JSON shape the
// JSON API datasource (simpod-json-datasource) and the Infinity plugin
// read: one annotation per production deployment, incidents as regions.

// maxAnnotations bounds one answer. More than this on one graph is
// unreadable; the caller is asked to narrow the range or pick a service.
const maxAnnotations = 5000

// annotationQuery is what to annotate: the instants from..to (both
// included), the services, and which kinds.
type annotationQuery struct {
	from, to    time.Time
	filter      domain.DORAFilter
	deployments bool
	incidents   bool
}

type annotationJSON struct {
	Time    int64    `json:"time"`
	TimeEnd *int64   `json:"timeEnd,omitempty"`
	Title   string   `json:"title"`
	Text    string   `json:"text"`
	Tags    []string `json:"tags"`
}

// handleAnnotationsAPI answers GET /api/v1/annotations?from&to[&service][&team][&kind].
func (s *Server) handleAnnotationsAPI(c echo.Context) error {
	q, err := s.annotationQuery(c.QueryParam("from"), c.QueryParam("to"), c.QueryParam("kind"))
	if err != nil {
		return err
	}
	q.filter = domain.DORAFilter{Service: strings.TrimSpace(c.QueryParam("service")), Team: strings.TrimSpace(c.QueryParam("team"))}
	return s.answerAnnotations(c, q)
}

// simpodAnnotationRequest is the body Grafana's JSON datasource posts to
// its /annotations endpoint. The annotation's query text may carry the
// filters as a query string: "service=checkout&kind=all".
type simpodAnnotationRequest struct {
	Range struct {
		From string `json:"from"`
		To   string `json:"to"`
	} `json:"range"`
	Annotation struct {
		Query string `json:"query"`
	} `json:"annotation"`
}

// handleAnnotationsPostAPI answers POST /api/v1/annotations with the body
// the JSON datasource sends; query parameters work as for GET and win over
// the annotation's query text.
func (s *Server) handleAnnotationsPostAPI(c echo.Context) error {
	const maxBody = 64 << 10
	var in simpodAnnotationRequest
	dec := json.NewDecoder(http.MaxBytesReader(c.Response(), c.Request().Body, maxBody))
	if err := dec.Decode(&in); err != nil {
		if errors.As(err, new(*http.MaxBytesError)) {
			return bodyTooLarge(maxBody)
		}
		return domain.Errorf(domain.EINVALID, `Send JSON: {"range": {"from": …, "to": …}, "annotation": {"query": "service=…&kind=…"}}.`)
	}
	params, err := parseAnnotationText(in.Annotation.Query)
	if err != nil {
		return err
	}
	param := func(name string) string {
		if v := c.QueryParam(name); v != "" {
			return v
		}
		return params.Get(name)
	}
	q, err := s.annotationQuery(orDefault(c.QueryParam("from"), in.Range.From), orDefault(c.QueryParam("to"), in.Range.To), param("kind"))
	if err != nil {
		return err
	}
	q.filter = domain.DORAFilter{Service: strings.TrimSpace(param("service")), Team: strings.TrimSpace(param("team"))}
	return s.answerAnnotations(c, q)
}

func orDefault(v, def string) string {
	if v != "" {
		return v
	}
	return def
}

// parseAnnotationText reads the filters of an annotation query: a query
// string such as "service=checkout&kind=incidents", or empty.
func parseAnnotationText(text string) (url.Values, error) {
	text = strings.TrimPrefix(strings.TrimSpace(text), "?")
	v, err := url.ParseQuery(text)
	if err == nil {
		for k := range v {
			if k != "service" && k != "team" && k != "kind" {
				err = errors.New("unknown key")
			}
		}
	}
	if err != nil {
		return nil, domain.Errorf(domain.EINVALID, "The annotation query is written service=…&team=…&kind=deployments|incidents|all, not %q.", domain.Shorten(text, 100))
	}
	return v, nil
}

// annotationQuery reads the range and the kind. from and to are epoch
// milliseconds (Grafana's ${__from} and ${__to}), RFC 3339 times or dates
// YYYY-MM-DD (a date to includes that whole day). Without them the range
// is the last 30 days.
func (s *Server) annotationQuery(fromText, toText, kind string) (annotationQuery, error) {
	var q annotationQuery
	switch strings.TrimSpace(kind) {
	case "", "deployments":
		q.deployments = true
	case "incidents":
		q.incidents = true
	case "all":
		q.deployments, q.incidents = true, true
	default:
		return q, domain.Errorf(domain.EINVALID, "kind must be deployments, incidents or all, not %q.", domain.Shorten(kind, 40))
	}
	now := s.now()
	to, err := parseInstant("to", toText, now, true)
	if err != nil {
		return q, err
	}
	from, err := parseInstant("from", fromText, to.AddDate(0, 0, -30), false)
	if err != nil {
		return q, err
	}
	if to.Before(from) {
		return q, domain.Errorf(domain.EINVALID, "The range ends (%s) before it starts (%s).", to.UTC().Format(time.RFC3339), from.UTC().Format(time.RFC3339))
	}
	for _, end := range []struct {
		name string
		at   time.Time
	}{{"from", from}, {"to", to}} {
		if err := checkWindowDay(end.name, end.at, now); err != nil {
			return q, err
		}
	}
	if w, _ := domain.NewWindow(from, to); w.Days() > maxWindowDays {
		return q, domain.Errorf(domain.EINVALID, "The range covers %d days; the limit is %d.", w.Days(), maxWindowDays)
	}
	q.from, q.to = from, to
	return q, nil
}

// parseInstant reads one end of the range; end says a date stands for the
// last instant of its day rather than the first.
func parseInstant(name, v string, def time.Time, end bool) (time.Time, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return def, nil
	}
	if ms, err := strconv.ParseInt(v, 10, 64); err == nil {
		// Years 1 to 9999, so that the day arithmetic stays in range.
		if ms < -62135596800000 || ms > 253402300799999 {
			return time.Time{}, domain.Errorf(domain.EINVALID, "%s is out of range: %q.", name, domain.Shorten(v, 40))
		}
		return time.UnixMilli(ms).UTC(), nil
	}
	if t, err := time.Parse(domain.DateLayout, v); err == nil {
		if end {
			t = t.AddDate(0, 0, 1).Add(-time.Nanosecond)
		}
		return t, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil && t.Year() >= 1 && t.UTC().Year() <= 9999 {
		return t.UTC(), nil
	}
	return time.Time{}, domain.Errorf(domain.EINVALID, "%s must be epoch milliseconds, an RFC 3339 time or a date YYYY-MM-DD, not %q.", name, domain.Shorten(v, 40))
}

// answerAnnotations reads the deployments and incidents of the whole days
// the range touches, keeps those inside it and answers them oldest first.
func (s *Server) answerAnnotations(c echo.Context, q annotationQuery) error {
	ctx := c.Request().Context()
	w, err := domain.NewWindow(q.from, q.to)
	if err != nil {
		return err
	}
	out := []annotationJSON{}
	tooMany := func(what string) error {
		return domain.Errorf(domain.EINVALID, "More than %d %s between from and to: narrow the time range or choose a service.", maxAnnotations, what)
	}
	if q.deployments {
		list, err := s.deps.DORA.DeploymentsIn(ctx, w, q.filter, false, maxAnnotations+1)
		if err != nil {
			return err
		}
		if len(list) > maxAnnotations {
			return tooMany("deployments")
		}
		for _, r := range list {
			if at := r.Deployment.At; !at.Before(q.from) && !at.After(q.to) {
				out = append(out, deploymentAnnotation(r))
			}
		}
	}
	if q.incidents {
		list, err := s.deps.DORA.IncidentsOverlapping(ctx, w, q.filter, maxAnnotations+1)
		if err != nil {
			return err
		}
		if len(list) > maxAnnotations {
			return tooMany("incidents")
		}
		for _, r := range list {
			if a, ok := incidentAnnotation(r, q.from, q.to); ok {
				out = append(out, a)
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Time < out[j].Time })
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusOK, out)
}

// deploymentAnnotation says what a deployment shipped and, when it failed,
// why.
func deploymentAnnotation(r domain.DeploymentRecord) annotationJSON {
	d, v := r.Deployment, r.Verdict
	a := annotationJSON{Time: d.At.UnixMilli(), Tags: []string{d.Service}}
	if r.Team != "" {
		a.Tags = append(a.Tags, r.Team)
	}
	a.Tags = append(a.Tags, "deploy")
	artifact := d.Artifact
	if artifact == "" {
		artifact = "(no artifact)"
	}
	var text []string
	if d.Rollback {
		a.Title = d.Service + " rolled back to " + artifact
		a.Tags = append(a.Tags, "rollback")
		text = append(text, "Rollback: deploys no new change.")
	} else {
		a.Title = d.Service + " deployed " + artifact
		switch n := len(v.Changes); n {
		case 1:
			text = append(text, "1 change: "+v.Changes[0]+".")
		default:
			text = append(text, strconv.Itoa(n)+" changes"+listChanges(v.Changes)+".")
		}
	}
	if d.Hotfix {
		text = append(text, "Hotfix.")
	}
	if v.Failed {
		a.Tags = append(a.Tags, "failed")
		text = append(text, "Failed: "+r.FailureReason()+".")
	}
	if v.Rework {
		a.Tags = append(a.Tags, "rework")
		if v.ReworkReason != domain.ReworkRollback {
			text = append(text, "Rework ("+strings.ReplaceAll(string(v.ReworkReason), "_", " ")+").")
		}
	}
	a.Text = strings.Join(text, " ")
	return a
}

// listChanges names up to five changes.
func listChanges(changes []string) string {
	if len(changes) == 0 {
		return ""
	}
	shown := changes
	if len(shown) > 5 {
		shown = shown[:5]
	}
	s := ": " + strings.Join(shown, ", ")
	if len(changes) > len(shown) {
		s += " and " + strconv.Itoa(len(changes)-len(shown)) + " more"
	}
	return s
}

// incidentAnnotation is a region from the incident's start to its
// resolution (open incidents have no end), kept when it overlaps from..to.
func incidentAnnotation(r domain.IncidentRecord, from, to time.Time) (annotationJSON, bool) {
	i := r.Incident
	start, end := i.Start, i.Resolved
	if start.IsZero() {
		start, end = i.Resolved, time.Time{}
	}
	if start.IsZero() || start.After(to) || (!end.IsZero() && end.Before(from)) {
		return annotationJSON{}, false
	}
	a := annotationJSON{Time: start.UnixMilli(), Title: "Incident " + i.ID + " on " + orDefault(i.Service, "no service")}
	tags := []string{}
	if i.Service != "" {
		tags = append(tags, i.Service)
	}
	a.Tags = append(tags, "incident")
	var text []string
	if !end.IsZero() {
		ms := end.UnixMilli()
		a.TimeEnd = &ms
		text = append(text, "Resolved after "+end.Sub(start).Round(time.Second).String()+".")
	} else if !i.Resolved.IsZero() {
		text = append(text, "Resolved; its start is unknown.")
	} else {
		text = append(text, "Open.")
		a.Tags = append(a.Tags, "open")
	}
	if r.Attributed() {
		text = append(text, "Made deployment "+r.DeploymentEvent.ID+" fail ("+strings.ReplaceAll(string(r.Rule), "_", " ")+").")
	} else {
		text = append(text, "Unattributed: "+r.Unattributed+".")
	}
	a.Text = strings.Join(text, " ")
	return a, true
}
