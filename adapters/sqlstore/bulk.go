package sqlstore

import (
	"context"
	"database/sql"
	"strconv"
	"strings"

	"github.com/uptrace/bun"
)

// bulkSpec describes a multi-row INSERT whose values are bound as driver
// parameters. bun interpolates values into the SQL text, which makes SQLite
// parse every blob as a hex literal; on the ingest path this is the
// difference between parsing a statement and parsing megabytes.
type bulkSpec struct {
	table  string
	cols   []string
	suffix string // ON CONFLICT … / RETURNING …
}

// maxParams keeps statements under both dialects' parameter limits.
const maxParams = 30000

// sqlFor builds the statement for n rows with the dialect's placeholders.
func (s *Store) sqlFor(b bulkSpec, n int) string {
	var sb strings.Builder
	sb.WriteString("INSERT INTO ")
	sb.WriteString(b.table)
	sb.WriteString(" (")
	sb.WriteString(strings.Join(b.cols, ", "))
	sb.WriteString(") VALUES ")
	p := 1
	for r := 0; r < n; r++ {
		if r > 0 {
			sb.WriteByte(',')
		}
		sb.WriteByte('(')
		for c := range b.cols {
			if c > 0 {
				sb.WriteByte(',')
			}
			if s.dialect == Postgres {
				sb.WriteByte('$')
				sb.WriteString(strconv.Itoa(p))
				p++
			} else {
				sb.WriteByte('?')
			}
		}
		sb.WriteByte(')')
	}
	if b.suffix != "" {
		sb.WriteByte(' ')
		sb.WriteString(b.suffix)
	}
	return sb.String()
}

// rowsPerStatement picks how many rows go in one statement. PostgreSQL
// gets large statements (each is a network round trip). SQLite gets small
// ones, prepared once and reused: modernc's driver finds each parameter with
// a linear scan over all arguments, so binding costs grow with the square of
// the parameters per statement.
func (s *Store) rowsPerStatement(cols int) int {
	if s.dialect == SQLite {
		return max(1, 96/cols)
	}
	return max(1, min(insertChunk, maxParams/cols))
}

// bulkRun executes the insert for every chunk of rows, calling run with the
// statement and its arguments.
func (s *Store) bulkRun(ctx context.Context, tx bun.Tx, b bulkSpec, rows [][]any, run func(stmt *sql.Stmt, args []any) error) error {
	per := s.rowsPerStatement(len(b.cols))
	var full *sql.Stmt
	defer func() {
		if full != nil {
			full.Close()
		}
	}()
	args := make([]any, 0, per*len(b.cols))
	for start := 0; start < len(rows); start += per {
		chunk := rows[start:min(start+per, len(rows))]
		args = args[:0]
		for _, r := range chunk {
			args = append(args, r...)
		}
		stmt := full
		if len(chunk) < per || stmt == nil {
			var err error
			if stmt, err = tx.Tx.PrepareContext(ctx, s.sqlFor(b, len(chunk))); err != nil {
				return err
			}
			if len(chunk) == per {
				full = stmt
			} else {
				defer stmt.Close()
			}
		}
		if err := run(stmt, args); err != nil {
			return err
		}
	}
	return nil
}

// bulkExec inserts rows (each a slice of len(cols) values).
func (s *Store) bulkExec(ctx context.Context, tx bun.Tx, b bulkSpec, rows [][]any) error {
	return s.bulkRun(ctx, tx, b, rows, func(stmt *sql.Stmt, args []any) error {
		_, err := stmt.ExecContext(ctx, args...)
		return err
	})
}

// bulkQuery is bulkExec with RETURNING: scan is called for every row returned.
func (s *Store) bulkQuery(ctx context.Context, tx bun.Tx, b bulkSpec, rows [][]any, scan func(*sql.Rows) error) error {
	return s.bulkRun(ctx, tx, b, rows, func(stmt *sql.Stmt, args []any) error {
		res, err := stmt.QueryContext(ctx, args...)
		if err != nil {
			return err
		}
		defer res.Close()
		for res.Next() {
			if err := scan(res); err != nil {
				return err
			}
		}
		return res.Err()
	})
}
