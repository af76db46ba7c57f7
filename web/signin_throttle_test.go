package web_test

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/throughline/throughline/domain"
	"github.com/throughline/throughline/web"
)

// clock is a server clock the test moves.
type clock struct{ ns atomic.Int64 }

func newClock(t time.Time) *clock {
	c := new(clock)
	c.ns.Store(t.UnixNano())
	return c
}
func (c *clock) now() time.Time          { return time.Unix(0, c.ns.Load()).UTC() }
func (c *clock) advance(d time.Duration) { c.ns.Add(int64(d)) }

// attempt is one sign-in's answer: status, Retry-After and the message.
type attempt struct {
	status int
	retry  string
	msg    string
}

// tryPassword posts the sign-in form from a browser (which may hold a device
// cookie) at a client address.
func (e *env) tryPassword(c *http.Client, addr, email, password string) attempt {
	e.t.Helper()
	_, page := e.get(c, "/signin")
	token, _ := page.Find(`input[name="_csrf"]`).Attr("value")
	resp, doc := e.post(c, "/signin", url.Values{"_csrf": {token}, "email": {email}, "password": {password}},
		http.Header{"X-Forwarded-For": {addr}})
	return attempt{resp.StatusCode, resp.Header.Get("Retry-After"), strings.TrimSpace(doc.Find(`[data-testid="signin-error"]`).Text())}
}

// Failed sign-ins slow down the account they were aimed at, from any
// address: after 5 in a row each next attempt waits 1 s, 2 s, 4 s… up to 15
// minutes, and attempts made sooner are refused unread, even with the right
// password. An account that does not exist answers exactly the same. Other
// accounts are not slowed; the wait never exceeds 15 minutes, after which
// the right password works; a sign-in starts the count again.
func TestSignInIsThrottledPerAccount(t *testing.T) {
	clk := newClock(time.Date(2026, 3, 20, 12, 0, 0, 0, time.UTC))
	e := newEnvWith(t, envOptions{now: clk.now, config: func(c *web.Config) { c.TrustProxy, c.SignInRate = true, 10000 }})
	e.user("victim@example.com", domain.RoleViewer)
	e.user("bystander@example.com", domain.RoleViewer)
	n := 0
	addr := func() string { n++; return "198.51.100." + strconv.Itoa(n%250) } // a botnet: a new address each time

	for _, account := range []string{"victim@example.com", "ghost@example.com"} {
		var got []attempt
		for i := 0; i < 5; i++ {
			got = append(got, e.tryPassword(e.client(), addr(), account, "guess "+strconv.Itoa(i)))
		}
		got = append(got, e.tryPassword(e.client(), addr(), account, "guess 5"), e.tryPassword(e.client(), addr(), account, testPassword))
		for i, a := range got {
			want := attempt{http.StatusUnauthorized, "", "Wrong e-mail or password."}
			if i >= 5 {
				want = attempt{http.StatusTooManyRequests, "1", "Too many failed sign-ins for this account. Wait 1 s and try again."}
			}
			if a != want {
				t.Errorf("%s, attempt %d: %+v; want %+v", account, i+1, a, want)
			}
		}
	}
	if a := e.tryPassword(e.client(), addr(), "bystander@example.com", testPassword); a.status != http.StatusSeeOther {
		t.Fatalf("another account was slowed down: %+v", a)
	}

	// The waits double, up to 15 minutes, whoever keeps guessing.
	var waits []string
	for i := 0; i < 14; i++ {
		a := e.tryPassword(e.client(), addr(), "victim@example.com", "guess")
		if a.status != http.StatusTooManyRequests {
			t.Fatalf("guess %d made during the wait: %+v", i, a)
		}
		waits = append(waits, a.retry)
		secs, _ := strconv.Atoi(a.retry)
		clk.advance(time.Duration(secs) * time.Second)
		if a := e.tryPassword(e.client(), addr(), "victim@example.com", "guess"); a.status != http.StatusUnauthorized {
			t.Fatalf("guess %d after the wait: %+v", i, a)
		}
	}
	if got := strings.Join(waits, ","); got != "1,2,4,8,16,32,64,128,256,512,900,900,900,900" {
		t.Errorf("waits %s", got)
	}
	// The real user in a new browser waits at most 15 minutes, then is in.
	if a := e.tryPassword(e.client(), addr(), "victim@example.com", testPassword); a.status != http.StatusTooManyRequests || a.msg != "Too many failed sign-ins for this account. Wait 15 min and try again." {
		t.Fatalf("the right password during the wait: %+v", a)
	}
	clk.advance(15 * time.Minute)
	if a := e.tryPassword(e.client(), addr(), "victim@example.com", testPassword); a.status != http.StatusSeeOther {
		t.Fatalf("the right password after 15 minutes: %+v", a)
	}
	// Signing in started the count again: 5 free failures.
	for i := 0; i < 5; i++ {
		if a := e.tryPassword(e.client(), addr(), "victim@example.com", "guess"); a.status != http.StatusUnauthorized {
			t.Fatalf("failure %d after a sign-in: %+v", i+1, a)
		}
	}
}

// A browser that signed in to an account before is not held up by guesses
// at that account from elsewhere, nor by its address's limit when others at
// that address (an office, a proxy) use it up: its attempts have their own
// count. Its device cookie is worth nothing for another account.
func TestSignInKnownBrowserIsNotLockedOut(t *testing.T) {
	clk := newClock(time.Date(2026, 3, 20, 12, 0, 0, 0, time.UTC))
	e := newEnvWith(t, envOptions{now: clk.now, config: func(c *web.Config) { c.TrustProxy, c.SignInRate = true, 5 }})
	e.user("victim@example.com", domain.RoleViewer)
	e.user("other@example.com", domain.RoleViewer)
	const office = "203.0.113.7"
	known := e.client()
	if a := e.tryPassword(known, office, "victim@example.com", testPassword); a.status != http.StatusSeeOther {
		t.Fatalf("first sign-in: %+v", a)
	}
	if resp, _ := e.post(known, "/signout", withCSRF(nil, e.csrfOf(known)), nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-out: %d", resp.StatusCode)
	}
	// Someone at the office uses up its address and the victim's account.
	limited := false
	for i := 0; i < 20 && !limited; i++ {
		limited = e.tryPassword(e.client(), office, "victim@example.com", "guess").status == http.StatusTooManyRequests
	}
	for i := 0; i < 10; i++ {
		e.tryPassword(e.client(), "198.51.100."+strconv.Itoa(i), "victim@example.com", "guess")
	}
	if a := e.tryPassword(e.client(), office, "victim@example.com", testPassword); !limited || a.status != http.StatusTooManyRequests {
		t.Fatalf("the office address and the account should both be held up now: %v %+v", limited, a)
	}
	// The victim's own browser, at the same address, is not.
	if a := e.tryPassword(known, office, "victim@example.com", testPassword); a.status != http.StatusSeeOther {
		t.Fatalf("the known browser: %+v", a)
	}
	// Its device cookie does not help it at another account.
	e.post(known, "/signout", withCSRF(nil, e.csrfOf(known)), nil)
	if a := e.tryPassword(known, office, "other@example.com", testPassword); a.status != http.StatusTooManyRequests {
		t.Errorf("the device cookie lifted the limit for another account: %+v", a)
	}
	// And it is throttled on its own: five failures, then a wait.
	for i := 0; i < 5; i++ {
		if a := e.tryPassword(known, office, "victim@example.com", "typo"); a.status != http.StatusUnauthorized {
			t.Fatalf("the known browser's failure %d: %+v", i+1, a)
		}
	}
	if a := e.tryPassword(known, office, "victim@example.com", testPassword); a.status != http.StatusTooManyRequests {
		t.Errorf("the known browser after 5 failures: %+v", a)
	}
}
