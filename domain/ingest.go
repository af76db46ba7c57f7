package domain

import "time"

// EventRecord is an event on its way into the store: the decoded event, the
// CloudEvent as structured JSON (kept verbatim, replayable), and where it
// came from.
type EventRecord struct {
	Event     Event
	Raw       []byte
	Subject   string // NATS subject it arrived on
	StreamSeq uint64 // JetStream sequence; 0 when not from the stream
}

// StoreOutcome says what storing one event did.
type StoreOutcome int

const (
	// Stored: the event is new and now counts everywhere.
	Stored StoreOutcome = iota + 1
	// Duplicate: an event with the same identity was already stored; it is
	// counted as a duplicate and changes nothing else.
	Duplicate
	// Redelivered: the very message that stored the event came again (a crash
	// between commit and ack); it is neither stored nor counted.
	Redelivered
)

func (o StoreOutcome) String() string {
	switch o {
	case Stored:
		return "stored"
	case Duplicate:
		return "duplicate"
	case Redelivered:
		return "redelivered"
	}
	return "unknown"
}

// IngestStatus counts what ingestion did since the database was created.
type IngestStatus struct {
	Stored      int64 `json:"stored"`
	Duplicates  int64 `json:"duplicates"`
	DeadLetters int64 `json:"dead_letters"`
	// Derived counts the stored events whose effects are in every figure
	// (DESIGN.md section 5): equal to Stored once derivation caught up.
	Derived int64 `json:"derived"`
}

// DeadLetter is a message that could not be stored, kept with the reason.
type DeadLetter struct {
	ID         int64
	StreamSeq  uint64 // sequence on the events stream; 0 if it never got there
	Subject    string // original subject
	Reason     string // short cause, as in the dead-letter subject
	Message    string // human-readable explanation
	At         time.Time
	Data       []byte
	Header     map[string][]string
	ReplayedAt time.Time
}

// StoredEvent is a raw event as kept: the CloudEvent as it arrived.
type StoredEvent struct {
	Identity
	Type       string
	Kind       EventKind
	SubjectID  string
	At         time.Time // the event's own time
	ReceivedAt time.Time
	StreamSeq  uint64
	Data       []byte // structured CloudEvent JSON
}
