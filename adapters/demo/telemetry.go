package demo

import (
	"math"
	"time"

	"github.com/throughline/throughline/domain"
)

// telemetryType is the CloudEvent type of Throughline telemetry samples
// (cdevents.TelemetryType; adapters do not import each other).
const telemetryType = "dev.throughline.telemetry.samples.v1"

type sample struct {
	Metric     string            `json:"metric"`
	Value      float64           `json:"value"`
	Time       string            `json:"time"`
	Attributes map[string]string `json:"attributes"`
}

// outcomeMetric is a product metric that moves when an idea ships.
type outcomeMetric struct {
	metric, service string
	idea            string  // the idea whose first production deployment moves it
	before, after   float64 // level before and after that deployment
	daySD, hourSD   float64 // noise from day to day and hour to hour
	diurnal         float64 // evening peak, in the metric's units
	// impact scales how an incident on the service moves the metric:
	// value *= 1 - impact*(1-severity); negative for latencies.
	impact float64
	lo, hi float64
	scale  float64 // values are rounded to 1/scale
}

func outcomeMetrics() []outcomeMetric {
	return []outcomeMetric{
		{metric: "checkout.conversion", service: "checkout", idea: "CHK-12", before: 0.031, after: 0.036,
			daySD: 0.0008, hourSD: 0.0018, diurnal: 0.002, impact: 3, lo: 0.001, hi: 0.2, scale: 1e5},
		{metric: "payments.success_rate", service: "payments", idea: "PAY-3", before: 0.962, after: 0.975,
			daySD: 0.002, hourSD: 0.004, impact: 1.5, lo: 0.5, hi: 0.999, scale: 1e4},
		{metric: "search.click_through", service: "search", idea: "SRCH-40", before: 0.41, after: 0.46,
			daySD: 0.008, hourSD: 0.015, diurnal: 0.01, impact: 1, lo: 0.01, hi: 0.99, scale: 1e4},
		{metric: "catalog.p95_latency_ms", service: "catalog", idea: "CAT-7", before: 820, after: 610,
			daySD: 25, hourSD: 35, diurnal: 70, impact: -8, lo: 50, hi: 10000, scale: 10},
	}
}

// degradation is how much of an hour a service was degraded and how badly.
type degradation struct {
	share    float64 // of the hour, 0..1
	severity float64 // good/total ratio while degraded
}

// emitTelemetry emits one event per hour of history with that hour's
// samples: the outcome metrics of the base services and request counters
// (good and total) for every service.
func (g *generator) emitTelemetry(services []*service, shipped map[string]time.Time) {
	metrics := outcomeMetrics()
	byService := map[string][]*incident{}
	for _, inc := range g.incidents {
		if inc.service == nil {
			for _, s := range services {
				byService[s.name] = append(byService[s.name], inc)
			}
			continue
		}
		byService[inc.service.name] = append(byService[inc.service.name], inc)
	}
	dayNoise := make([]float64, len(metrics))
	var day time.Time
	h := g.start.Truncate(time.Hour)
	if h.Before(g.start) {
		h = h.Add(time.Hour)
	}
	for ; !h.Add(time.Hour).After(g.end); h = h.Add(time.Hour) {
		if d := h.Truncate(24 * time.Hour); !d.Equal(day) {
			day = d
			for i, m := range metrics {
				dayNoise[i] = m.daySD * g.rng.NormFloat64()
			}
		}
		ts := h.Format(time.RFC3339)
		// peak is 1 at 19:00 UTC, when shoppers are home, and -1 at 07:00.
		peak := math.Sin(2 * math.Pi * float64(h.Hour()-13) / 24)
		weekend := h.Weekday() == time.Saturday || h.Weekday() == time.Sunday

		var samples []sample
		for i, m := range metrics {
			level := m.before
			if at, ok := shipped[m.idea]; ok && !h.Before(at) {
				level = m.after
			}
			v := level + dayNoise[i] + m.hourSD*g.rng.NormFloat64() + m.diurnal*peak
			if deg := g.degradation(byService[m.service], h); deg.share > 0 {
				v *= 1 - deg.share*m.impact*(1-deg.severity)
			}
			v = math.Round(min(max(v, m.lo), m.hi)*m.scale) / m.scale
			samples = append(samples, sample{Metric: m.metric, Value: v, Time: ts, Attributes: prodAttrs(m.service)})
		}
		for _, s := range services {
			load := 0.6 + 0.4*peak
			if weekend && s.profile.name != "notifications" {
				load *= 1.15
			}
			total := math.Round(max(s.traffic*load*(1+0.05*g.rng.NormFloat64()), 10))
			ratio := min(max(0.999+0.0002*g.rng.NormFloat64(), 0.9975), 0.99995)
			if deg := g.degradation(byService[s.name], h); deg.share > 0 {
				ratio = ratio*(1-deg.share) + deg.severity*deg.share
			}
			good := math.Round(total * ratio)
			samples = append(samples,
				sample{Metric: "http.requests.total", Value: total, Time: ts, Attributes: prodAttrs(s.name)},
				sample{Metric: "http.requests.good", Value: good, Time: ts, Attributes: prodAttrs(s.name)})
		}
		g.events = append(g.events, domain.CloudEvent{
			SpecVersion:     "1.0",
			ID:              g.nextID(),
			Source:          "/otel/collector",
			Type:            telemetryType,
			Time:            h,
			DataContentType: "application/json",
			Data:            mustJSON(map[string]any{"samples": samples}),
		})
	}
}

// degradation finds the worst of a service's incidents (environment-wide
// ones included) during the hour at h. Errors start a little before
// monitoring notices them.
func (g *generator) degradation(incidents []*incident, h time.Time) degradation {
	var worst degradation
	for _, inc := range incidents {
		from, to := inc.detected.Add(-15*time.Minute), inc.resolved
		if to.IsZero() {
			to = g.end
		}
		from, to = maxTime(from, h), minTime(to, h.Add(time.Hour))
		if !to.After(from) {
			continue
		}
		share := float64(to.Sub(from)) / float64(time.Hour)
		if share*(1-inc.severity) > worst.share*(1-worst.severity) {
			worst = degradation{share: share, severity: inc.severity}
		}
	}
	return worst
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
