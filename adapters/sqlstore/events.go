package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/uptrace/bun"

	"github.com/throughline/throughline/domain"
)

type eventRow struct {
	bun.BaseModel `bun:"table:events,alias:e"`

	ID         int64  `bun:"id,pk,autoincrement"`
	Source     string `bun:"source"`
	EventID    string `bun:"event_id"`
	Type       string `bun:"type"`
	Kind       string `bun:"kind"`
	SubjectID  string `bun:"subject_id"`
	At         int64  `bun:"at"`
	ReceivedAt int64  `bun:"received_at"`
	StreamSeq  int64  `bun:"stream_seq"`
	AppliedGen int64  `bun:"applied_gen"`
	Data       []byte `bun:"data"`
}

type insertedEvent struct {
	ID      int64  `bun:"id"`
	Source  string `bun:"source"`
	EventID string `bun:"event_id"`
}

// applied is a newly stored event whose projections must be updated.
type applied struct {
	pk int64
	ev domain.Event
}

// insertChunk bounds statement size (bound parameters per statement).
const insertChunk = 400

// StoreEvents stores a batch of events and derives them at once, in one
// transaction: for tests and tools that want figures as soon as the call
// returns. Ingestion uses AppendEvents and leaves derivation to Derive. Each
// event's outcome is returned in order: stored, duplicate (identity already
// stored, or repeated in the batch) or redelivered (the same stream message
// came again after a crash before its ack). An error the database will get
// over (disk full, locked, unreachable) is EUNAVAILABLE.
func (s *Store) StoreEvents(ctx context.Context, recs []domain.EventRecord) ([]domain.StoreOutcome, error) {
	return s.storeEvents(ctx, recs, true)
}

// AppendEvents stores a batch of events in the log (identity deduplicated)
// and commits, without deriving them: Derive does that afterwards, in
// storage order. Outcomes are as for StoreEvents.
func (s *Store) AppendEvents(ctx context.Context, recs []domain.EventRecord) ([]domain.StoreOutcome, error) {
	return s.storeEvents(ctx, recs, false)
}

func (s *Store) storeEvents(ctx context.Context, recs []domain.EventRecord, derive bool) ([]domain.StoreOutcome, error) {
	out := make([]domain.StoreOutcome, len(recs))
	if len(recs) == 0 {
		return out, nil
	}
	st := &txState{}
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		*st = txState{}
		var gen int64 // 0: not derived yet
		if derive {
			var err error
			if gen, err = s.generation(ctx, tx, false); err != nil {
				return err
			}
		}
		toApply, err := s.appendLog(ctx, tx, recs, gen, out)
		if err != nil {
			return err
		}
		if derive {
			if err := s.applyProjections(ctx, tx, st, toApply); err != nil {
				return err
			}
		}
		moved, err := s.noteCoverage(ctx, tx, earliestDelivery(toApply))
		if err != nil {
			return err
		}
		st.doraTouched = st.doraTouched || moved
		var stored, dups int64
		for _, o := range out {
			switch o {
			case domain.Stored:
				stored++
			case domain.Duplicate:
				dups++
			}
		}
		return s.addCounters(ctx, tx, map[string]int64{counterStored: stored, counterDuplicates: dups})
	})
	if err == nil {
		s.remember(st)
		if st.doraTouched {
			s.bumpVersion()
		}
		if st.flowTouched {
			s.flow.invalidate()
		}
	}
	return out, unavailable(err)
}

// appendLog inserts the batch's new events with applied_gen gen, fills in
// each outcome and returns the events stored.
func (s *Store) appendLog(ctx context.Context, tx bun.Tx, recs []domain.EventRecord, gen int64, out []domain.StoreOutcome) ([]applied, error) {
	for i := range out {
		out[i] = 0
	}
	now := micros(s.now())
	// The first occurrence of an identity in the batch is the candidate.
	first := map[domain.Identity]int{}
	values := make([][]any, 0, len(recs))
	rowIndex := make([]int, 0, len(recs))
	for i, r := range recs {
		if _, dup := first[r.Event.Identity]; dup {
			out[i] = domain.Duplicate
			continue
		}
		first[r.Event.Identity] = i
		values = append(values, []any{r.Event.Source, r.Event.ID, r.Event.Type, string(r.Event.Kind), r.Event.SubjectID,
			micros(r.Event.Time), now, int64(r.StreamSeq), gen, encodeRaw(r.Raw)})
		rowIndex = append(rowIndex, i)
	}
	pkOf := make(map[domain.Identity]int64, len(values))
	if err := s.bulkQuery(ctx, tx, bulkSpec{
		table:  "events",
		cols:   []string{"source", "event_id", "type", "kind", "subject_id", "at", "received_at", "stream_seq", "applied_gen", "data"},
		suffix: "ON CONFLICT (source, event_id) DO NOTHING RETURNING id, source, event_id",
	}, values, func(r *sql.Rows) error {
		var in insertedEvent
		if err := r.Scan(&in.ID, &in.Source, &in.EventID); err != nil {
			return err
		}
		pkOf[domain.Identity{Source: in.Source, ID: in.EventID}] = in.ID
		return nil
	}); err != nil {
		return nil, fmt.Errorf("insert events: %w", err)
	}
	var toApply []applied
	var missing []domain.Identity
	for _, i := range rowIndex {
		id := recs[i].Event.Identity
		if pk, ok := pkOf[id]; ok {
			out[i] = domain.Stored
			toApply = append(toApply, applied{pk: pk, ev: recs[i].Event})
		} else {
			missing = append(missing, id)
		}
	}
	if len(missing) == 0 {
		return toApply, nil
	}
	seqs, err := storedSeqs(ctx, tx, missing)
	if err != nil {
		return nil, err
	}
	for _, i := range rowIndex {
		if out[i] != 0 {
			continue
		}
		seq, ok := seqs[recs[i].Event.Identity]
		if ok && recs[i].StreamSeq != 0 && seq == int64(recs[i].StreamSeq) {
			out[i] = domain.Redelivered
		} else {
			out[i] = domain.Duplicate
		}
	}
	return toApply, nil
}

// storedSeqs returns the stream sequence that stored each identity.
func storedSeqs(ctx context.Context, tx bun.IDB, ids []domain.Identity) (map[domain.Identity]int64, error) {
	out := make(map[domain.Identity]int64, len(ids))
	for start := 0; start < len(ids); start += insertChunk {
		chunk := ids[start:min(start+insertChunk, len(ids))]
		tuples := make([]any, 0, len(chunk))
		for _, id := range chunk {
			tuples = append(tuples, bun.List([]string{id.Source, id.ID}))
		}
		var rows []struct {
			Source    string `bun:"source"`
			EventID   string `bun:"event_id"`
			StreamSeq int64  `bun:"stream_seq"`
		}
		placeholders := make([]byte, 0, len(chunk)*4)
		for i := range chunk {
			if i > 0 {
				placeholders = append(placeholders, ',')
			}
			placeholders = append(placeholders, "(?)"...)
		}
		q := "SELECT source, event_id, stream_seq FROM events WHERE (source, event_id) IN (" + string(placeholders) + ")"
		if err := tx.NewRaw(q, tuples...).Scan(ctx, &rows); err != nil {
			return nil, fmt.Errorf("look up stored events: %w", err)
		}
		for _, r := range rows {
			out[domain.Identity{Source: r.Source, ID: r.EventID}] = r.StreamSeq
		}
	}
	return out, nil
}

// generation returns the projection generation. Writers hold a shared lock on
// it for their transaction (PostgreSQL), so a rebuild's exclusive lock waits
// for them and no event is applied twice within one generation. SQLite
// serialises writers anyway.
func (s *Store) generation(ctx context.Context, tx bun.Tx, exclusive bool) (int64, error) {
	q := "SELECT generation FROM projection_state WHERE id = 1"
	if s.dialect == Postgres {
		if exclusive {
			q += " FOR UPDATE"
		} else {
			q += " FOR SHARE"
		}
	}
	var gen int64
	if err := tx.NewRaw(q).Scan(ctx, &gen); err != nil {
		return 0, fmt.Errorf("read projection generation: %w", err)
	}
	return gen, nil
}

// Counter names of the ingest status.
const (
	counterStored      = "stored"
	counterDuplicates  = "duplicates"
	counterDeadLetters = "dead_letters"
)

type counterRow struct {
	bun.BaseModel `bun:"table:ingest_counters,alias:c"`

	Name  string `bun:"name,pk"`
	Shard string `bun:"shard,pk"`
	Value int64  `bun:"value"`
}

func (s *Store) addCounters(ctx context.Context, db bun.IDB, deltas map[string]int64) error {
	rows := make([]counterRow, 0, len(deltas))
	for name, d := range deltas {
		if d != 0 {
			rows = append(rows, counterRow{Name: name, Shard: s.shard, Value: d})
		}
	}
	if len(rows) == 0 {
		return nil
	}
	_, err := db.NewInsert().Model(&rows).
		On("CONFLICT (name, shard) DO UPDATE").
		Set("value = c.value + EXCLUDED.value").
		Exec(ctx)
	return err
}

// AddDuplicates counts duplicates detected before the consumer saw them (a
// publish that JetStream's duplicate window absorbed).
func (s *Store) AddDuplicates(ctx context.Context, n int64) error {
	return s.addCounters(ctx, s.db, map[string]int64{counterDuplicates: n})
}

// IngestStatus sums the counters.
func (s *Store) IngestStatus(ctx context.Context) (domain.IngestStatus, error) {
	var rows []struct {
		Name  string `bun:"name"`
		Total int64  `bun:"total"`
	}
	if err := s.db.NewRaw("SELECT name, SUM(value) AS total FROM ingest_counters GROUP BY name").Scan(ctx, &rows); err != nil {
		return domain.IngestStatus{}, err
	}
	var st domain.IngestStatus
	for _, r := range rows {
		switch r.Name {
		case counterStored:
			st.Stored = r.Total
		case counterDuplicates:
			st.Duplicates = r.Total
		case counterDeadLetters:
			st.DeadLetters = r.Total
		}
	}
	behind, err := s.underived(ctx)
	if err != nil {
		return domain.IngestStatus{}, err
	}
	st.Derived = max(0, st.Stored-behind)
	return st, nil
}

// StoredEvent is a raw event as kept, for rebuilds and drill-downs.
type StoredEvent struct {
	PK         int64
	Identity   domain.Identity
	Type       string
	Kind       domain.EventKind
	At         time.Time
	AppliedGen int64
	Data       []byte
}

// EventsAfter returns up to limit stored events with primary key above
// afterPK, in key order.
func (s *Store) EventsAfter(ctx context.Context, afterPK int64, limit int) ([]StoredEvent, error) {
	var rows []eventRow
	if err := s.db.NewSelect().Model(&rows).Where("id > ?", afterPK).Order("id").Limit(int64(limit)).Scan(ctx); err != nil {
		return nil, err
	}
	out := make([]StoredEvent, len(rows))
	for i, r := range rows {
		data, err := decodeRaw(r.Data)
		if err != nil {
			return nil, fmt.Errorf("event %d: %w", r.ID, err)
		}
		out[i] = StoredEvent{
			PK: r.ID, Identity: domain.Identity{Source: r.Source, ID: r.EventID}, Type: r.Type,
			Kind: domain.EventKind(r.Kind), At: fromMicros(r.At), AppliedGen: r.AppliedGen, Data: data,
		}
	}
	return out, nil
}

// canonicalAttrs is the stored key of an attribute set: JSON with sorted
// keys, written by hand because it runs for every telemetry sample.
func canonicalAttrs(attrs map[string]string) string {
	if len(attrs) == 0 {
		return "{}"
	}
	keys := make([]string, 0, len(attrs))
	for k := range attrs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	b := make([]byte, 0, 16*len(attrs))
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendQuote(b, k)
		b = append(b, ':')
		b = strconv.AppendQuote(b, attrs[k])
	}
	return string(append(b, '}'))
}

// ImportEvents stores events without projecting them, for bulk loads (a
// history moved from another installation, or a benchmark's). Projections
// come from a rebuild afterwards. Events already stored are skipped; the
// count of new ones is returned and added to the stored counter.
func (s *Store) ImportEvents(ctx context.Context, recs []domain.EventRecord) (int, error) {
	stored := 0
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		stored = 0
		var first int64 // the earliest delivery event stored
		now := micros(s.now())
		values := make([][]any, len(recs))
		for i, r := range recs {
			values[i] = []any{r.Event.Source, r.Event.ID, r.Event.Type, string(r.Event.Kind), r.Event.SubjectID,
				micros(r.Event.Time), now, int64(r.StreamSeq), int64(0), encodeRaw(r.Raw)}
		}
		if err := s.bulkQuery(ctx, tx, bulkSpec{
			table:  "events",
			cols:   []string{"source", "event_id", "type", "kind", "subject_id", "at", "received_at", "stream_seq", "applied_gen", "data"},
			suffix: "ON CONFLICT (source, event_id) DO NOTHING RETURNING id, kind, at",
		}, values, func(r *sql.Rows) error {
			var id, at int64
			var kind string
			if err := r.Scan(&id, &kind, &at); err != nil {
				return err
			}
			if kind != string(domain.KindTelemetry) && (first == 0 || at < first) {
				first = at
			}
			stored++
			return nil
		}); err != nil {
			return err
		}
		if _, err := s.noteCoverage(ctx, tx, first); err != nil {
			return err
		}
		return s.addCounters(ctx, tx, map[string]int64{counterStored: int64(stored)})
	})
	return stored, err
}

// Event returns one stored event by identity, as it arrived.
func (s *Store) Event(ctx context.Context, id domain.Identity) (domain.StoredEvent, error) {
	row := new(eventRow)
	if err := s.db.NewSelect().Model(row).Where("source = ?", id.Source).Where("event_id = ?", id.ID).Scan(ctx); err != nil {
		return domain.StoredEvent{}, notFound(err, "No event %s.", id.String())
	}
	data, err := decodeRaw(row.Data)
	if err != nil {
		return domain.StoredEvent{}, err
	}
	return domain.StoredEvent{
		Identity: id, Type: row.Type, Kind: domain.EventKind(row.Kind), SubjectID: row.SubjectID,
		At: fromMicros(row.At), ReceivedAt: fromMicros(row.ReceivedAt), StreamSeq: uint64(row.StreamSeq), Data: data,
	}, nil
}
