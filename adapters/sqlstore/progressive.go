package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/throughline/throughline/domain"
)

// Progressive delivery and flags (DESIGN.md 4): rollout steps and flag
// changes are projected into their own tables; the DORA evaluation of a
// service reads them (recomputeService), and an idea's exposure timeline
// and evidence anchor read them through the ideas they name.

type rolloutStepRow struct {
	bun.BaseModel `bun:"table:rollout_steps,alias:rs"`

	EventPK     int64    `bun:"event_pk,pk"`
	EventID     string   `bun:"event_id"`
	Source      string   `bun:"source"`
	RolloutID   string   `bun:"rollout_id"`
	Service     string   `bun:"service"`
	Environment string   `bun:"environment"`
	Production  bool     `bun:"production"`
	ArtifactID  string   `bun:"artifact_id"`
	Kind        string   `bun:"kind"`
	Weight      *float64 `bun:"weight"`
	Baseline    string   `bun:"baseline"`
	Canary      string   `bun:"canary"`
	Message     string   `bun:"message"`
	At          int64    `bun:"at"`
}

type flagChangeRow struct {
	bun.BaseModel `bun:"table:flag_changes,alias:fc"`

	EventPK     int64   `bun:"event_pk,pk"`
	EventID     string  `bun:"event_id"`
	Source      string  `bun:"source"`
	FlagKey     string  `bun:"flag_key"`
	Environment string  `bun:"environment"`
	Production  bool    `bun:"production"`
	Enabled     bool    `bun:"enabled"`
	Percentage  float64 `bun:"percentage"`
	Variant     string  `bun:"variant"`
	At          int64   `bun:"at"`
}

type flagServiceRow struct {
	bun.BaseModel `bun:"table:flag_services,alias:fs"`

	EventPK int64  `bun:"event_pk,pk"`
	Service string `bun:"service,pk"`
	At      int64  `bun:"at"`
}

func seriesText(s *domain.SeriesRef) string {
	if s == nil {
		return ""
	}
	b, _ := json.Marshal(s)
	return string(b)
}

// projectProgressive stores the rollout steps and flag changes among items
// and marks the services whose DORA evaluation they change: a production
// rollout step (a deployment, an abort), a production flag switch-off.
func (s *Store) projectProgressive(ctx context.Context, tx bun.Tx, items []applied, w *doraWork) error {
	var steps []rolloutStepRow
	var flags []flagChangeRow
	var flagSvcs []flagServiceRow
	for _, it := range items {
		ev := it.ev
		at := micros(ev.Time)
		switch {
		case ev.Rollout != nil:
			r := ev.Rollout
			row := rolloutStepRow{EventPK: it.pk, EventID: ev.ID, Source: ev.Source, RolloutID: r.Rollout, Service: ev.Service,
				Environment: ev.Environment, Production: s.prodEnvs.Contains(ev.Environment), ArtifactID: ev.Artifact,
				Kind: string(ev.Kind), Weight: r.Weight, Baseline: seriesText(r.Baseline), Canary: seriesText(r.Canary),
				Message: r.Message, At: at}
			steps = append(steps, row)
			if row.Production {
				w.service(ev.Service, at)
			}
		case ev.Flag != nil:
			f := ev.Flag
			row := flagChangeRow{EventPK: it.pk, EventID: ev.ID, Source: ev.Source, FlagKey: f.Key, Environment: f.Environment,
				Production: s.prodEnvs.Contains(f.Environment), Enabled: f.Enabled, Percentage: f.Percentage, Variant: f.Variant, At: at}
			flags = append(flags, row)
			seen := map[string]bool{}
			for _, svc := range f.Services {
				if seen[svc] {
					continue
				}
				seen[svc] = true
				flagSvcs = append(flagSvcs, flagServiceRow{EventPK: it.pk, Service: svc, At: at})
				if row.Production && f.Off() {
					w.service(svc, at)
				}
			}
		}
	}
	if err := insertAll(ctx, tx, steps, "event_pk"); err != nil {
		return fmt.Errorf("project rollout steps: %w", err)
	}
	if err := insertAll(ctx, tx, flags, "event_pk"); err != nil {
		return fmt.Errorf("project flag changes: %w", err)
	}
	if err := insertAll(ctx, tx, flagSvcs, "event_pk, service"); err != nil {
		return fmt.Errorf("project flag services: %w", err)
	}
	return nil
}

// progressiveHistory loads what the DORA evaluation of a service from start
// on needs: its production rollout steps and the production flag changes
// naming it.
func (s *Store) progressiveHistory(ctx context.Context, tx bun.IDB, service string, start int64, hist *domain.ServiceHistory) error {
	var steps []rolloutStepRow
	if err := tx.NewSelect().Model(&steps).Where("service = ?", service).Where("production = ?", true).
		Where("at >= ?", start).Order("at", "event_pk").Scan(ctx); err != nil {
		return err
	}
	for _, r := range steps {
		hist.RolloutSteps = append(hist.RolloutSteps, domain.ProdRolloutStep{
			PK: r.EventPK, Event: domain.Identity{Source: r.Source, ID: r.EventID}, Service: r.Service,
			Artifact: r.ArtifactID, Rollout: r.RolloutID, Kind: domain.EventKind(r.Kind), At: fromMicros(r.At),
		})
	}
	var flags []flagChangeRow
	if err := tx.NewSelect().Model(&flags).
		Join("JOIN flag_services AS fs ON fs.event_pk = fc.event_pk").
		Where("fs.service = ?", service).Where("fc.production = ?", true).Where("fc.at >= ?", start).
		Order("fc.at", "fc.event_pk").Scan(ctx); err != nil {
		return err
	}
	for _, f := range flags {
		off := !f.Enabled || f.Percentage <= 0
		hist.FlagSwitches = append(hist.FlagSwitches, domain.ProdFlagSwitch{
			PK: f.EventPK, Event: domain.Identity{Source: f.Source, ID: f.EventID}, Flag: f.FlagKey, At: fromMicros(f.At), Off: off,
		})
	}
	return nil
}

// rolloutLookback bounds how far back a rollout still open at a time is
// looked for: no canary runs for a month.
const rolloutLookback = 30 * 24 * time.Hour

// rolloutStart moves an evaluation start back to the first step of any
// rollout of the service still running at start, so that the rollout is
// evaluated whole (its deployment is at its first step).
func (s *Store) rolloutStart(ctx context.Context, tx bun.IDB, service string, start int64) (int64, error) {
	if start == minTime {
		return start, nil
	}
	var steps []rolloutStepRow
	if err := tx.NewSelect().Model(&steps).Where("service = ?", service).Where("production = ?", true).
		Where("at < ?", start).Where("at >= ?", start-rolloutLookback.Microseconds()).
		Order("at DESC", "event_pk DESC").Scan(ctx); err != nil {
		return 0, err
	}
	closed := map[string]bool{}
	out := start
	for _, r := range steps {
		k := domain.EventKind(r.Kind)
		if k == domain.KindRolloutPromoted || k == domain.KindRolloutAborted {
			closed[r.RolloutID] = true
			continue
		}
		if !closed[r.RolloutID] {
			out = min(out, r.At)
		}
	}
	return out, nil
}
