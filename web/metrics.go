package web

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/throughline/throughline/domain"
)

// GET /metrics serves Prometheus: the app's own health (ingest counters,
// consumer lag, dependency readiness, request durations) and the DORA
// metrics per service over a trailing window. The registry belongs to the
// server: nothing is registered globally, and values that live in the
// database are read when Prometheus scrapes, so every instance of a
// scale-out answers the same numbers.

// doraTrailingDays is the window of the DORA gauges: the last 30 whole days,
// today included.
const doraTrailingDays = 30

// collectTimeout bounds the database reads of one scrape (Prometheus gives
// up after 10 s by default).
const collectTimeout = 8 * time.Second

type serverMetrics struct {
	registry *prometheus.Registry
	requests *prometheus.HistogramVec
	handler  http.Handler
}

func newServerMetrics(s *Server) (*serverMetrics, error) {
	m := &serverMetrics{registry: prometheus.NewRegistry()}
	m.requests = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "throughline_http_request_duration_seconds",
		Help:    "Time to answer HTTP requests, by route template, method and status class.",
		Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
	}, []string{"route", "method", "code"})
	for _, c := range []prometheus.Collector{
		m.requests,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		&ingestCollector{s: s},
		&readinessCollector{s: s},
		newDORACollector(s),
	} {
		if err := m.registry.Register(c); err != nil {
			return nil, fmt.Errorf("web: register metrics: %w", err)
		}
	}
	if s.deps.Consumer != nil {
		if err := m.registry.Register(&consumerCollector{status: s.deps.Consumer}); err != nil {
			return nil, fmt.Errorf("web: register metrics: %w", err)
		}
	}
	m.handler = promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{
		ErrorLog: promLogger{s}, ErrorHandling: promhttp.ContinueOnError, Registry: m.registry,
	})
	return m, nil
}

// promLogger hands the exposition's errors to the server log.
type promLogger struct{ s *Server }

func (l promLogger) Println(v ...any) { l.s.log.Warn("metrics", "err", fmt.Sprint(v...)) }

// handleMetrics answers a Prometheus scrape in the text exposition format.
func (s *Server) handleMetrics(c echo.Context) error {
	c.Response().Header().Set("Cache-Control", "no-store")
	s.metrics.handler.ServeHTTP(c.Response(), c.Request())
	return nil
}

// knownMethods bounds the method label: anything else counts as "other".
var knownMethods = map[string]bool{
	http.MethodGet: true, http.MethodHead: true, http.MethodPost: true, http.MethodPut: true,
	http.MethodPatch: true, http.MethodDelete: true, http.MethodOptions: true,
}

// observeRequests times every request. The route label is the route
// template (c.Path(), "/ideas/:key"), never the URL, so that the number of
// series stays bounded by the routes.
func (s *Server) observeRequests(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		if err := next(c); err != nil {
			c.Error(err) // commit the response so that the status is known
		}
		route := c.Path()
		if route == "" {
			route = "unmatched"
		}
		method := c.Request().Method
		if !knownMethods[method] {
			method = "other"
		}
		code := strconv.Itoa(c.Response().Status/100) + "xx"
		s.metrics.requests.WithLabelValues(route, method, code).Observe(time.Since(start).Seconds())
		return nil
	}
}

// ingestCollector reads the ingest counters of the database, so that they
// count since the database was created and agree across instances.
type ingestCollector struct{ s *Server }

var (
	storedDesc = prometheus.NewDesc("throughline_events_stored_total",
		"Distinct events stored since the database was created (delivery and telemetry).", nil, nil)
	duplicatesDesc = prometheus.NewDesc("throughline_events_duplicates_total",
		"Arrivals whose identity (source + id) was already stored, since the database was created.", nil, nil)
	derivedDesc = prometheus.NewDesc("throughline_events_derived",
		"Stored events whose effects are in every figure (equals stored once derivation caught up; drops during a rebuild).", nil, nil)
	derivationLagDesc = prometheus.NewDesc("throughline_derivation_lag_events",
		"Stored events whose effects are not in every figure yet (stored minus derived).", nil, nil)
	deadLettersDesc = prometheus.NewDesc("throughline_dead_letters_total",
		"Messages sent to the dead-letter stream since the database was created.", nil, nil)
)

func (ic *ingestCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- storedDesc
	ch <- duplicatesDesc
	ch <- deadLettersDesc
	ch <- derivedDesc
	ch <- derivationLagDesc
}

func (ic *ingestCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), collectTimeout)
	defer cancel()
	st, err := ic.s.deps.Ingest.IngestStatus(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(storedDesc, fmt.Errorf("read ingest status: %w", err))
		return
	}
	ch <- prometheus.MustNewConstMetric(storedDesc, prometheus.CounterValue, float64(st.Stored))
	ch <- prometheus.MustNewConstMetric(duplicatesDesc, prometheus.CounterValue, float64(st.Duplicates))
	ch <- prometheus.MustNewConstMetric(deadLettersDesc, prometheus.CounterValue, float64(st.DeadLetters))
	ch <- prometheus.MustNewConstMetric(derivedDesc, prometheus.GaugeValue, float64(st.Derived))
	ch <- prometheus.MustNewConstMetric(derivationLagDesc, prometheus.GaugeValue, float64(st.Stored-st.Derived))
}

// consumerCollector reports the durable consumer: whether it exists, its
// backlog, and how long that backlog has waited without moving.
type consumerCollector struct {
	status func(ctx context.Context) (ConsumerStatus, error)
}

var (
	consumerPresentDesc = prometheus.NewDesc("throughline_consumer_present",
		"1 when the throughline-ingest consumer exists on the events stream, 0 when it is missing (nothing is stored meanwhile).", nil, nil)
	pendingDesc = prometheus.NewDesc("throughline_consumer_pending_messages",
		"Messages on the events stream not yet delivered to the throughline-ingest consumer.", nil, nil)
	ackPendingDesc = prometheus.NewDesc("throughline_consumer_ack_pending_messages",
		"Messages delivered to the throughline-ingest consumer and not yet acknowledged.", nil, nil)
	stalledDesc = prometheus.NewDesc("throughline_consumer_stalled_seconds",
		"How long messages have waited without the consumer finishing any; 0 while they flow or none waits.", nil, nil)
)

func (cc *consumerCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- consumerPresentDesc
	ch <- pendingDesc
	ch <- ackPendingDesc
	ch <- stalledDesc
}

func (cc *consumerCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), collectTimeout)
	defer cancel()
	st, err := cc.status(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(consumerPresentDesc, fmt.Errorf("read the consumer: %w", err))
		return
	}
	present := 0.0
	if st.Present {
		present = 1
	}
	ch <- prometheus.MustNewConstMetric(consumerPresentDesc, prometheus.GaugeValue, present)
	if !st.Present {
		return // no backlog to speak of: the series are absent, not zero
	}
	ch <- prometheus.MustNewConstMetric(pendingDesc, prometheus.GaugeValue, float64(st.Pending))
	ch <- prometheus.MustNewConstMetric(ackPendingDesc, prometheus.GaugeValue, float64(st.AckPending))
	ch <- prometheus.MustNewConstMetric(stalledDesc, prometheus.GaugeValue, st.Stalled.Seconds())
}

// readinessCollector runs the /readyz checks.
type readinessCollector struct{ s *Server }

var upDesc = prometheus.NewDesc("throughline_dependency_up",
	"1 when the dependency answers its readiness check (as /readyz), 0 when not.", []string{"dependency"}, nil)

func (rc *readinessCollector) Describe(ch chan<- *prometheus.Desc) { ch <- upDesc }

func (rc *readinessCollector) Collect(ch chan<- prometheus.Metric) {
	for _, r := range rc.s.runChecks(context.Background()) {
		v := 0.0
		if r.OK {
			v = 1
		}
		ch <- prometheus.MustNewConstMetric(upDesc, prometheus.GaugeValue, v, r.Name)
	}
}

// doraCollector exposes the DORA report of every service, and of all
// services together (service="" and team="", which Prometheus treats as no
// label), over the trailing window. The metrics are computed once per
// version of the DORA data and day, so that frequent scrapes of many
// services cost one version read while nothing changes.
type doraCollector struct {
	s     *Server
	descs doraDescs

	mu      sync.Mutex
	key     string
	metrics []prometheus.Metric
}

type doraDescs struct {
	deployments, coveredDays, perDay, leadMedian, leadP90, cfr, recovery, restore, rework *prometheus.Desc
}

func newDORACollector(s *Server) *doraCollector {
	window := fmt.Sprintf(" over the last %d whole days ending today (UTC)", doraTrailingDays)
	d := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc("throughline_dora_"+name, help+window+
			`; service="" is all services together. Absent when there is no data.`, []string{"service", "team"}, nil)
	}
	return &doraCollector{s: s, descs: doraDescs{
		deployments: d("deployments", "Production deployments (rollbacks included)"),
		coveredDays: d("covered_days", "Days Throughline has delivery data for (since its earliest stored CDEvent)"),
		perDay:      d("deployments_per_day", "Production deployments per covered day"),
		leadMedian:  d("lead_time_median_seconds", "Median lead time for changes, in seconds,"),
		leadP90:     d("lead_time_p90_seconds", "90th percentile (nearest rank) lead time for changes, in seconds,"),
		cfr:         d("change_failure_rate", "Failed deployments / non-rollback deployments (0 to 1)"),
		recovery:    d("recovery_time_median_seconds", "Median failed deployment recovery time, in seconds,"),
		restore:     d("time_to_restore_median_seconds", "Median time to restore service of production incidents, in seconds,"),
		rework:      d("rework_rate", "Rework deployments / all production deployments (0 to 1)"),
	}}
}

func (dc *doraCollector) Describe(ch chan<- *prometheus.Desc) {
	d := dc.descs
	for _, desc := range []*prometheus.Desc{d.deployments, d.coveredDays, d.perDay, d.leadMedian, d.leadP90, d.cfr, d.recovery, d.restore, d.rework} {
		ch <- desc
	}
}

func (dc *doraCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), collectTimeout)
	defer cancel()
	ms, err := dc.current(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(dc.descs.deployments, fmt.Errorf("compute DORA metrics: %w", err))
		return
	}
	for _, m := range ms {
		ch <- m
	}
}

// current returns the cached metrics, computing them when the DORA data
// or the day changed. Concurrent scrapes wait for one computation.
func (dc *doraCollector) current(ctx context.Context) ([]prometheus.Metric, error) {
	store := dc.s.deps.DORA
	version, err := store.DORAVersion(ctx)
	if err != nil {
		return nil, err
	}
	today := domain.Midnight(dc.s.now())
	key := strconv.FormatInt(version, 10) + "|" + today.Format(domain.DateLayout)
	dc.mu.Lock()
	defer dc.mu.Unlock()
	if dc.metrics != nil && dc.key == key {
		return dc.metrics, nil
	}
	w, err := domain.NewWindow(today.AddDate(0, 0, -(doraTrailingDays-1)), today)
	if err != nil {
		return nil, err
	}
	services, err := store.Services(ctx)
	if err != nil {
		return nil, err
	}
	all, err := store.DORAReport(ctx, w, domain.DORAFilter{})
	if err != nil {
		return nil, err
	}
	out := dc.appendReport(nil, all, "", "")
	for _, svc := range services {
		r, err := store.DORAReport(ctx, w, domain.DORAFilter{Service: svc.Name})
		if err != nil {
			return nil, err
		}
		out = dc.appendReport(out, r, svc.Name, svc.Team)
	}
	dc.key, dc.metrics = key, out
	return out, nil
}

// appendReport adds one report's gauges; a null value (no data) is left
// out rather than shown as 0.
func (dc *doraCollector) appendReport(out []prometheus.Metric, r domain.DORAReport, service, team string) []prometheus.Metric {
	d := dc.descs
	gauge := func(desc *prometheus.Desc, v float64) {
		out = append(out, prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, v, service, team))
	}
	optional := func(desc *prometheus.Desc, v *float64) {
		if v != nil {
			gauge(desc, *v)
		}
	}
	gauge(d.deployments, float64(r.Deployments))
	gauge(d.coveredDays, float64(r.CoveredDays))
	optional(d.perDay, r.PerDay)
	optional(d.leadMedian, r.LeadMedian)
	optional(d.leadP90, r.LeadP90)
	optional(d.cfr, r.FailureRate)
	optional(d.recovery, r.RecoveryMedian)
	optional(d.restore, r.RestoreMedian)
	optional(d.rework, r.ReworkRate)
	return out
}
