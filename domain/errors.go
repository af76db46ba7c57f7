package domain

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Error codes. The web layer maps each to one HTTP status; the event consumer
// maps EINVALID to a dead letter, EUNAVAILABLE to a retry without limit (an
// outage is not a poison message) and anything else to a bounded retry.
const (
	ECONFLICT     = "conflict"
	EINTERNAL     = "internal"
	EINVALID      = "invalid"
	ENOTFOUND     = "not_found"
	EUNAUTHORIZED = "unauthorized"
	EFORBIDDEN    = "forbidden"
	ETOOMANY      = "too_many_requests"
	ETOOLARGE     = "too_large"
	// EUNAVAILABLE: a dependency cannot do its part now (the disk is full,
	// the database is locked or unreachable); the same request will succeed
	// once it recovers.
	EUNAVAILABLE = "unavailable"
)

// Error is the one error type that crosses package boundaries with a meaning
// the caller can act on. Message is safe to show to the user.
type Error struct {
	Code    string
	Message string
	// Reason is a short machine-readable cause for rejected events
	// ("not_json", "unsupported_type", …); it names the dead-letter subject.
	Reason string
	// Err is the underlying cause, for logs; never shown to users.
	Err error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s [%v]", e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL for
// any other non-nil error, and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the user-facing message of err. Internal errors get a
// generic message so that nothing about the system's internals leaks.
func ErrorMessage(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "Internal error."
}

// Reasons an event is rejected; each becomes throughline.dlq.<reason>.
const (
	ReasonNotJSON        = "not_json"
	ReasonNotCloudEvent  = "not_cloudevent"
	ReasonMissingField   = "missing_field"
	ReasonUnsupported    = "unsupported_type"
	ReasonBadTimestamp   = "bad_timestamp"
	ReasonBadValue       = "bad_value"
	ReasonTooLarge       = "too_large"
	ReasonMaxDeliveries  = "max_deliveries"
	ReasonInvalidContent = "invalid_content"
)

// Reject returns the EINVALID error for an event that cannot be stored.
func Reject(reason, format string, args ...any) *Error {
	return &Error{Code: EINVALID, Message: storable(fmt.Sprintf(format, args...), maxRejectMessage), Reason: reason}
}

// maxRejectMessage bounds a rejection's message. Messages quote what was
// wrong, which a hostile event makes as large as itself, and they travel as
// a NATS header and are stored as database text.
const maxRejectMessage = 500

// storable makes s fit a database text column and a message header: valid
// UTF-8, no NUL character, at most n bytes.
func storable(s string, n int) string {
	return Shorten(strings.ReplaceAll(strings.ToValidUTF8(s, "\ufffd"), "\x00", `\x00`), n)
}

// Shorten cuts s to at most n bytes, at a rune, marking the cut with "…".
func Shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n - len("…")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// RejectReason returns the reason of a rejected event, or "" if err is not one.
func RejectReason(err error) string {
	var e *Error
	if errors.As(err, &e) && e.Code == EINVALID {
		if e.Reason == "" {
			return ReasonInvalidContent
		}
		return e.Reason
	}
	return ""
}
