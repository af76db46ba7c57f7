package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/throughline/throughline/adapters/cdevents"
	"github.com/throughline/throughline/adapters/demo"
	"github.com/throughline/throughline/adapters/natsbus"
	"github.com/throughline/throughline/adapters/sqlstore"
	"github.com/throughline/throughline/domain"
)

func newDemoCommand(stdout, stderr io.Writer) *cobra.Command {
	cfg := DefaultConfig()
	cfg.NATS = "nats://127.0.0.1:4222"
	opts := demo.Options{Days: 90, Seed: 1, Scale: 1}
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Publish a realistic demo history (delivery events and telemetry) to NATS",
		Long: `Publish a generated history to the events stream, as CI/CD systems and an
OpenTelemetry pipeline would have: five services in three teams, changes,
builds, tests, staging and production deployments, rollbacks, hotfixes,
incidents, and hourly telemetry whose outcome metrics move when some ideas
ship. The same --seed gives the same events, so publishing twice is harmless:
JetStream's duplicate window and Throughline's identity check absorb repeats.`,
		Example: `  throughline demo --days 90
  throughline demo --nats nats://nats:4222 --days 365 --scale 20`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log, err := prepare(cmd, &cfg, stderr)
			if err != nil {
				return err
			}
			bus, err := natsbus.Connect(cmd.Context(), natsConfig(cfg, nil, log))
			if err != nil {
				return err
			}
			defer bus.Close()
			n, took, err := publishDemo(cmd.Context(), bus, opts)
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "published %d demo events (%d days) in %s\n", n, opts.Days, took.Round(time.Millisecond))
			return nil
		},
	}
	fs := cmd.Flags()
	natsClientFlags(fs, &cfg)
	fs.IntVar(&opts.Days, "days", opts.Days, "days of history, ending today")
	fs.Int64Var(&opts.Seed, "seed", opts.Seed, "random seed; the same seed gives the same history")
	fs.IntVar(&opts.Scale, "scale", opts.Scale, "multiply the number of services (for load tests)")
	logFlags(fs, &cfg)
	annotateEnv(cmd)
	return cmd
}

// publishDemo generates the history and publishes it, waiting for every ack.
func publishDemo(ctx context.Context, bus *natsbus.Bus, opts demo.Options) (int, time.Duration, error) {
	start := time.Now()
	h := demo.Generate(opts)
	dec, err := cdevents.NewDecoder("")
	if err != nil {
		return 0, 0, err
	}
	msgs := make([]natsbus.OutMsg, 0, len(h.Events))
	for _, ce := range h.Events {
		ev, err := dec.Decode(ce)
		if err != nil {
			return 0, 0, fmt.Errorf("demo event %s: %w", ce.ID, err)
		}
		data, err := cdevents.EncodeStructured(ce)
		if err != nil {
			return 0, 0, err
		}
		msgs = append(msgs, natsbus.OutMsg{
			Subject: eventSubject(bus.Names(), ev),
			Header:  map[string][]string{"Content-Type": {cdevents.ContentTypeStructured}},
			Data:    data,
			MsgID:   ev.Identity.String(),
		})
	}
	if _, err := bus.PublishMany(ctx, msgs); err != nil {
		return 0, 0, err
	}
	return len(msgs), time.Since(start), nil
}

// startDemo publishes the demo history once per database, in the background,
// so that the server answers while the events flow in.
func (a *App) startDemo(ctx context.Context) error {
	first, err := a.Store.SetSettingOnce(ctx, "demo_published", time.Now().UTC().Format(time.RFC3339))
	if err != nil || !first {
		if err == nil {
			a.Log.Info("demo history already published to this database; not publishing again")
		}
		return err
	}
	if err := seedDemoRoadmap(ctx, a.Store, demo.Generate(demo.Options{Days: a.Config.DemoDays, Seed: 1})); err != nil {
		return err
	}
	a.demoDone = make(chan struct{})
	go func() {
		defer close(a.demoDone)
		n, took, err := publishDemo(context.WithoutCancel(ctx), a.Bus, demo.Options{Days: a.Config.DemoDays, Seed: 1})
		if err != nil {
			a.Log.Error("demo history not published", "err", err)
			return
		}
		a.Log.Info("demo history published; the consumer is storing it", "events", n, "days", a.Config.DemoDays, "took", took.Round(time.Millisecond))
	}()
	return nil
}

// seedDemoRoadmap creates the demo history's objectives, key results and
// ideas. Each idea enters Plan its plan lead (72h unless the history says)
// before the first event that names it, as if planned then; the verdicts the
// history records are set as a product manager would have recorded them.
func seedDemoRoadmap(ctx context.Context, store *sqlstore.Store, h demo.History) error {
	dec, err := cdevents.NewDecoder("")
	if err != nil {
		return err
	}
	firstSeen := map[string]time.Time{}
	for _, ce := range h.Events {
		ev, err := dec.Decode(ce)
		if err != nil {
			continue
		}
		for _, k := range ev.Ideas {
			if t, ok := firstSeen[k]; !ok || ev.Time.Before(t) {
				firstSeen[k] = ev.Time
			}
		}
	}
	objectives := map[string]int64{}
	keyResults := map[string]int64{}
	const by = "demo"
	for _, spec := range h.Ideas {
		idea := domain.Idea{
			Key: spec.Key, Title: spec.Title, Problem: spec.Problem, Hypothesis: spec.Hypothesis,
			Horizon: domain.Horizon(spec.Horizon), FlowType: domain.FlowType(spec.FlowType), Team: spec.Team, Services: spec.Services,
			Reach: spec.Reach, Impact: spec.Impact, Confidence: spec.Confidence, Effort: spec.Effort,
		}
		if t, ok := firstSeen[spec.Key]; ok {
			lead := spec.PlanLead
			if lead <= 0 {
				lead = 72 * time.Hour
			}
			idea.PlannedAt = t.Add(-lead)
		}
		if v, ok := h.Verdicts[spec.Key]; ok {
			idea.Verdict, idea.VerdictAt, idea.VerdictNote, idea.VerdictBy = domain.IdeaVerdict(v.Verdict), v.At, v.Note, by
		}
		if kr := spec.KeyResult; kr != nil && spec.Objective != "" {
			oid, ok := objectives[spec.Objective]
			if !ok {
				o, err := store.CreateObjective(ctx, domain.Objective{Title: spec.Objective}, by)
				if err != nil {
					return err
				}
				oid, objectives[spec.Objective] = o.ID, o.ID
			}
			krKey := kr.Metric + "|" + fmt.Sprint(kr.Attributes)
			kid, ok := keyResults[krKey]
			if !ok {
				created, err := store.CreateKeyResult(ctx, domain.KeyResult{
					ObjectiveID: oid, Title: krTitle(*kr), Metric: kr.Metric, Attributes: kr.Attributes,
					Baseline: kr.Baseline, Target: kr.Target, Direction: domain.Direction(kr.Direction), Due: kr.Due, Unit: domain.Unit(kr.Unit),
				}, by)
				if err != nil {
					return err
				}
				kid, keyResults[krKey] = created.ID, created.ID
			}
			idea.KeyResults = []int64{kid}
		}
		if _, err := store.CreateIdea(ctx, idea, by); err != nil && domain.ErrorCode(err) != domain.ECONFLICT {
			return fmt.Errorf("demo idea %s: %w", spec.Key, err)
		}
	}
	if err := seedDemoStreams(ctx, store, by); err != nil {
		return err
	}
	return seedDemoSLOs(ctx, store, by)
}

// seedDemoSLOs declares an availability SLO per demo service from the
// request counts its telemetry carries (http.requests.good / .total), so
// that the incidents of the history spend their budgets.
func seedDemoSLOs(ctx context.Context, store *sqlstore.Store, by string) error {
	// The demo's services answer about 99.9% of requests well outside
	// incidents; targets below that leave budgets for the incidents to spend.
	targets := map[string]float64{"checkout": 0.998, "payments": 0.998, "search": 0.995, "catalog": 0.995, "notifications": 0.99}
	for _, svc := range []string{"checkout", "payments", "search", "catalog", "notifications"} {
		attrs := map[string]string{"service": svc, "env": "production"}
		target := targets[svc]
		_, err := store.CreateSLO(ctx, domain.SLO{Name: svc + "-availability", DisplayName: strings.ToUpper(svc[:1]) + svc[1:] + " availability",
			Description: "Share of " + svc + " requests answered without a server error.", Service: svc,
			Good: domain.MetricQuery{Metric: "http.requests.good", Attributes: attrs}, Total: domain.MetricQuery{Metric: "http.requests.total", Attributes: attrs},
			Target: target, WindowDays: 28}, by)
		if err != nil && domain.ErrorCode(err) != domain.ECONFLICT {
			return fmt.Errorf("demo SLO for %s: %w", svc, err)
		}
	}
	return nil
}

// seedDemoStreams maps the demo's value streams: one per product area with
// the default stages and a few WIP limits, and one that follows everything.
func seedDemoStreams(ctx context.Context, store *sqlstore.Store, by string) error {
	limits := func(code, test int) []domain.StageDef {
		st := domain.DefaultStages()
		st[1].WIPLimit, st[3].WIPLimit = code, test
		return st
	}
	for _, v := range []domain.ValueStream{
		{Name: "Checkout and payments", Description: "From a checkout idea to its effect on conversion and payment success.",
			Teams: []string{"payments"}, Services: []string{"checkout", "payments"}, Stages: limits(3, 2)},
		{Name: "Product discovery", Description: "Search and catalog: helping shoppers find what they want.",
			Teams: []string{"discovery"}, Services: []string{"search", "catalog"}, Stages: limits(3, 2)},
		{Name: "Whole product", Description: "Every idea on the roadmap, end to end.", Stages: domain.DefaultStages()},
	} {
		if _, err := store.CreateValueStream(ctx, v, by); err != nil && domain.ErrorCode(err) != domain.ECONFLICT {
			return fmt.Errorf("demo value stream %s: %w", v.Name, err)
		}
	}
	return nil
}

// krTitle names a demo key result after its metric and target.
func krTitle(kr demo.KeyResult) string {
	name := strings.ReplaceAll(strings.ReplaceAll(kr.Metric, "_", " "), ".", " ")
	verb := "Raise"
	if kr.Direction == "decrease" {
		verb = "Bring down"
	}
	target := strconv.FormatFloat(kr.Target, 'f', -1, 64)
	switch kr.Unit {
	case "percent":
		target = strconv.FormatFloat(math.Round(kr.Target*1e6)/1e4, 'f', -1, 64) + " %"
	case "ms":
		name, target = strings.TrimSuffix(name, " ms"), target+" ms"
	}
	return fmt.Sprintf("%s %s to %s", verb, name, target)
}
