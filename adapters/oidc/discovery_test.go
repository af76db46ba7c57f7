package oidc

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/throughline/throughline/domain"
)

// While the provider is down, a crowd of sign-in attempts asks it once,
// not once each, and asks again only after DiscoveryRetry.
func TestDiscoveryWhileTheProviderIsDown(t *testing.T) {
	var hits atomic.Int64
	idp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		time.Sleep(100 * time.Millisecond) // a slow, failing provider
		http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
	}))
	defer idp.Close()
	c, err := New(Config{Name: "Acme", Issuer: idp.URL, ClientID: "tl", ClientSecret: "s", RedirectURL: "http://tl.example/signin/oidc/callback"})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := c.AuthCodeURL(context.Background(), "state", "nonce", "verifier-verifier-verifier-verifier-verifier"); domain.ErrorCode(err) != domain.EUNAVAILABLE {
				t.Errorf("provider down: %v, want unavailable", err)
			}
		}()
	}
	wg.Wait()
	if n := hits.Load(); n != 1 {
		t.Errorf("20 attempts while the provider is down asked it %d times, want 1", n)
	}
	time.Sleep(DiscoveryRetry)
	_, _ = c.AuthCodeURL(context.Background(), "state", "nonce", "verifier-verifier-verifier-verifier-verifier")
	if n := hits.Load(); n != 2 {
		t.Errorf("after %s it asked %d times in all, want 2", DiscoveryRetry, n)
	}
}
