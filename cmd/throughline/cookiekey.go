package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"

	"github.com/throughline/throughline/adapters/sqlstore"
)

// cookieKeySetting names the web server's cookie key in the settings table.
const cookieKeySetting = "web_cookie_key"

// webCookieKey returns the key the web server derives CSRF tokens from and
// signs flash and device cookies with. It is made once per database and kept
// there, so every instance serving the same users shares it (a form rendered
// by one is accepted by another) and a restart leaves open pages working.
// Whoever can read the database can already do more than forge a cookie.
func webCookieKey(ctx context.Context, store *sqlstore.Store) ([]byte, error) {
	fresh := make([]byte, 32)
	if _, err := rand.Read(fresh); err != nil {
		return nil, err
	}
	// The first instance to store one wins; the others read it.
	if _, err := store.SetSettingOnce(ctx, cookieKeySetting, base64.StdEncoding.EncodeToString(fresh)); err != nil {
		return nil, fmt.Errorf("store the web cookie key: %w", err)
	}
	v, ok, err := store.Setting(ctx, cookieKeySetting)
	if err != nil {
		return nil, fmt.Errorf("read the web cookie key: %w", err)
	}
	key, decErr := base64.StdEncoding.DecodeString(v)
	if !ok || decErr != nil || len(key) < 32 {
		return nil, fmt.Errorf("the web cookie key in the settings table (%s) is not 32 bytes of base64: delete the row to make a new one", cookieKeySetting)
	}
	return key, nil
}
