package domaintest

import (
	"os"
	"testing"
)

// SlowVar asks for the long system tests (crash series, kill -9, full disk,
// outages, browser journeys, sweeps over every route): .ci/run sets it, and
// the README's plain `go test ./...` leaves them out to stay quick.
const SlowVar = "THROUGHLINE_TEST_SLOW"

// Slow skips a long system test unless THROUGHLINE_TEST_SLOW=1 asks for it.
// Under THROUGHLINE_TEST_STRICT=1 (CI) it always runs: CI never skips.
func Slow(tb testing.TB) {
	tb.Helper()
	if os.Getenv(SlowVar) == "1" || os.Getenv("THROUGHLINE_TEST_STRICT") == "1" {
		return
	}
	tb.Skipf("a long system test: set %s=1 to run it (CI does)", SlowVar)
}
