package domain

import "time"

// AuditEntry records who changed what. Entries are never edited.
type AuditEntry struct {
	ID     int64
	At     time.Time
	Actor  string // e-mail of the user, "token:<name>" or "cli"
	Action string // e.g. "user.create", "token.revoke"
	Target string
	Detail string
}
