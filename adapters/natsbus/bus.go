// Package natsbus connects Throughline to NATS JetStream: the embedded
// server for the default mode, the connection to an external cluster, the
// events and dead-letter streams, the durable ingest consumer and publishing.
package natsbus

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Names of the streams, subjects and consumer. The defaults are part of the
// event contract; the prefixes exist so that several installations (or test
// runs) can share one NATS account without their subjects overlapping.
type Names struct {
	StreamPrefix  string // THROUGHLINE → THROUGHLINE_EVENTS, THROUGHLINE_DLQ
	SubjectPrefix string // throughline → throughline.events.>, throughline.dlq.<reason>
	BindStream    string // bind this existing events stream instead of creating one
}

// DefaultNames are the contract names.
func DefaultNames() Names { return Names{StreamPrefix: "THROUGHLINE", SubjectPrefix: "throughline"} }

func (n Names) EventsStream() string {
	if n.BindStream != "" {
		return n.BindStream
	}
	return n.StreamPrefix + "_EVENTS"
}
func (n Names) DLQStream() string      { return n.StreamPrefix + "_DLQ" }
func (n Names) AlertsStream() string   { return n.StreamPrefix + "_ALERTS" }
func (n Names) EventsSubjects() string { return n.SubjectPrefix + ".events.>" }
func (n Names) DLQSubjects() string    { return n.SubjectPrefix + ".dlq.>" }
func (n Names) AlertsSubjects() string { return n.SubjectPrefix + ".alerts.>" }

// SLOAlertSubject is where a service's SLO alert states go:
// <prefix>.alerts.slo.<service>.
func (n Names) SLOAlertSubject(service string) string {
	return n.SubjectPrefix + ".alerts.slo." + subjectToken(service)
}

// EventSubject is where a producer publishes: <prefix>.events.<kind>.<service>.
func (n Names) EventSubject(kind, service string) string {
	return n.SubjectPrefix + ".events." + subjectToken(kind) + "." + subjectToken(service)
}

// DLQSubject is <prefix>.dlq.<reason>.
func (n Names) DLQSubject(reason string) string {
	return n.SubjectPrefix + ".dlq." + subjectToken(reason)
}

// ConsumerName is the durable pull consumer; never renamed (contract).
const ConsumerName = "throughline-ingest"

// maxSubjectToken bounds one subject token built from a name. The server
// refuses a protocol line over 4 KiB ("maximum control line exceeded"), and
// nats.go closes the connection for good on that answer.
const maxSubjectToken = 64

// subjectToken makes s one bounded, subject-safe token: printable ASCII
// other than the separator and the wildcards (. * >), and letters and digits
// of any script, stay; anything else (white space, control characters,
// invalid UTF-8) becomes '_'. A longer token is cut and ends with a hash of
// the whole name, so that long names that differ only late stay apart. Every
// subject built from a name goes through here.
func subjectToken(s string) string {
	if s == "" {
		return "unknown"
	}
	var b strings.Builder
	for _, r := range s {
		if b.Len() > maxSubjectToken {
			break // cut and hashed below
		}
		switch {
		case r == '.' || r == '*' || r == '>':
			b.WriteByte('_')
		case r > ' ' && r < 0x7f:
			b.WriteRune(r)
		case r != utf8.RuneError && r >= 0x80 && (unicode.IsLetter(r) || unicode.IsDigit(r)):
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	t := b.String()
	if len(t) <= maxSubjectToken {
		return t
	}
	sum := sha256.Sum256([]byte(s))
	h := hex.EncodeToString(sum[:8])
	cut := maxSubjectToken - len(h) - 1
	for cut > 0 && !utf8.RuneStart(t[cut]) {
		cut--
	}
	return t[:cut] + "_" + h
}

// Config says how to reach NATS and how to lay out the streams.
type Config struct {
	URL       string // nats://host:4222[,nats://…]; empty with Embedded set
	Embedded  *Embedded
	Names     Names
	Retention time.Duration // MaxAge of the streams
	Replicas  int           // stream replicas on a cluster; 1 on a single server
	// Credentials, all optional.
	Token     string // --nats-token: the embedded server's token, or an external server's
	CredsFile string
	NKeyFile  string
	TLSCA     string
	TLSCert   string
	TLSKey    string
	// LiveGrace is how long the connection may stay closed, while it is
	// being opened again, before Live reports the process not live (so
	// that an orchestrator restarts it). Default 2 minutes.
	LiveGrace time.Duration
	Logger    *slog.Logger
}

// Bus is a live NATS connection with JetStream. Copies made by WithNames
// share the connection.
type Bus struct {
	link  *link
	names Names
	cfg   Config
	log   *slog.Logger
}

// link is the connection shared by a Bus and its copies. nats.go reconnects
// by itself after a network failure, but closes a connection for good when
// the server answers an error it does not know how to recover from (such as
// "maximum control line exceeded"); link then dials a new one and swaps it
// in, so that publishing and the consumer go on.
type link struct {
	url  string
	opts []nats.Option
	log  *slog.Logger
	dial func() (*nats.Conn, error)

	mu       sync.RWMutex
	nc       *nats.Conn
	js       jetstream.JetStream
	closedAt time.Time // when the connection in use closed; zero while it is open
	lastErr  error     // why it closed
	closing  bool      // Close was called: nothing is reopened
	grace    time.Duration
	stop     chan struct{} // closed by Close; ends reopening
	reopens  sync.WaitGroup
}

// Connect opens the connection. It retries the first connection for a while
// so that an app started alongside its NATS cluster does not give up early.
func Connect(ctx context.Context, cfg Config) (*Bus, error) {
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	if cfg.Names.StreamPrefix == "" || cfg.Names.SubjectPrefix == "" {
		def := DefaultNames()
		if cfg.Names.StreamPrefix == "" {
			cfg.Names.StreamPrefix = def.StreamPrefix
		}
		if cfg.Names.SubjectPrefix == "" {
			cfg.Names.SubjectPrefix = def.SubjectPrefix
		}
	}
	l := &link{log: log, grace: cfg.LiveGrace, stop: make(chan struct{})}
	if l.grace <= 0 {
		l.grace = 2 * time.Minute
	}
	opts := []nats.Option{
		nats.Name("throughline"),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(time.Second),
		nats.RetryOnFailedConnect(false),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				log.Warn("nats disconnected", "err", err)
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) { log.Info("nats reconnected", "url", nc.ConnectedUrlRedacted()) }),
		nats.ErrorHandler(func(_ *nats.Conn, sub *nats.Subscription, err error) {
			log.Warn("nats async error", "err", err)
		}),
		nats.ClosedHandler(l.closed),
	}
	url := cfg.URL
	if cfg.Embedded != nil {
		opts = append(opts, nats.InProcessServer(cfg.Embedded.Server()))
		url = cfg.Embedded.ClientURL()
	}
	if cfg.Token != "" {
		opts = append(opts, nats.Token(cfg.Token))
	}
	if cfg.CredsFile != "" {
		opts = append(opts, nats.UserCredentials(cfg.CredsFile))
	}
	if cfg.NKeyFile != "" {
		o, err := nats.NkeyOptionFromSeed(cfg.NKeyFile)
		if err != nil {
			return nil, fmt.Errorf("nats nkey: %w", err)
		}
		opts = append(opts, o)
	}
	if cfg.TLSCA != "" {
		opts = append(opts, nats.RootCAs(cfg.TLSCA))
	}
	if cfg.TLSCert != "" || cfg.TLSKey != "" {
		opts = append(opts, nats.ClientCert(cfg.TLSCert, cfg.TLSKey))
	}
	if strings.HasPrefix(url, "tls://") {
		opts = append(opts, nats.Secure(&tls.Config{MinVersion: tls.VersionTLS12}))
	}
	l.url, l.opts = url, opts
	l.dial = func() (*nats.Conn, error) { return nats.Connect(l.url, l.opts...) }
	var nc *nats.Conn
	var err error
	deadline := time.Now().Add(30 * time.Second)
	for {
		nc, err = l.dial()
		if err == nil || time.Now().After(deadline) || errors.Is(err, nats.ErrAuthorization) {
			break
		}
		log.Warn("nats not reachable yet; retrying", "url", redactURL(url), "err", err)
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(time.Second):
		}
	}
	if err != nil {
		if errors.Is(err, nats.ErrAuthorization) {
			return nil, fmt.Errorf("connect to nats %s: %w (is --nats-token right?)", redactURL(url), err)
		}
		return nil, fmt.Errorf("connect to nats %s: %w", redactURL(url), err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, err
	}
	l.nc, l.js = nc, js
	return &Bus{link: l, names: cfg.Names, cfg: cfg, log: log}, nil
}

// closed runs when nats.go gave a connection up. Unless the app is shutting
// down, a new one is dialled until one opens.
func (l *link) closed(nc *nats.Conn) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closing || nc != l.nc {
		return
	}
	l.closedAt, l.lastErr = time.Now(), nc.LastError()
	l.log.Error("nats connection closed by the client library; opening a new one", "err", l.lastErr)
	l.reopens.Add(1)
	go l.reopen()
}

// reopen dials until a connection opens or Close is called, with a growing
// pause between attempts.
func (l *link) reopen() {
	defer l.reopens.Done()
	wait := 250 * time.Millisecond
	for attempt := 1; ; attempt++ {
		nc, err := l.dial()
		if err == nil {
			js, jerr := jetstream.New(nc)
			if jerr == nil {
				l.mu.Lock()
				if l.closing {
					l.mu.Unlock()
					nc.Close()
					return
				}
				l.nc, l.js, l.closedAt, l.lastErr = nc, js, time.Time{}, nil
				l.mu.Unlock()
				l.log.Info("nats connection opened again", "url", nc.ConnectedUrlRedacted(), "attempts", attempt)
				return
			}
			nc.Close()
			err = jerr
		}
		l.log.Warn("cannot open a new nats connection yet; retrying", "attempt", attempt, "err", err)
		select {
		case <-l.stop:
			return
		case <-time.After(wait):
		}
		wait = min(2*wait, 10*time.Second)
	}
}

// current returns the connection in use and its JetStream handle.
func (l *link) current() (*nats.Conn, jetstream.JetStream) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.nc, l.js
}

// Live reports an error when the connection has been closed, and could not
// be opened again, for longer than Config.LiveGrace: restarting the process
// is then the way out, and /healthz says so.
func (b *Bus) Live() error {
	l := b.link
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.closing || l.closedAt.IsZero() {
		return nil
	}
	if down := time.Since(l.closedAt); down > l.grace {
		return fmt.Errorf("the NATS connection closed %s ago (%v) and could not be opened again", roughly(down), l.lastErr)
	}
	return nil
}

// redactURL hides passwords and tokens in NATS URLs before logging.
func redactURL(u string) string {
	parts := strings.Split(u, ",")
	for i, p := range parts {
		if at := strings.LastIndex(p, "@"); at >= 0 {
			if s := strings.Index(p, "://"); s >= 0 && s < at {
				parts[i] = p[:s+3] + "redacted@" + p[at+1:]
			}
		}
	}
	return strings.Join(parts, ",")
}

// WithNames returns a Bus on the same connection that uses other stream and
// subject names (benchmarks and tests that share one server).
func (b *Bus) WithNames(n Names) *Bus {
	c := *b
	c.names = n
	return &c
}

// Names returns the stream and subject names in use.
func (b *Bus) Names() Names { return b.names }

// JetStream exposes the JetStream handle of the connection in use to other
// parts of this adapter and tests.
func (b *Bus) JetStream() jetstream.JetStream {
	_, js := b.link.current()
	return js
}

// Conn exposes the core connection in use (tests).
func (b *Bus) Conn() *nats.Conn {
	nc, _ := b.link.current()
	return nc
}

// EnsureStreams creates the events and dead-letter streams when absent, or
// checks that a bound stream exists. Existing streams are left as the operator
// configured them.
func (b *Bus) EnsureStreams(ctx context.Context) error {
	retention := b.cfg.Retention
	if retention <= 0 {
		retention = 400 * 24 * time.Hour
	}
	replicas := b.cfg.Replicas
	if replicas <= 0 {
		replicas = 1
	}
	if b.names.BindStream != "" {
		if _, err := b.JetStream().Stream(ctx, b.names.BindStream); err != nil {
			return fmt.Errorf("bind stream %s: %w", b.names.BindStream, err)
		}
	} else if err := b.ensureStream(ctx, jetstream.StreamConfig{
		Name:        b.names.EventsStream(),
		Description: "Throughline delivery and telemetry events (CloudEvents)",
		Subjects:    []string{b.names.EventsSubjects()},
		Retention:   jetstream.LimitsPolicy,
		MaxAge:      retention,
		Duplicates:  5 * time.Minute,
		Storage:     jetstream.FileStorage,
		Replicas:    replicas,
	}); err != nil {
		return err
	}
	if err := b.ensureStream(ctx, jetstream.StreamConfig{
		Name:        b.names.DLQStream(),
		Description: "Throughline dead letters: events that could not be stored, with the reason",
		Subjects:    []string{b.names.DLQSubjects()},
		Retention:   jetstream.LimitsPolicy,
		MaxAge:      retention,
		Storage:     jetstream.FileStorage,
		Replicas:    replicas,
	}); err != nil {
		return err
	}
	return b.ensureStream(ctx, jetstream.StreamConfig{
		Name:        b.names.AlertsStream(),
		Description: "Throughline SLO alert states (CloudEvents), kept for systems that subscribe late",
		Subjects:    []string{b.names.AlertsSubjects()},
		Retention:   jetstream.LimitsPolicy,
		MaxAge:      30 * 24 * time.Hour,
		Duplicates:  5 * time.Minute,
		Storage:     jetstream.FileStorage,
		Replicas:    replicas,
	})
}

func (b *Bus) ensureStream(ctx context.Context, sc jetstream.StreamConfig) error {
	js := b.JetStream()
	_, err := js.Stream(ctx, sc.Name)
	if err == nil {
		return nil
	}
	if !errors.Is(err, jetstream.ErrStreamNotFound) {
		return fmt.Errorf("look up stream %s: %w", sc.Name, err)
	}
	if _, err := js.CreateStream(ctx, sc); err != nil && !errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
		return fmt.Errorf("create stream %s: %w", sc.Name, err)
	}
	b.log.Info("created stream", "stream", sc.Name, "subjects", sc.Subjects)
	return nil
}

// Ping checks that NATS and JetStream answer; used by /readyz.
func (b *Bus) Ping(ctx context.Context) error {
	nc, js := b.link.current()
	if st := nc.Status(); st != nats.CONNECTED {
		if st == nats.CLOSED {
			return fmt.Errorf("nats connection closed (%v); opening a new one", nc.LastError())
		}
		return fmt.Errorf("nats %s", strings.ToLower(st.String()))
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if _, err := js.AccountInfo(ctx); err != nil {
		return fmt.Errorf("jetstream: %w", err)
	}
	return nil
}

// Close drains the connection: pending publishes are flushed first. It
// stops any reopening, so only the first Close of a Bus and its copies
// does anything.
func (b *Bus) Close() error {
	l := b.link
	l.mu.Lock()
	if l.closing {
		l.mu.Unlock()
		return nil
	}
	l.closing = true
	close(l.stop)
	nc := l.nc
	l.mu.Unlock()
	l.reopens.Wait()
	if nc == nil || nc.IsClosed() {
		return nil
	}
	done := make(chan struct{})
	nc.SetClosedHandler(func(*nats.Conn) { close(done) })
	if err := nc.Drain(); err != nil {
		nc.Close()
		return nil
	}
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		nc.Close()
	}
	return nil
}
