package main

import (
	"bytes"
	"context"
	"testing"

	"github.com/throughline/throughline/adapters/sqlstore"
	"github.com/throughline/throughline/adapters/sqlstore/sqltest"
)

// The cookie key is made once per database: every instance on it (and the
// same one after a restart) gets the same key, another database another.
func TestWebCookieKeyIsSharedThroughTheDatabase(t *testing.T) {
	ctx := context.Background()
	store := sqltest.Open(t, sqlstore.SQLite)
	first, err := webCookieKey(ctx, store)
	if err != nil || len(first) != 32 {
		t.Fatalf("first key: %d bytes, %v", len(first), err)
	}
	again, err := webCookieKey(ctx, store)
	if err != nil || !bytes.Equal(first, again) {
		t.Fatalf("a second instance got another key (%v)", err)
	}
	other, err := webCookieKey(ctx, sqltest.Open(t, sqlstore.SQLite))
	if err != nil || bytes.Equal(first, other) {
		t.Fatalf("two databases share a key (%v)", err)
	}
	if _, err := store.DB().ExecContext(ctx, "UPDATE settings SET value = 'c2hvcnQ=' WHERE key = ?", cookieKeySetting); err != nil {
		t.Fatal(err)
	}
	if _, err := webCookieKey(ctx, store); err == nil {
		t.Error("a damaged key was accepted")
	}
}
