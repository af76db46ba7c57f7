// Package sqltest opens real databases for tests: a SQLite file in a temp
// dir always, and PostgreSQL in a fresh schema when THROUGHLINE_TEST_POSTGRES
// names a server. With THROUGHLINE_TEST_STRICT=1 (set by CI) a missing
// PostgreSQL fails the test instead of skipping it.
package sqltest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/throughline/throughline/adapters/sqlstore"
)

// PostgresEnv names the variable holding the PostgreSQL URL for tests.
const PostgresEnv = "THROUGHLINE_TEST_POSTGRES"

// Strict reports whether missing test services must fail rather than skip.
func Strict() bool { return os.Getenv("THROUGHLINE_TEST_STRICT") == "1" }

// PostgresDSN returns a DSN for a new, empty schema that is dropped when the
// test ends. It skips (or fails, in strict mode) without a server.
func PostgresDSN(t testing.TB) string {
	t.Helper()
	base := os.Getenv(PostgresEnv)
	if base == "" {
		if Strict() {
			t.Fatalf("%s is not set; CI must test PostgreSQL", PostgresEnv)
		}
		t.Skipf("%s not set; skipping PostgreSQL", PostgresEnv)
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema := "tltest_" + hex.EncodeToString(b)
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if _, err := admin.Exec("CREATE SCHEMA " + schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		db, err := sql.Open("pgx", base)
		if err != nil {
			return
		}
		defer db.Close()
		_, _ = db.Exec("DROP SCHEMA " + schema + " CASCADE")
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// Open returns a migrated store of the given dialect, closed at cleanup.
func Open(t testing.TB, dialect sqlstore.Dialect) *sqlstore.Store {
	t.Helper()
	return OpenWith(t, dialect, sqlstore.Options{})
}

// OpenWith is Open with options (a clock, production environments…); the
// data dir and DSN are filled in.
func OpenWith(t testing.TB, dialect sqlstore.Dialect, opts sqlstore.Options) *sqlstore.Store {
	t.Helper()
	opts.DataDir = t.TempDir()
	if dialect == sqlstore.Postgres {
		opts.DSN = PostgresDSN(t)
	}
	ctx := context.Background()
	s, err := sqlstore.Open(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return s
}

// EachDialect runs f as a subtest against SQLite and PostgreSQL.
func EachDialect(t *testing.T, f func(t *testing.T, s *sqlstore.Store)) {
	EachDialectWith(t, sqlstore.Options{}, f)
}

// EachDialectWith is EachDialect with options.
func EachDialectWith(t *testing.T, opts sqlstore.Options, f func(t *testing.T, s *sqlstore.Store)) {
	for _, d := range []sqlstore.Dialect{sqlstore.SQLite, sqlstore.Postgres} {
		t.Run(string(d), func(t *testing.T) { f(t, OpenWith(t, d, opts)) })
	}
}
