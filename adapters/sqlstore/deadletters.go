package sqlstore

import (
	"context"
	"encoding/json"

	"github.com/uptrace/bun"

	"github.com/throughline/throughline/domain"
)

type deadLetterRow struct {
	bun.BaseModel `bun:"table:dead_letters,alias:dl"`

	ID         int64  `bun:"id,pk,autoincrement"`
	StreamSeq  int64  `bun:"stream_seq"`
	Subject    string `bun:"subject"`
	Reason     string `bun:"reason"`
	Message    string `bun:"message"`
	At         int64  `bun:"at"`
	Data       []byte `bun:"data"`
	Headers    string `bun:"headers"`
	ReplayedAt int64  `bun:"replayed_at"`
}

func (r *deadLetterRow) toDomain() domain.DeadLetter {
	var h map[string][]string
	_ = json.Unmarshal([]byte(r.Headers), &h)
	return domain.DeadLetter{
		ID: r.ID, StreamSeq: uint64(r.StreamSeq), Subject: r.Subject, Reason: r.Reason, Message: r.Message,
		At: fromMicros(r.At), Data: r.Data, Header: h, ReplayedAt: fromMicros(r.ReplayedAt),
	}
}

// RecordDeadLetter keeps a dead letter and counts it. A message already
// recorded (same stream sequence, e.g. redelivered after a crash) is not
// recorded or counted again; recorded reports which happened.
func (s *Store) RecordDeadLetter(ctx context.Context, dl domain.DeadLetter) (recorded bool, err error) {
	headers, _ := json.Marshal(dl.Header)
	if dl.Data == nil {
		dl.Data = []byte{}
	}
	at := dl.At
	if at.IsZero() {
		at = s.now()
	}
	row := &deadLetterRow{
		StreamSeq: int64(dl.StreamSeq), Subject: dl.Subject, Reason: dl.Reason, Message: dl.Message,
		At: micros(at), Data: dl.Data, Headers: string(headers),
	}
	err = s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		res, err := tx.NewInsert().Model(row).On("CONFLICT (stream_seq) WHERE stream_seq > 0 DO NOTHING").Exec(ctx)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		recorded = true
		return s.addCounters(ctx, tx, map[string]int64{counterDeadLetters: 1})
	})
	return recorded, err
}

// DeadLetters returns the most recent dead letters, newest first.
func (s *Store) DeadLetters(ctx context.Context, limit int) ([]domain.DeadLetter, error) {
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	var rows []deadLetterRow
	if err := s.db.NewSelect().Model(&rows).Order("id DESC").Limit(int64(limit)).Scan(ctx); err != nil {
		return nil, err
	}
	out := make([]domain.DeadLetter, len(rows))
	for i := range rows {
		out[i] = rows[i].toDomain()
	}
	return out, nil
}

// DeadLetter returns one dead letter.
func (s *Store) DeadLetter(ctx context.Context, id int64) (domain.DeadLetter, error) {
	row := new(deadLetterRow)
	if err := s.db.NewSelect().Model(row).Where("id = ?", id).Scan(ctx); err != nil {
		return domain.DeadLetter{}, notFound(err, "Dead letter %d not found.", id)
	}
	return row.toDomain(), nil
}

// MarkReplayed records that a dead letter was sent back to the events stream.
func (s *Store) MarkReplayed(ctx context.Context, id int64) error {
	_, err := s.db.NewUpdate().Model((*deadLetterRow)(nil)).Set("replayed_at = ?", micros(s.now())).Where("id = ?", id).Exec(ctx)
	return err
}
