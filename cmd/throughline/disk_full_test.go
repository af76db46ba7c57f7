package main

import (
	"context"
	"database/sql"
	"errors"
	"github.com/throughline/throughline/domain/domaintest"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/uptrace/bun/driver/sqliteshim"

	"github.com/throughline/throughline/adapters/demo"
	"github.com/throughline/throughline/adapters/sqlstore/sqltest"
	"github.com/throughline/throughline/domain"
)

// smallDisk mounts a tmpfs of the given size for the test: a disk that can
// really fill up. Mounting needs root; elsewhere the test is skipped, except
// in CI (THROUGHLINE_TEST_STRICT=1), where it fails.
func smallDisk(t *testing.T, size string) string {
	t.Helper()
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size="+size); err != nil {
		if sqltest.Strict() {
			t.Fatalf("mount a %s tmpfs: %v", size, err)
		}
		t.Skipf("mount a %s tmpfs (needs root): %v", size, err)
	}
	t.Cleanup(func() { _ = syscall.Unmount(dir, syscall.MNT_DETACH) })
	return dir
}

// fill writes to path until the file system has no space left.
func fill(t *testing.T, path string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, chunk := range []int{1 << 20, 4 << 10, 512} {
		buf := make([]byte, chunk)
		for {
			if _, err := f.Write(buf); err != nil {
				if !errors.Is(err, syscall.ENOSPC) {
					t.Fatal(err)
				}
				break
			}
		}
	}
}

// TestFullDiskDuringIngestion puts the SQLite database on a small disk and
// fills that disk while events arrive (the embedded NATS store stays on
// another disk, as --db allows). Writes fail with the reason logged; events
// are retried, not declared dead letters, however often they are
// redelivered; pages keep being served; and once space is freed every event
// is stored exactly once and the database is intact.
func TestFullDiskDuringIngestion(t *testing.T) {
	domaintest.Slow(t)
	disk := smallDisk(t, "64m")
	cfg := testConfig(t)
	cfg.DB = filepath.Join(disk, "throughline.db")
	cfg.IngestBatch = 50
	cfg.MaxDeliver = 2 // a poison message would be a dead letter after two deliveries
	app, logs := startAppWarnings(t, cfg)
	tok := token(t, app, domain.ScopeRead)

	filler := filepath.Join(disk, "filler")
	fill(t, filler)
	ctx := context.Background()
	n, _, err := publishDemo(ctx, app.Bus, demo.Options{Days: 30, Seed: 9, End: time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(6 * time.Second) // several deliveries of every message
	during := status(t, app, tok)
	if during.Stored >= int64(n) {
		t.Fatalf("all %d events stored on a full disk; the test proves nothing", n)
	}
	if during.DeadLetters != 0 || strings.Contains(logs.String(), "dead letter") {
		t.Errorf("%d dead letters while the disk was full (want 0), or an attempt to make one:\n%s", during.DeadLetters, logs.String())
	}
	if code := getJSON(t, app.URL()+"/api/v1/dora", tok, new(map[string]any)); code != 200 {
		t.Errorf("GET /api/v1/dora on a full disk: %d; want 200", code)
	}
	loud := ""
	for _, line := range strings.Split(logs.String(), "\n") {
		if strings.Contains(line, "disk is full") {
			loud = line
			break
		}
	}
	if loud == "" {
		t.Errorf("nothing logged about the full disk:\n%s", logs.String())
	}
	t.Logf("while full (%d of %d stored): %s", during.Stored, n, loud)

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	freed := time.Now()
	got := waitStored(t, app, tok, n, 2*time.Minute)
	if got.Stored != int64(n) || got.DeadLetters != 0 {
		t.Fatalf("after freeing the disk: %+v, want %d stored and no dead letters", got, n)
	}
	t.Logf("all %d stored %.1f s after space was freed", n, time.Since(freed).Seconds())

	db, err := sql.Open(sqliteshim.ShimName, "file:"+cfg.DB)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var check string
	if err := db.QueryRow("PRAGMA integrity_check").Scan(&check); err != nil || check != "ok" {
		t.Fatalf("integrity_check: %q, %v", check, err)
	}
}
