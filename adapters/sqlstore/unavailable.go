package sqlstore

import (
	"context"
	"database/sql/driver"
	"errors"
	"io"
	"net"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/throughline/throughline/domain"
)

// SQLite's primary result codes for a database that cannot take a write
// now but will once the cause is gone (https://sqlite.org/rescode.html).
const (
	sqliteBusy     = 5
	sqliteLocked   = 6
	sqliteNoMem    = 7
	sqliteIOErr    = 10
	sqliteFull     = 13
	sqliteCantOpen = 14
)

// unavailable marks err as domain.EUNAVAILABLE when it says the database
// cannot do the work now — its disk is full, it is locked, out of memory,
// shutting down or unreachable, or the transaction lost a race it can win on
// a retry — so that callers retry instead of giving up on the input. Other
// errors are returned as they are.
func unavailable(err error) error {
	if err == nil || domain.ErrorCode(err) != domain.EINTERNAL {
		return err
	}
	if why := unavailableBecause(err); why != "" {
		return &domain.Error{Code: domain.EUNAVAILABLE, Message: "The database cannot take writes now: " + why + ".", Err: err}
	}
	return err
}

func unavailableBecause(err error) string {
	var lite interface{ Code() int }
	if errors.As(err, &lite) {
		switch lite.Code() & 0xff {
		case sqliteFull:
			return "the disk is full"
		case sqliteBusy, sqliteLocked:
			return "it is locked by another connection"
		case sqliteNoMem:
			return "it is out of memory"
		case sqliteIOErr, sqliteCantOpen:
			return "its file cannot be written"
		}
		return ""
	}
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		switch {
		case pg.Code == "53100":
			return "the disk is full"
		case strings.HasPrefix(pg.Code, "53"):
			return "it is out of resources (" + pg.Code + ")"
		case strings.HasPrefix(pg.Code, "08"), strings.HasPrefix(pg.Code, "57P"):
			return "it is shutting down or unreachable (" + pg.Code + ")"
		case pg.Code == "40001", pg.Code == "40P01":
			return "the transaction conflicted with another one (" + pg.Code + ")"
		}
		return ""
	}
	var netErr net.Error
	var connErr *pgconn.ConnectError
	switch {
	case errors.As(err, &connErr), errors.As(err, &netErr),
		errors.Is(err, driver.ErrBadConn), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, context.DeadlineExceeded):
		return "it is unreachable"
	}
	return ""
}
