package sqlstore

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/throughline/throughline/domain"
)

// Blameless post-incident reviews and their action items. The incident, its
// attribution and the deployments come from the DORA projections; only what
// people write lives in these tables, keyed by incident id, so a rebuild
// leaves it alone.

type reviewRow struct {
	bun.BaseModel `bun:"table:incident_reviews,alias:rv"`

	IncidentID          string `bun:"incident_id,pk"`
	Status              string `bun:"status"`
	Summary             string `bun:"summary"`
	Impact              string `bun:"impact"`
	ContributingFactors string `bun:"contributing_factors"`
	WentWell            string `bun:"went_well"`
	Learned             string `bun:"learned"`
	CreatedAt           int64  `bun:"created_at"`
	UpdatedAt           int64  `bun:"updated_at"`
	PublishedAt         *int64 `bun:"published_at"`
}

type actionRow struct {
	bun.BaseModel `bun:"table:review_actions,alias:ra"`

	ID         int64  `bun:"id,pk,autoincrement"`
	IncidentID string `bun:"incident_id"`
	Title      string `bun:"title"`
	IdeaKey    string `bun:"idea_key"`
	Done       bool   `bun:"done"`
	CreatedAt  int64  `bun:"created_at"`
	DoneAt     *int64 `bun:"done_at"`
}

func (r reviewRow) domain() domain.Review {
	return domain.Review{IncidentID: r.IncidentID, Status: domain.ReviewStatus(r.Status), Summary: r.Summary, Impact: r.Impact,
		ContributingFactors: r.ContributingFactors, WentWell: r.WentWell, Learned: r.Learned,
		CreatedAt: fromMicros(r.CreatedAt), UpdatedAt: fromMicros(r.UpdatedAt), PublishedAt: fromMicrosPtr(r.PublishedAt)}
}

func (r actionRow) domain() domain.ActionItem {
	return domain.ActionItem{ID: r.ID, IncidentID: r.IncidentID, Title: r.Title, IdeaKey: r.IdeaKey, Done: r.Done,
		CreatedAt: fromMicros(r.CreatedAt), DoneAt: fromMicrosPtr(r.DoneAt)}
}

// Incident is one production incident with its attribution, as the DORA
// drill-down shows it; ENOTFOUND when there is no production incident by
// that id.
func (s *Store) Incident(ctx context.Context, id string) (domain.IncidentRecord, error) {
	var rows []struct {
		IncidentID  string  `bun:"incident_id"`
		Service     string  `bun:"service"`
		ArtifactID  string  `bun:"artifact_id"`
		Environment string  `bun:"environment"`
		StartedAt   *int64  `bun:"started_at"`
		ResolvedAt  *int64  `bun:"resolved_at"`
		DeployPK    *int64  `bun:"deploy_pk"`
		Rule        string  `bun:"rule"`
		Reason      string  `bun:"reason"`
		Source      *string `bun:"dep_source"`
		EventID     *string `bun:"dep_event_id"`
	}
	err := s.db.NewSelect().TableExpr("incidents AS i").
		ColumnExpr("i.incident_id, i.service, i.artifact_id, i.environment, i.started_at, i.resolved_at").
		ColumnExpr("ia.deploy_pk, COALESCE(ia.rule, '') AS rule, COALESCE(ia.reason, '') AS reason, d.source AS dep_source, d.event_id AS dep_event_id").
		Join("LEFT JOIN incident_attributions AS ia ON ia.incident_id = i.incident_id").
		Join("LEFT JOIN deployments AS d ON d.event_pk = ia.deploy_pk").
		Where("i.incident_id = ?", id).Where("i.production = ?", true).Scan(ctx, &rows)
	if err != nil {
		return domain.IncidentRecord{}, err
	}
	if len(rows) == 0 {
		return domain.IncidentRecord{}, domain.Errorf(domain.ENOTFOUND, "No production incident %s.", id)
	}
	r := rows[0]
	rec := domain.IncidentRecord{
		Incident: domain.ProdIncident{ID: r.IncidentID, Service: r.Service, Artifact: r.ArtifactID,
			Start: fromMicrosPtr(r.StartedAt), Resolved: fromMicrosPtr(r.ResolvedAt)},
		Environment: r.Environment, Rule: domain.FailureRule(r.Rule), Unattributed: r.Reason,
	}
	// The same words as the DORA drill-down (IncidentsIn).
	switch {
	case r.DeployPK != nil && r.Source != nil:
		rec.DeploymentPK = *r.DeployPK
		rec.DeploymentEvent = domain.Identity{Source: *r.Source, ID: *r.EventID}
	case r.Service == "":
		rec.Unattributed = "it names no service"
	case r.StartedAt == nil:
		rec.Unattributed = "it has no detected or reported event, so its start is unknown"
	case rec.Unattributed == "":
		rec.Unattributed = "no production deployment of " + r.Service + " matched"
	}
	return rec, nil
}

// IncidentEvents are the stored events of an incident, oldest first.
func (s *Store) IncidentEvents(ctx context.Context, id string) ([]domain.IncidentEvent, error) {
	var rows []struct {
		Kind    string `bun:"kind"`
		At      int64  `bun:"at"`
		Source  string `bun:"source"`
		EventID string `bun:"event_id"`
	}
	err := s.db.NewSelect().TableExpr("incident_events AS ie").
		ColumnExpr("ie.kind, ie.at, e.source, e.event_id").
		Join("JOIN events AS e ON e.id = ie.event_pk").
		Where("ie.incident_id = ?", id).OrderExpr("ie.at, ie.event_pk").Scan(ctx, &rows)
	if err != nil {
		return nil, err
	}
	out := make([]domain.IncidentEvent, len(rows))
	for i, r := range rows {
		kind := r.Kind // stored as the predicate ("detected")
		if !strings.Contains(kind, ".") {
			kind = "incident." + kind
		}
		out[i] = domain.IncidentEvent{Kind: domain.EventKind(kind), At: fromMicros(r.At), Event: domain.Identity{Source: r.Source, ID: r.EventID}}
	}
	return out, nil
}

// ChangeMerges are the merge times of the given changes (those merged).
func (s *Store) ChangeMerges(ctx context.Context, ids []string) ([]domain.ChangeMerge, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	var out []domain.ChangeMerge
	for start := 0; start < len(ids); start += insertChunk {
		var rows []struct {
			ChangeID string `bun:"change_id"`
			MergedAt int64  `bun:"merged_at"`
		}
		err := s.db.NewSelect().TableExpr("changes AS c").ColumnExpr("c.change_id, c.merged_at").
			Where("c.change_id IN (?)", bun.List(ids[start:min(start+insertChunk, len(ids))])).Where("c.merged_at IS NOT NULL").Scan(ctx, &rows)
		if err != nil {
			return nil, err
		}
		for _, r := range rows {
			out = append(out, domain.ChangeMerge{ChangeID: r.ChangeID, At: fromMicros(r.MergedAt)})
		}
	}
	return out, nil
}

// Review is what was written about an incident; a review not started yet
// comes back with status not_started and nothing else.
func (s *Store) Review(ctx context.Context, incidentID string) (domain.Review, error) {
	var row reviewRow
	err := s.db.NewSelect().Model(&row).Where("incident_id = ?", incidentID).Scan(ctx)
	if isNoRows(err) {
		return domain.Review{IncidentID: incidentID, Status: domain.ReviewNotStarted}, nil
	}
	if err != nil {
		return domain.Review{}, err
	}
	return row.domain(), nil
}

// SaveReview writes a review of a production incident, with the audit
// entry, in one transaction.
func (s *Store) SaveReview(ctx context.Context, r domain.Review, by string) (domain.Review, error) {
	if errs := r.Validate(); len(errs) > 0 {
		return domain.Review{}, invalidFields(errs)
	}
	if _, err := s.Incident(ctx, r.IncidentID); err != nil {
		return domain.Review{}, err
	}
	now := micros(s.now())
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		var old []reviewRow
		if err := tx.NewSelect().Model(&old).Where("incident_id = ?", r.IncidentID).Scan(ctx); err != nil {
			return err
		}
		row := reviewRow{IncidentID: r.IncidentID, Status: string(r.Status), Summary: r.Summary, Impact: r.Impact,
			ContributingFactors: r.ContributingFactors, WentWell: r.WentWell, Learned: r.Learned, CreatedAt: now, UpdatedAt: now}
		if len(old) == 1 {
			row.CreatedAt, row.PublishedAt = old[0].CreatedAt, old[0].PublishedAt
		}
		if r.Status == domain.ReviewPublished && row.PublishedAt == nil {
			row.PublishedAt = &now
		}
		if _, err := tx.NewInsert().Model(&row).On("CONFLICT (incident_id) DO UPDATE").
			Set("status = EXCLUDED.status, summary = EXCLUDED.summary, impact = EXCLUDED.impact").
			Set("contributing_factors = EXCLUDED.contributing_factors, went_well = EXCLUDED.went_well, learned = EXCLUDED.learned").
			Set("updated_at = EXCLUDED.updated_at, published_at = EXCLUDED.published_at").Exec(ctx); err != nil {
			return err
		}
		r = row.domain()
		return audit(ctx, tx, fromMicros(now), by, "review.save", r.IncidentID, "status "+string(r.Status))
	})
	return r, err
}

// Actions are a review's action items, oldest first.
func (s *Store) Actions(ctx context.Context, incidentID string) ([]domain.ActionItem, error) {
	var rows []actionRow
	if err := s.db.NewSelect().Model(&rows).Where("incident_id = ?", incidentID).Order("id").Scan(ctx); err != nil {
		return nil, err
	}
	return actionItems(rows), nil
}

// ActionsForIdea are the action items that became the idea.
func (s *Store) ActionsForIdea(ctx context.Context, key string) ([]domain.ActionItem, error) {
	var rows []actionRow
	if err := s.db.NewSelect().Model(&rows).Where("idea_key = ?", key).Order("id").Scan(ctx); err != nil {
		return nil, err
	}
	return actionItems(rows), nil
}

func actionItems(rows []actionRow) []domain.ActionItem {
	out := make([]domain.ActionItem, len(rows))
	for i, r := range rows {
		out[i] = r.domain()
	}
	return out
}

// AddAction adds an action item to an incident's review.
func (s *Store) AddAction(ctx context.Context, incidentID, title, by string) (domain.ActionItem, error) {
	title = strings.TrimSpace(title)
	if err := domain.ValidateActionTitle(title); err != nil {
		return domain.ActionItem{}, err
	}
	if _, err := s.Incident(ctx, incidentID); err != nil {
		return domain.ActionItem{}, err
	}
	now := s.now()
	row := actionRow{IncidentID: incidentID, Title: title, CreatedAt: micros(now)}
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.NewInsert().Model(&row).Returning("id").Exec(ctx); err != nil {
			return err
		}
		return audit(ctx, tx, now, by, "review.action.add", incidentID, title)
	})
	return row.domain(), err
}

// UpdateAction changes one action item of an incident in a transaction,
// with the audit entry: update gets the item and changes it.
func (s *Store) UpdateAction(ctx context.Context, incidentID string, id int64, by, action string, update func(*domain.ActionItem) error) (domain.ActionItem, error) {
	var out domain.ActionItem
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		var row actionRow
		if err := tx.NewSelect().Model(&row).Where("id = ?", id).Where("incident_id = ?", incidentID).Scan(ctx); err != nil {
			return notFound(err, "No action item %d on incident %s.", id, incidentID)
		}
		item := row.domain()
		if err := update(&item); err != nil {
			return err
		}
		now := s.now()
		switch {
		case item.Done && !row.Done:
			item.DoneAt = now
		case !item.Done:
			item.DoneAt = time.Time{}
		}
		row.IdeaKey, row.Done, row.DoneAt = item.IdeaKey, item.Done, nil
		if !item.DoneAt.IsZero() {
			v := micros(item.DoneAt)
			row.DoneAt = &v
		}
		if _, err := tx.NewUpdate().Model(&row).Column("idea_key", "done", "done_at").WherePK().Exec(ctx); err != nil {
			return err
		}
		out = row.domain()
		return audit(ctx, tx, now, by, action, incidentID, "action "+strconv.FormatInt(id, 10)+": "+item.Title)
	})
	return out, err
}

// ReviewSummaries adds each incident's review status and action counts.
func (s *Store) ReviewSummaries(ctx context.Context, incidents []domain.IncidentRecord) ([]domain.ReviewSummary, error) {
	out := make([]domain.ReviewSummary, len(incidents))
	ids := make([]string, len(incidents))
	for i, r := range incidents {
		ids[i] = r.Incident.ID
		out[i] = domain.ReviewSummary{Incident: r, Status: domain.ReviewNotStarted}
	}
	status := map[string]string{}
	actions := map[string][2]int{}
	for start := 0; start < len(ids); start += insertChunk {
		chunk := ids[start:min(start+insertChunk, len(ids))]
		var revs []reviewRow
		if err := s.db.NewSelect().Model(&revs).Column("incident_id", "status").Where("incident_id IN (?)", bun.List(chunk)).Scan(ctx); err != nil {
			return nil, err
		}
		for _, r := range revs {
			status[r.IncidentID] = r.Status
		}
		var acts []actionRow
		if err := s.db.NewSelect().Model(&acts).Column("incident_id", "done").Where("incident_id IN (?)", bun.List(chunk)).Scan(ctx); err != nil {
			return nil, err
		}
		for _, a := range acts {
			c := actions[a.IncidentID]
			c[0]++
			if !a.Done {
				c[1]++
			}
			actions[a.IncidentID] = c
		}
	}
	for i := range out {
		id := ids[i]
		if st, ok := status[id]; ok {
			out[i].Status = domain.ReviewStatus(st)
		}
		out[i].Actions, out[i].OpenActions = actions[id][0], actions[id][1]
	}
	return out, nil
}
