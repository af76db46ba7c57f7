package web

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"golang.org/x/time/rate"

	"github.com/throughline/throughline/domain"
)

// Password sign-in is throttled three ways (docs/reliability.md, "Web"):
//
//   - per client address: SignInRate attempts a minute, against one address
//     trying many accounts;
//   - per account: after freeFailures failures in a row, each further
//     attempt must wait firstBackoff, doubling up to maxBackoff, after the
//     last failure; attempts made sooner are refused unread and do not
//     count, so nobody is locked out for longer than maxBackoff;
//   - per device: a browser that signed in to an account keeps a signed
//     device cookie; its attempts at that account skip the two limits
//     above and are throttled on their own, so neither one address (a
//     shared office or proxy address among them) nor guesses from anywhere
//     else can lock a person out of the browsers they already use.
//
// The account is whatever e-mail was typed, whether or not it exists, so the
// answers are the same for both and do not tell which accounts exist.
const (
	freeFailures   = 5
	firstBackoff   = time.Second
	maxBackoff     = 15 * time.Minute
	forgetFailures = 24 * time.Hour
	// maxThrottled bounds the failures kept before old ones are swept.
	maxThrottled = 100_000
	deviceCookie = "throughline_device"
	deviceTTL    = 180 * 24 * time.Hour
)

// failureLog counts failed sign-ins by key (an account or a device).
type failureLog struct {
	mu      sync.Mutex
	entries map[string]failures
}

type failures struct {
	n    int
	last time.Time
}

// backoff is how long after the last of n failures in a row the next
// attempt waits.
func backoff(n int) time.Duration {
	if n < freeFailures {
		return 0
	}
	d := firstBackoff
	for i := freeFailures; i < n && d < maxBackoff; i++ {
		d *= 2
	}
	return min(d, maxBackoff)
}

// wait is how long key must still wait before its next attempt is read.
func (l *failureLog) wait(key string, now time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	f, ok := l.entries[key]
	if !ok {
		return 0
	}
	return max(f.last.Add(backoff(f.n)).Sub(now), 0)
}

func (l *failureLog) failed(key string, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.entries == nil {
		l.entries = map[string]failures{}
	}
	if len(l.entries) >= maxThrottled {
		l.sweep(now)
	}
	f := l.entries[key]
	if now.Sub(f.last) > forgetFailures {
		f.n = 0
	}
	l.entries[key] = failures{n: f.n + 1, last: now}
}

// sweep forgets old failures, then, if that is not enough, those that do
// not slow anyone down yet: the ones in backoff are what protects accounts.
func (l *failureLog) sweep(now time.Time) {
	for k, f := range l.entries {
		if now.Sub(f.last) > forgetFailures || (len(l.entries) >= maxThrottled/2 && f.n < freeFailures) {
			delete(l.entries, k)
		}
	}
}

func (l *failureLog) succeeded(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.entries, key)
}

// signInThrottle holds the three limits.
type signInThrottle struct {
	byAddress *middleware.RateLimiterMemoryStore
	failures  failureLog
}

func newSignInThrottle(perMinute int) *signInThrottle {
	return &signInThrottle{byAddress: middleware.NewRateLimiterMemoryStoreWithConfig(middleware.RateLimiterMemoryStoreConfig{
		Rate: rate.Limit(float64(perMinute) / 60), Burst: perMinute, ExpiresIn: 10 * time.Minute,
	})}
}

// accountKey names the account typed, normalised as the store does, hashed
// so that a long e-mail costs no more memory than a short one.
func accountKey(email string) string {
	sum := sha256.Sum256([]byte(strings.ToLower(strings.TrimSpace(email))))
	return "account\x00" + hex.EncodeToString(sum[:16])
}

// signInKey is the key a sign-in attempt is throttled by: the device when
// the browser holds a device cookie for the typed account, else the account.
// ok is false when the attempt must wait, with the answer already written.
func (s *Server) signInKey(c echo.Context, email, next string) (key string, ok bool, err error) {
	now := s.now()
	if device := s.deviceFor(c, email); device != "" {
		key = "device\x00" + device
	} else {
		if allowed, _ := s.signIns.byAddress.Allow(c.RealIP()); !allowed {
			c.Response().Header().Set("Retry-After", "60")
			return "", false, s.renderSignIn(c, http.StatusTooManyRequests, email, next,
				"Too many sign-in attempts from your address. Wait a minute and try again.")
		}
		key = accountKey(email)
	}
	if wait := s.signIns.failures.wait(key, now); wait > 0 {
		secs := int(math.Ceil(wait.Seconds()))
		c.Response().Header().Set("Retry-After", strconv.Itoa(secs))
		return "", false, s.renderSignIn(c, http.StatusTooManyRequests, email, next,
			"Too many failed sign-ins for this account. Wait "+domain.HumanSeconds(float64(secs))+" and try again.")
	}
	return key, true, nil
}

// device cookies: "<id>.<expiry unix>.<mac>", the MAC over the id, the
// expiry and the account's e-mail, which the cookie does not carry.

// deviceFor returns the id of the browser's device cookie when it is valid
// for email, else "".
func (s *Server) deviceFor(c echo.Context, email string) string {
	ck, err := c.Cookie(deviceCookie)
	if err != nil {
		return ""
	}
	parts := strings.Split(ck.Value, ".")
	if len(parts) != 3 || len(parts[0]) > 64 {
		return ""
	}
	exp, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil || s.now().Unix() > exp {
		return ""
	}
	if !hmac.Equal([]byte(parts[2]), []byte(s.deviceMAC(parts[0], parts[1], email))) {
		return ""
	}
	return parts[0]
}

// rememberDevice gives the browser a device cookie for the account it just
// signed in to.
func (s *Server) rememberDevice(c echo.Context, email string) {
	id := randomToken(16)
	exp := strconv.FormatInt(s.now().Add(deviceTTL).Unix(), 10)
	s.setCookie(c, deviceCookie, id+"."+exp+"."+s.deviceMAC(id, exp, email), deviceTTL)
}

func (s *Server) deviceMAC(id, exp, email string) string {
	email, _ = domain.NormalizeEmail(email)
	return base64.RawURLEncoding.EncodeToString(mac(s.keys.device, id+"\x00"+exp+"\x00"+email)[:16])
}
