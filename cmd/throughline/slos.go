package main

import (
	"context"
	"time"

	"github.com/throughline/throughline/adapters/openslo"
	"github.com/throughline/throughline/adapters/sqlstore"
	"github.com/throughline/throughline/domain"
)

// sloCodec gives the web layer OpenSLO YAML without it importing adapters.
type sloCodec struct{}

func (sloCodec) Marshal(slos []domain.SLO) ([]byte, error)   { return openslo.Marshal(slos) }
func (sloCodec) Unmarshal(data []byte) ([]domain.SLO, error) { return openslo.Unmarshal(data) }

// sloLease is the lease of the instance that evaluates SLOs and publishes
// their alerts: one instance at a time, whichever has it.
const sloLease = "slo-alerts"

// startSLOAlerts evaluates every SLO each --slo-interval and publishes each
// change of alert state or posture to NATS (throughline.alerts.slo.<service>).
// The state last published is kept in the database, so a restart does not
// repeat it. With several instances only the holder of the SLO lease
// evaluates; it renews the lease every round, and if it dies another
// instance takes over once the lease lapses (three intervals).
func (a *App) startSLOAlerts(ctx context.Context) {
	every := a.Config.SLOInterval
	if every <= 0 {
		return
	}
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	a.stopSLOs, a.slosDone = cancel, make(chan struct{})
	go func() {
		defer close(a.slosDone)
		t := time.NewTicker(every)
		defer t.Stop()
		holding := false
		defer func() {
			if holding {
				_ = a.Store.ReleaseLease(context.Background(), sloLease, a.instance)
			}
		}()
		for {
			held, err := a.Store.AcquireLease(ctx, sloLease, a.instance, 3*every)
			switch {
			case err != nil && ctx.Err() == nil:
				a.Log.Warn("cannot take or renew the SLO lease; will retry", "err", err)
			case held != holding:
				holding = held
				a.Log.Info("SLO evaluation lease", "instance", a.instance, "held", held)
			}
			if held {
				if err := a.evaluateSLOs(ctx); err != nil && ctx.Err() == nil {
					a.Log.Warn("evaluating SLOs failed; will retry", "err", err)
				}
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
}

// evaluateSLOs is one round of SLO evaluation and alert publishing.
func (a *App) evaluateSLOs(ctx context.Context) error {
	slos, err := a.Store.SLOs(ctx)
	if err != nil || len(slos) == 0 {
		return err
	}
	states, err := a.Store.SLOStates(ctx)
	if err != nil {
		return err
	}
	now := time.Now()
	for _, slo := range slos {
		st, err := a.Store.EvaluateSLO(ctx, slo, now)
		if err != nil {
			return err
		}
		prev := states[slo.ID]
		if st.AlertKey() == prev.AlertKey && st.Posture == prev.Posture {
			continue
		}
		if err := a.Bus.PublishSLOAlert(ctx, st, prev.AlertKey, prev.Posture, now); err != nil {
			return err
		}
		if err := a.Store.SetSLOState(ctx, slo.ID, sqlstore.SLOState{AlertKey: st.AlertKey(), Posture: st.Posture, At: now}); err != nil {
			return err
		}
		a.Log.Info("SLO alert state published", "slo", slo.Name, "service", slo.Service, "posture", string(st.Posture), "firing", st.AlertKey())
	}
	return nil
}
