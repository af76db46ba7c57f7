package main

import (
	"context"
	"database/sql"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/uptrace/bun/driver/sqliteshim"

	"github.com/throughline/throughline/adapters/demo"
	"github.com/throughline/throughline/domain"
)

// TestSQLiteLockedDuringIngestion holds an exclusive write lock on the
// SQLite file from another connection for longer than the busy timeout
// while events arrive: ingestion logs the failure (loudly, with the
// reason), turns nothing into a dead letter, and stores every event once
// as soon as the lock is gone.
func TestSQLiteLockedDuringIngestion(t *testing.T) {
	cfg := testConfig(t)
	cfg.IngestBatch = 50
	app, logs := startAppWarnings(t, cfg)
	tok := token(t, app, domain.ScopeRead)

	other, err := sql.Open(sqliteshim.ShimName, "file:"+filepath.Join(cfg.DataDir, "throughline.db")+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	ctx := context.Background()
	conn, err := other.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(ctx, "BEGIN EXCLUSIVE"); err != nil {
		t.Fatal(err)
	}
	n, _, err := publishDemo(ctx, app.Bus, demo.Options{Days: 30, Seed: 8, End: time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(8 * time.Second) // longer than the 5 s busy timeout
	during := status(t, app, tok)
	if _, err := conn.ExecContext(ctx, "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	conn.Close()
	if during.Stored != 0 {
		t.Errorf("%d events stored while the database was locked", during.Stored)
	}
	loud := ""
	for _, line := range strings.Split(logs.String(), "\n") {
		if strings.Contains(line, "locked") || strings.Contains(line, "busy") {
			loud = line
			break
		}
	}
	if loud == "" {
		t.Errorf("nothing logged about the locked database:\n%s", logs.String())
	}
	t.Logf("logged: %s", loud)

	got := waitStored(t, app, tok, n, 2*time.Minute)
	if got.Stored != int64(n) || got.DeadLetters != 0 {
		t.Fatalf("after the lock: %+v, want %d stored and no dead letters", got, n)
	}
}

// startAppWarnings runs an App whose warnings and errors are kept for the
// test to read.
func startAppWarnings(t *testing.T, cfg Config) (*App, *syncBuffer) {
	t.Helper()
	logs := new(syncBuffer)
	app := NewApp(cfg, slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelWarn})), new(syncBuffer))
	if err := app.Run(context.Background()); err != nil {
		app.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { app.Close() })
	return app, logs
}

// waitStored polls the ingest status until n events are stored or within
// passes, and returns the last status.
func waitStored(t testing.TB, app *App, tok string, n int, within time.Duration) ingestStatus {
	t.Helper()
	var got ingestStatus
	for deadline := time.Now().Add(within); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if got = status(t, app, tok); got.Stored >= int64(n) {
			waitDerived(t, app, tok)
			break
		}
	}
	return got
}

// waitUnready waits (10 s at most) for /readyz to answer 503 naming check.
func waitUnready(t *testing.T, app *App, check string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		code, body := httpGet(t, app.URL()+"/readyz")
		if code == 503 && strings.Contains(body, check) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz during the outage: %d %s", code, body)
		}
	}
}
