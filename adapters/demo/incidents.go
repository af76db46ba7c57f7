package demo

import (
	"cmp"
	"slices"
	"strconv"
	"time"

	"github.com/throughline/throughline/domain"
)

// incident is a production incident, caused by a deployment or not.
type incident struct {
	id            string
	service       *service // nil for an environment-wide problem
	cause         *deployment
	namesArtifact bool
	detected      time.Time
	reported      time.Time // zero when nobody paged
	resolved      time.Time // zero while still open at the end of history
	description   string
	severity      float64 // good/total ratio of the service while degraded
}

// failureRate is the share of production deployments followed by an incident.
const failureRate = 0.10

// planUnattributed places incidents that match no deployment: an
// environment-wide problem, upstream outages on services that had not
// deployed for days, and one still open at the end of the history. Their
// services are kept free of deployments for 30 hours before (beyond the
// default 24h attribution window) and until they are resolved.
func (g *generator) planUnattributed(base map[string]*service) {
	quietAround := func(s *service, inc *incident) {
		to := inc.resolved
		if to.IsZero() {
			to = g.end
		}
		q := interval{from: inc.detected.Add(-30 * time.Hour), to: to.Add(time.Hour)}
		for _, d := range s.deploys {
			if q.overlaps(d.at, d.at) {
				d.dropped = true
			}
		}
		s.quiet = append(s.quiet, q)
	}
	moment := func(frac float64) time.Time {
		return g.at(frac).Add(g.dur(0, 12*time.Hour)).Truncate(time.Second)
	}

	// Upstream acquirer trouble: payments is named, no artifact is at fault.
	pay := &incident{service: base["payments"], description: "Card authorisations timing out at the acquirer", severity: 0.93}
	pay.detected = moment(0.36)
	pay.reported = pay.detected.Add(g.dur(3*time.Minute, 12*time.Minute))
	pay.resolved = pay.detected.Add(g.dur(40*time.Minute, 150*time.Minute))

	// The email provider degrades while notifications has not shipped for
	// more than a day.
	email := &incident{service: base["notifications"], description: "Order confirmation emails delayed: email provider degraded", severity: 0.95}
	email.detected = moment(0.62)
	email.resolved = email.detected.Add(g.dur(time.Hour, 4*time.Hour))

	// DNS trouble hits every service; nobody deployed anything.
	dns := &incident{description: "Elevated 5xx across production: DNS resolver saturation", severity: 0.985}
	dns.detected = moment(0.78)
	dns.reported = dns.detected.Add(g.dur(2*time.Minute, 10*time.Minute))
	dns.resolved = dns.detected.Add(g.dur(40*time.Minute, 110*time.Minute))

	// Still open when the history ends.
	open := &incident{service: base["search"], description: "Search p95 latency above 800 ms in eu-west", severity: 0.99}
	open.detected = g.end.Add(-g.dur(2*time.Hour, 5*time.Hour)).Truncate(time.Second)
	open.reported = open.detected.Add(g.dur(5*time.Minute, 20*time.Minute))

	for _, inc := range []*incident{pay, email, dns, open} {
		if inc.detected.Before(g.start) || !inc.resolved.IsZero() && inc.resolved.After(g.end) {
			continue
		}
		if inc.service != nil {
			quietAround(inc.service, inc)
		}
		g.incidents = append(g.incidents, inc)
	}
}

// planFailures makes about one in ten production deployments fail.
func (g *generator) planFailures(s *service) {
	for _, d := range slices.Clone(s.deploys) {
		if d.dropped || d.hotfix || !g.chance(failureRate) {
			continue
		}
		// remedyNone, remedyRollback, remedyHotfix
		g.fail(s, d, remedy(g.pick([]float64{0.3, 0.4, 0.3})))
	}
}

// ensureRemedies makes sure the history holds at least one rollback and one
// hotfix, failing a deployment near the middle of the history if needed.
func (g *generator) ensureRemedies(services []*service) {
	mid := g.at(0.5)
	type candidate struct {
		s *service
		d *deployment
	}
	var cands []candidate
	for _, s := range services {
		for _, d := range s.live() {
			cands = append(cands, candidate{s, d})
		}
	}
	slices.SortStableFunc(cands, func(a, b candidate) int {
		return cmp.Compare(absDur(a.d.at.Sub(mid)), absDur(b.d.at.Sub(mid)))
	})
	for _, want := range []remedy{remedyRollback, remedyHotfix} {
		found := false
		for _, s := range services {
			for _, d := range s.deploys {
				found = found || !d.dropped && d.failure != nil && d.remedy == want
			}
		}
		for _, c := range cands {
			if found {
				break
			}
			found = g.fail(c.s, c.d, want)
		}
	}
}

func absDur(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}

// fail plans an incident 1–6h after d and its remedy, and freezes further
// deployments of the service until two hours after it is over. It reports
// false, changing nothing, when the failure would not fit.
func (g *generator) fail(s *service, d *deployment, rem remedy) bool {
	if d.dropped || d.hotfix || d.failure != nil {
		return false
	}
	if rem == remedyRollback && !s.deployedBefore(d.at) {
		rem = remedyNone // nothing to roll back to within the history
	}
	inc := &incident{
		service:       s,
		cause:         d,
		namesArtifact: g.chance(0.8),
		description:   s.failures[g.rng.IntN(len(s.failures))],
		severity:      0.9 + 0.08*g.rng.Float64(),
	}
	inc.detected = d.at.Add(g.dur(time.Hour, 6*time.Hour))
	if g.chance(0.5) {
		inc.reported = inc.detected.Add(g.dur(3*time.Minute, 15*time.Minute))
	}
	var rollbackAt, hotfixAt time.Time
	switch rem {
	case remedyRollback:
		rollbackAt = inc.detected.Add(g.dur(10*time.Minute, 55*time.Minute))
		inc.resolved = rollbackAt.Add(g.dur(10*time.Minute, 40*time.Minute))
	case remedyHotfix:
		hotfixAt = inc.detected.Add(g.dur(100*time.Minute, 170*time.Minute))
		inc.resolved = hotfixAt.Add(g.dur(5*time.Minute, 25*time.Minute))
	default:
		inc.resolved = inc.detected.Add(g.logNormal(70*time.Minute, 0.7, 20*time.Minute, 5*time.Hour))
	}
	if inc.resolved.After(g.end.Add(-time.Minute)) {
		return false
	}
	freeze := interval{from: d.at, to: inc.resolved.Add(2 * time.Hour)}
	for _, q := range s.quiet {
		if q.overlaps(freeze.from, freeze.to) {
			return false
		}
	}
	var frozen []*deployment
	for _, o := range s.deploys {
		if o == d || o.dropped || !freeze.overlaps(o.at, o.at) || o.at.Before(d.at) {
			continue
		}
		if o.hotfix || o.failure != nil {
			return false
		}
		frozen = append(frozen, o)
	}
	for _, o := range frozen {
		o.dropped = true
	}
	d.failure, d.remedy, d.rollbackAt = inc, rem, rollbackAt
	if rem == remedyHotfix {
		s.deploys = append(s.deploys, &deployment{at: hotfixAt, hotfix: true, fixes: inc})
		slices.SortStableFunc(s.deploys, func(a, b *deployment) int { return a.at.Compare(b.at) })
	}
	g.incidents = append(g.incidents, inc)
	return true
}

// deployedBefore reports whether the service had a production deployment
// before t within the history.
func (s *service) deployedBefore(t time.Time) bool {
	for _, d := range s.deploys {
		if !d.dropped && d.at.Before(t) {
			return true
		}
	}
	return false
}

// emitIncidents numbers incidents in the order they started and emits their
// detected, reported and resolved events.
func (g *generator) emitIncidents() {
	slices.SortStableFunc(g.incidents, func(a, b *incident) int { return a.detected.Compare(b.detected) })
	for i, inc := range g.incidents {
		inc.id = "incident-" + strconv.Itoa(3100+i)
		sp, team := specV05, "platform"
		content := map[string]any{
			"description": inc.description,
			"environment": map[string]any{"id": envProduction, "source": "/argo"},
		}
		if s := inc.service; s != nil {
			sp, team = s.spec, s.team
			content["service"] = map[string]any{"id": s.name, "source": "/argo/" + envProduction}
			if inc.cause != nil && inc.namesArtifact {
				content["artifactId"] = inc.cause.artifact
			}
		}
		severity := "high"
		if inc.severity > 0.97 {
			severity = "medium"
		}
		custom := map[string]any{"team": team, "severity": severity}
		subj := cdSubject{ID: inc.id, Source: "/monitoring/" + envProduction}
		subj.Content = content
		g.emit(sp, domain.KindIncidentDetected, inc.detected, "/monitoring/"+envProduction, subj, custom)
		if !inc.reported.IsZero() {
			g.emit(sp, domain.KindIncidentReported, inc.reported, "/pagerduty", subj, custom)
		}
		if !inc.resolved.IsZero() {
			resolved := map[string]any{}
			for k, v := range content {
				resolved[k] = v
			}
			resolved["description"] = "Resolved: " + inc.description
			subj.Content = resolved
			g.emit(sp, domain.KindIncidentResolved, inc.resolved, "/monitoring/"+envProduction, subj, custom)
		}
	}
}
