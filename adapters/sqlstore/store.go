// Package sqlstore keeps Throughline's state in SQL through bun: SQLite (the
// embedded default, pure Go via modernc) or PostgreSQL (pgx) for production.
// Rows here are persistence shapes; mappers turn them into domain types.
package sqlstore

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"
	"github.com/uptrace/bun/dialect/sqlitedialect"
	"github.com/uptrace/bun/driver/sqliteshim"
	"github.com/uptrace/bun/migrate"

	"github.com/throughline/throughline/domain"
	"github.com/throughline/throughline/migrations"
)

// Dialect names the SQL database behind a Store.
type Dialect string

const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// sqlitePragmas are applied to every pooled connection. modernc wants them as
// _pragma=name(value); mattn-style keys would be ignored silently.
// page_size applies when the file is created: 16 KiB pages suit rows that
// carry whole events (fewer pages and WAL writes per commit).
// _txlock=immediate takes the write lock at BEGIN so that concurrent writers
// wait on busy_timeout instead of failing to upgrade a read transaction.
const sqlitePragmas = "_pragma=page_size(16384)&_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)&_txlock=immediate"

// Store is the SQL-backed persistence for every domain type.
type Store struct {
	db                *bun.DB
	dialect           Dialect
	now               func() time.Time
	prodEnvs          domain.ProductionEnvs
	minuteRetention   time.Duration
	attributionWindow time.Duration
	// shard names this process's rows in sharded counters.
	shard string

	version doraVersion
	flow    flowSnapshot
	reports versionCache[domain.DORAReport]
	trends  versionCache[[]domain.DORAReport]
	// parts keeps the facts of week and month buckets, slices sorted, so
	// that any window's report is assembled from them (ReportParts).
	parts versionCache[domain.DORAFacts]
	// coverage is coverage_from as of a rollup version.
	coverage coverageCache

	// series caches metric series ids; series are never deleted.
	seriesMu sync.RWMutex
	series   map[seriesKey]int64
}

// Options configure Open.
type Options struct {
	// DSN is a postgres:// URL, a sqlite file path (optionally "sqlite:" or
	// "file:" prefixed), or empty for DataDir/throughline.db.
	DSN     string
	DataDir string
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// ProductionEnvs decides which environments are production
	// (default: production, prod).
	ProductionEnvs domain.ProductionEnvs
	// MinuteRetention is how long minute-resolution telemetry rollups are
	// kept (default 7 days); hour and day rollups are kept for good. Minute
	// detail serves the short SLO burn-rate windows and recent charts.
	MinuteRetention time.Duration
	// AttributionWindow bounds DORA failure rule 3 (default 24h).
	AttributionWindow time.Duration
}

// Open connects to the database named by opts. It does not migrate.
func Open(ctx context.Context, opts Options) (*Store, error) {
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	dialect, dsn, err := resolveDSN(opts.DSN, opts.DataDir)
	if err != nil {
		return nil, err
	}
	var db *bun.DB
	switch dialect {
	case Postgres:
		sqldb, err := sql.Open("pgx", dsn)
		if err != nil {
			return nil, fmt.Errorf("open postgres: %w", err)
		}
		sqldb.SetMaxOpenConns(16)
		sqldb.SetMaxIdleConns(16)
		sqldb.SetConnMaxIdleTime(5 * time.Minute)
		db = bun.NewDB(sqldb, pgdialect.New())
	case SQLite:
		sqldb, err := sql.Open(sqliteshim.ShimName, dsn)
		if err != nil {
			return nil, fmt.Errorf("open sqlite: %w", err)
		}
		// WAL allows readers alongside the single writer; a handful of
		// connections is plenty and keeps memory per connection bounded.
		sqldb.SetMaxOpenConns(8)
		sqldb.SetMaxIdleConns(8)
		sqldb.SetConnMaxIdleTime(0)
		db = bun.NewDB(sqldb, sqlitedialect.New())
	}
	prod := opts.ProductionEnvs
	if len(prod) == 0 {
		prod = domain.ParseProductionEnvs("production,prod")
	}
	minuteRetention := opts.MinuteRetention
	if minuteRetention <= 0 {
		minuteRetention = 7 * 24 * time.Hour
	}
	window := opts.AttributionWindow
	if window <= 0 {
		window = 24 * time.Hour
	}
	s := &Store{db: db, dialect: dialect, now: now, prodEnvs: prod, minuteRetention: minuteRetention,
		attributionWindow: window, shard: randomShard(), series: map[seriesKey]int64{}}
	// Weeks and months of every scope for years fit: most are small.
	s.parts.limit = 1 << 15
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := db.PingContext(pingCtx); err != nil {
		db.Close()
		return nil, fmt.Errorf("connect to %s database: %w", dialect, err)
	}
	return s, nil
}

func randomShard() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// resolveDSN decides the dialect and the driver DSN.
func resolveDSN(dsn, dataDir string) (Dialect, string, error) {
	switch {
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		return Postgres, dsn, nil
	case dsn == "":
		if dataDir == "" {
			dataDir = "./data"
		}
		if err := os.MkdirAll(dataDir, 0o750); err != nil {
			return "", "", fmt.Errorf("create data dir: %w", err)
		}
		return SQLite, sqliteDSN(filepath.Join(dataDir, "throughline.db")), nil
	case strings.HasPrefix(dsn, "sqlite://"):
		return SQLite, sqliteDSN(strings.TrimPrefix(dsn, "sqlite://")), nil
	case strings.HasPrefix(dsn, "sqlite:"):
		return SQLite, sqliteDSN(strings.TrimPrefix(dsn, "sqlite:")), nil
	case strings.HasPrefix(dsn, "file:"):
		return SQLite, sqliteDSN(strings.TrimPrefix(dsn, "file:")), nil
	case strings.Contains(dsn, "://"):
		return "", "", domain.Errorf(domain.EINVALID, "unsupported database URL %q: use postgres://… or a SQLite file path", redactDSN(dsn))
	default:
		return SQLite, sqliteDSN(dsn), nil
	}
}

func sqliteDSN(path string) string {
	if i := strings.IndexByte(path, '?'); i >= 0 {
		return "file:" + path + "&" + sqlitePragmas
	}
	return "file:" + path + "?" + sqlitePragmas
}

// redactDSN hides a password in a database URL so that it can be logged.
func redactDSN(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil || u.User == nil {
		return dsn
	}
	return u.Redacted()
}

// Dialect reports which database the store talks to.
func (s *Store) Dialect() Dialect { return s.dialect }

// DB exposes the bun handle for tests and benchmarks in this module.
func (s *Store) DB() *bun.DB { return s.db }

// Ping checks that the database answers; used by /readyz.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	return s.db.NewRaw("SELECT 1").Scan(ctx, &one)
}

// Close closes the connection pool.
func (s *Store) Close() error {
	if s.dialect == SQLite {
		// Fold the WAL back into the main file so a copied data dir is whole.
		_, _ = s.db.Exec("PRAGMA wal_checkpoint(TRUNCATE)")
	}
	return s.db.Close()
}

// Migrate applies every migration not yet applied. On PostgreSQL an advisory
// lock keeps concurrent instances from migrating at the same time; SQLite's
// own write lock serialises each migration's transaction.
func (s *Store) Migrate(ctx context.Context) (applied []string, err error) {
	fsys, err := migrations.ForDialect(string(s.dialect))
	if err != nil {
		return nil, err
	}
	if applied, err = s.MigrateFS(ctx, fsys); err != nil {
		return applied, err
	}
	return applied, s.backfillFlow(ctx)
}

// MigrateFS applies the migrations in fsys. A migration is marked applied
// only after it succeeded; a failure stops the run and is returned.
func (s *Store) MigrateFS(ctx context.Context, fsys fs.FS) (applied []string, err error) {
	ms := migrate.NewMigrations()
	if err := ms.Discover(fsys); err != nil {
		return nil, fmt.Errorf("discover migrations: %w", err)
	}
	m := migrate.NewMigrator(s.db, ms, migrate.WithMarkAppliedOnSuccess(true))
	if s.dialect == Postgres {
		conn, err := s.db.Conn(ctx)
		if err != nil {
			return nil, err
		}
		defer conn.Close()
		const lockKey = 7_236_041_190 // arbitrary, fixed: "throughline migrate"
		if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock(?)", lockKey); err != nil {
			return nil, fmt.Errorf("lock migrations: %w", err)
		}
		defer conn.ExecContext(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock(?)", lockKey)
	}
	if err := m.Init(ctx); err != nil {
		return nil, fmt.Errorf("init migrations: %w", err)
	}
	group, err := m.Migrate(ctx)
	if group != nil {
		for _, mig := range group.Migrations {
			applied = append(applied, mig.Name+"_"+mig.Comment)
		}
	}
	if err != nil {
		if len(applied) > 0 {
			applied = applied[:len(applied)-1] // the last one failed
		}
		return applied, fmt.Errorf("migrate: %w", err)
	}
	return applied, nil
}

// micros converts a time to the stored representation.
func micros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

// fromMicros converts a stored time back; 0 means "never".
func fromMicros(us int64) time.Time {
	if us == 0 {
		return time.Time{}
	}
	return time.UnixMicro(us).UTC()
}

// notFound maps sql.ErrNoRows to a domain ENOTFOUND error.
func notFound(err error, format string, args ...any) error {
	if errors.Is(err, sql.ErrNoRows) {
		return domain.Errorf(domain.ENOTFOUND, format, args...)
	}
	return err
}

// isNoRows reports a query that found nothing.
func isNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }

// isUniqueViolation recognises a unique-constraint failure on both dialects.
func isUniqueViolation(err error) bool {
	if err == nil {
		return false
	}
	msg := err.Error()
	return strings.Contains(msg, "UNIQUE constraint failed") || // sqlite
		strings.Contains(msg, "SQLSTATE 23505") || // pgx
		strings.Contains(msg, "duplicate key value")
}

// Setting reads a value from the settings table.
func (s *Store) Setting(ctx context.Context, key string) (string, bool, error) {
	var vals []string
	if err := s.db.NewRaw("SELECT value FROM settings WHERE key = ?", key).Scan(ctx, &vals); err != nil {
		return "", false, err
	}
	if len(vals) == 0 {
		return "", false, nil
	}
	return vals[0], true, nil
}

// SetSettingOnce stores a value unless the key exists, and reports whether
// this call stored it: a start-up task claims its one run with it.
func (s *Store) SetSettingOnce(ctx context.Context, key, value string) (bool, error) {
	res, err := s.db.NewRaw("INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING", key, value).Exec(ctx)
	if err != nil {
		return false, err
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}
