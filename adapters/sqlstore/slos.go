package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/throughline/throughline/domain"
)

type sloRow struct {
	bun.BaseModel `bun:"table:slos,alias:slo"`

	ID          int64   `bun:"id,pk,autoincrement"`
	Name        string  `bun:"name"`
	DisplayName string  `bun:"display_name"`
	Description string  `bun:"description"`
	Service     string  `bun:"service"`
	GoodMetric  string  `bun:"good_metric"`
	GoodAttrs   string  `bun:"good_attrs"`
	TotalMetric string  `bun:"total_metric"`
	TotalAttrs  string  `bun:"total_attrs"`
	Target      float64 `bun:"target"`
	WindowDays  int     `bun:"window_days"`
	AlertKey    string  `bun:"alert_key"`
	Posture     string  `bun:"posture"`
	AlertAt     int64   `bun:"alert_at"`
	CreatedAt   int64   `bun:"created_at"`
	UpdatedAt   int64   `bun:"updated_at"`
}

func (r *sloRow) toDomain() domain.SLO {
	s := domain.SLO{ID: r.ID, Name: r.Name, DisplayName: r.DisplayName, Description: r.Description, Service: r.Service,
		Good: domain.MetricQuery{Metric: r.GoodMetric}, Total: domain.MetricQuery{Metric: r.TotalMetric},
		Target: r.Target, WindowDays: r.WindowDays, CreatedAt: fromMicros(r.CreatedAt), UpdatedAt: fromMicros(r.UpdatedAt)}
	_ = json.Unmarshal([]byte(r.GoodAttrs), &s.Good.Attributes)
	_ = json.Unmarshal([]byte(r.TotalAttrs), &s.Total.Attributes)
	return s
}

func cleanSLO(s *domain.SLO) {
	s.Name, s.DisplayName = strings.TrimSpace(s.Name), strings.TrimSpace(s.DisplayName)
	s.Description, s.Service = strings.TrimSpace(s.Description), strings.TrimSpace(s.Service)
	s.Good.Metric, s.Total.Metric = strings.TrimSpace(s.Good.Metric), strings.TrimSpace(s.Total.Metric)
}

func fromSLO(s *domain.SLO) *sloRow {
	return &sloRow{ID: s.ID, Name: s.Name, DisplayName: s.DisplayName, Description: s.Description, Service: s.Service,
		GoodMetric: s.Good.Metric, GoodAttrs: canonicalAttrs(s.Good.Attributes), TotalMetric: s.Total.Metric, TotalAttrs: canonicalAttrs(s.Total.Attributes),
		Target: s.Target, WindowDays: s.WindowDays, CreatedAt: micros(s.CreatedAt), UpdatedAt: micros(s.UpdatedAt)}
}

// SLOs lists every SLO by service and name.
func (s *Store) SLOs(ctx context.Context) ([]domain.SLO, error) {
	var rows []sloRow
	if err := s.db.NewSelect().Model(&rows).Order("service", "name").Scan(ctx); err != nil {
		return nil, err
	}
	out := make([]domain.SLO, len(rows))
	for i := range rows {
		out[i] = rows[i].toDomain()
	}
	return out, nil
}

// SLO returns one SLO.
func (s *Store) SLO(ctx context.Context, id int64) (domain.SLO, error) {
	row := new(sloRow)
	if err := s.db.NewSelect().Model(row).Where("id = ?", id).Scan(ctx); err != nil {
		return domain.SLO{}, notFound(err, "No SLO %d.", id)
	}
	return row.toDomain(), nil
}

// CreateSLO adds an SLO.
func (s *Store) CreateSLO(ctx context.Context, slo domain.SLO, by string) (domain.SLO, error) {
	cleanSLO(&slo)
	if errs := slo.Validate(); len(errs) > 0 {
		return slo, invalidFields(errs)
	}
	now := s.now()
	slo.ID, slo.CreatedAt, slo.UpdatedAt = 0, now, now
	row := fromSLO(&slo)
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.NewInsert().Model(row).ExcludeColumn("id").Returning("id").Exec(ctx); err != nil {
			if isUniqueViolation(err) {
				return domain.Errorf(domain.ECONFLICT, "An SLO named %q already exists.", row.Name)
			}
			return err
		}
		return audit(ctx, tx, now, by, "slo.create", fmt.Sprint(row.ID), row.Name)
	})
	slo.ID = row.ID
	return slo, err
}

// UpdateSLO changes an SLO in one transaction (update gets the current one).
func (s *Store) UpdateSLO(ctx context.Context, id int64, by string, update func(*domain.SLO) error) (domain.SLO, error) {
	var out domain.SLO
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		row := new(sloRow)
		if err := tx.NewSelect().Model(row).Where("id = ?", id).Scan(ctx); err != nil {
			return notFound(err, "No SLO %d.", id)
		}
		slo := row.toDomain()
		if err := update(&slo); err != nil {
			return err
		}
		cleanSLO(&slo)
		if errs := slo.Validate(); len(errs) > 0 {
			return invalidFields(errs)
		}
		slo.ID, slo.UpdatedAt = id, s.now()
		next := fromSLO(&slo)
		if _, err := tx.NewUpdate().Model(next).ExcludeColumn("id", "created_at", "alert_key", "posture", "alert_at").WherePK().Exec(ctx); err != nil {
			if isUniqueViolation(err) {
				return domain.Errorf(domain.ECONFLICT, "An SLO named %q already exists.", next.Name)
			}
			return err
		}
		out = slo
		return audit(ctx, tx, slo.UpdatedAt, by, "slo.update", fmt.Sprint(id), slo.Name)
	})
	return out, err
}

// DeleteSLO removes an SLO. The audit entry keeps its name, which the id
// alone no longer tells once the row is gone.
func (s *Store) DeleteSLO(ctx context.Context, id int64, by string) error {
	return s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		row := new(sloRow)
		if err := tx.NewSelect().Model(row).Where("id = ?", id).Scan(ctx); err != nil {
			return notFound(err, "No SLO %d.", id)
		}
		if _, err := tx.NewDelete().Model(row).WherePK().Exec(ctx); err != nil {
			return err
		}
		return audit(ctx, tx, s.now(), by, "slo.delete", fmt.Sprint(id), row.Name)
	})
}

// ImportSLOs creates or replaces SLOs by name in one transaction: all of
// them or none. It returns how many were created and updated.
func (s *Store) ImportSLOs(ctx context.Context, slos []domain.SLO, by string) (created, updated int, err error) {
	for i := range slos {
		cleanSLO(&slos[i])
		if errs := slos[i].Validate(); len(errs) > 0 {
			return 0, 0, domain.Errorf(domain.EINVALID, "SLO %d (%q): %s", i+1, slos[i].Name, firstMessage(errs))
		}
	}
	now := s.now()
	err = s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		for i := range slos {
			slo := slos[i]
			slo.CreatedAt, slo.UpdatedAt = now, now
			row := fromSLO(&slo)
			existing := new(sloRow)
			err := tx.NewSelect().Model(existing).Where("name = ?", slo.Name).Scan(ctx)
			switch {
			case err == nil:
				row.ID = existing.ID
				if _, err := tx.NewUpdate().Model(row).ExcludeColumn("id", "created_at", "alert_key", "posture", "alert_at").WherePK().Exec(ctx); err != nil {
					return err
				}
				updated++
			case isNoRows(err):
				if _, err := tx.NewInsert().Model(row).ExcludeColumn("id").Returning("id").Exec(ctx); err != nil {
					return err
				}
				created++
			default:
				return err
			}
		}
		return audit(ctx, tx, now, by, "slo.import", "", fmt.Sprintf("%d created, %d updated", created, updated))
	})
	if err != nil {
		return 0, 0, err
	}
	return created, updated, nil
}

// firstMessage is the message of the first field, in name order.
func firstMessage(errs map[string]string) string {
	keys := make([]string, 0, len(errs))
	for k := range errs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys[0] + ": " + errs[keys[0]]
}

// SLOState is the alert state last published for an SLO.
type SLOState struct {
	AlertKey string
	Posture  domain.Posture
	At       time.Time
}

// SLOStates returns the last published state of every SLO.
func (s *Store) SLOStates(ctx context.Context) (map[int64]SLOState, error) {
	var rows []sloRow
	if err := s.db.NewSelect().Model(&rows).Column("id", "alert_key", "posture", "alert_at").Scan(ctx); err != nil {
		return nil, err
	}
	out := make(map[int64]SLOState, len(rows))
	for _, r := range rows {
		out[r.ID] = SLOState{AlertKey: r.AlertKey, Posture: domain.Posture(r.Posture), At: fromMicros(r.AlertAt)}
	}
	return out, nil
}

// SetSLOState records the state just published for an SLO.
func (s *Store) SetSLOState(ctx context.Context, id int64, st SLOState) error {
	_, err := s.db.NewUpdate().Model((*sloRow)(nil)).Set("alert_key = ?", st.AlertKey).Set("posture = ?", string(st.Posture)).
		Set("alert_at = ?", micros(st.At)).Where("id = ?", id).Exec(ctx)
	return err
}

// countPoints reads the good and total sums of an SLO per bucket of a
// rollup resolution in [from, to).
func (s *Store) countPoints(ctx context.Context, slo *domain.SLO, res string, from, to time.Time) ([]domain.CountPoint, error) {
	good, err := s.MetricSeries(ctx, slo.Good.Metric, slo.Good.Attributes, res, from, to)
	if err != nil {
		return nil, err
	}
	total, err := s.MetricSeries(ctx, slo.Total.Metric, slo.Total.Attributes, res, from, to)
	if err != nil {
		return nil, err
	}
	goodAt := make(map[time.Time]float64, len(good))
	for _, p := range good {
		goodAt[p.Start] = p.Sum
	}
	pts := make([]domain.CountPoint, len(total)) // MetricSeries answers in time order
	for i, p := range total {
		pts[i] = domain.CountPoint{At: p.Start, Counts: domain.Counts{Good: goodAt[p.Start], Total: p.Sum}}
	}
	return pts, nil
}

// EvaluateSLO computes an SLO's status at asOf from the telemetry rollups:
// the burn windows (up to three days) from minute buckets, the rolling
// window from hour buckets.
func (s *Store) EvaluateSLO(ctx context.Context, slo domain.SLO, asOf time.Time) (domain.SLOStatus, error) {
	windows := domain.BurnWindows()
	longest := windows[len(windows)-1]
	minutes, err := s.countPoints(ctx, &slo, "m", asOf.Add(-longest), asOf)
	if err != nil {
		return domain.SLOStatus{}, err
	}
	burn := make(map[time.Duration]domain.Counts, len(windows))
	for _, d := range windows {
		burn[d] = domain.SumCounts(minutes, asOf.Add(-d), asOf)
	}
	hours, err := s.countPoints(ctx, &slo, "h", asOf.Add(-slo.Window()).Truncate(time.Hour), asOf)
	if err != nil {
		return domain.SLOStatus{}, err
	}
	window := domain.SumCounts(hours, time.Time{}, asOf.Add(time.Hour))
	return domain.EvaluateSLO(slo, window, burn, asOf), nil
}

// SLODaily returns an SLO's good and total counts per day in [from, to).
func (s *Store) SLODaily(ctx context.Context, slo domain.SLO, from, to time.Time) ([]domain.CountPoint, error) {
	return s.countPoints(ctx, &slo, "d", from, to)
}
