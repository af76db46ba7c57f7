package sqlstore

import (
	"errors"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/throughline/throughline/domain"
)

type liteErr int

func (e liteErr) Error() string { return fmt.Sprintf("sqlite %d", int(e)) }
func (e liteErr) Code() int     { return int(e) }

func TestUnavailableErrorsAreRetriedNotRejected(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{liteErr(13), domain.EUNAVAILABLE},  // SQLITE_FULL
		{liteErr(5), domain.EUNAVAILABLE},   // SQLITE_BUSY
		{liteErr(778), domain.EUNAVAILABLE}, // SQLITE_IOERR_WRITE
		{liteErr(19), domain.EINTERNAL},     // SQLITE_CONSTRAINT: a bug or bad data, not an outage
		{&pgconn.PgError{Code: "53100"}, domain.EUNAVAILABLE},
		{&pgconn.PgError{Code: "57P01"}, domain.EUNAVAILABLE},
		{&pgconn.PgError{Code: "40001"}, domain.EUNAVAILABLE},
		{&pgconn.PgError{Code: "23505"}, domain.EINTERNAL},
		{fmt.Errorf("insert events: %w", &pgconn.PgError{Code: "08006"}), domain.EUNAVAILABLE},
		{errors.New("something else"), domain.EINTERNAL},
		{domain.Errorf(domain.EINVALID, "bad"), domain.EINVALID},
	} {
		err := unavailable(tc.err)
		if got := domain.ErrorCode(err); got != tc.want {
			t.Errorf("%v: %s, want %s", tc.err, got, tc.want)
		}
		if !errors.Is(err, tc.err) {
			t.Errorf("%v: the cause is lost", tc.err)
		}
	}
}
