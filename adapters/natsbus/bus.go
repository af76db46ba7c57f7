// Package natsbus connects Throughline to NATS JetStream: the embedded
// server for the default mode, the connection to an external cluster, the
// events and dead-letter streams, the durable ingest consumer and publishing.
package natsbus

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

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

// subjectToken makes s safe as one subject token.
func subjectToken(s string) string {
	if s == "" {
		return "unknown"
	}
	return strings.Map(func(r rune) rune {
		switch r {
		case '.', '*', '>', ' ', '\t', '\n', '\r':
			return '_'
		}
		return r
	}, s)
}

// Config says how to reach NATS and how to lay out the streams.
type Config struct {
	URL       string // nats://host:4222[,nats://…]; empty with Embedded set
	Embedded  *Embedded
	Names     Names
	Retention time.Duration // MaxAge of the streams
	Replicas  int           // stream replicas on a cluster; 1 on a single server
	// Credentials, all optional.
	CredsFile string
	NKeyFile  string
	TLSCA     string
	TLSCert   string
	TLSKey    string
	Logger    *slog.Logger
}

// Bus is a live NATS connection with JetStream.
type Bus struct {
	nc    *nats.Conn
	js    jetstream.JetStream
	names Names
	cfg   Config
	log   *slog.Logger
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
	}
	url := cfg.URL
	if cfg.Embedded != nil {
		opts = append(opts, nats.InProcessServer(cfg.Embedded.Server()))
		url = cfg.Embedded.ClientURL()
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
	var nc *nats.Conn
	var err error
	deadline := time.Now().Add(30 * time.Second)
	for {
		nc, err = nats.Connect(url, opts...)
		if err == nil || time.Now().After(deadline) {
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
		return nil, fmt.Errorf("connect to nats %s: %w", redactURL(url), err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, err
	}
	return &Bus{nc: nc, js: js, names: cfg.Names, cfg: cfg, log: log}, nil
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

// JetStream exposes the JetStream handle to other parts of this adapter and tests.
func (b *Bus) JetStream() jetstream.JetStream { return b.js }

// Conn exposes the core connection (tests, alert publishing).
func (b *Bus) Conn() *nats.Conn { return b.nc }

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
		if _, err := b.js.Stream(ctx, b.names.BindStream); err != nil {
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
	_, err := b.js.Stream(ctx, sc.Name)
	if err == nil {
		return nil
	}
	if !errors.Is(err, jetstream.ErrStreamNotFound) {
		return fmt.Errorf("look up stream %s: %w", sc.Name, err)
	}
	if _, err := b.js.CreateStream(ctx, sc); err != nil && !errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
		return fmt.Errorf("create stream %s: %w", sc.Name, err)
	}
	b.log.Info("created stream", "stream", sc.Name, "subjects", sc.Subjects)
	return nil
}

// Ping checks that NATS and JetStream answer; used by /readyz.
func (b *Bus) Ping(ctx context.Context) error {
	if st := b.nc.Status(); st != nats.CONNECTED {
		return fmt.Errorf("nats %s", strings.ToLower(st.String()))
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if _, err := b.js.AccountInfo(ctx); err != nil {
		return fmt.Errorf("jetstream: %w", err)
	}
	return nil
}

// Close drains the connection: pending publishes are flushed first.
func (b *Bus) Close() error {
	if b.nc == nil || b.nc.IsClosed() {
		return nil
	}
	done := make(chan struct{})
	b.nc.SetClosedHandler(func(*nats.Conn) { close(done) })
	if err := b.nc.Drain(); err != nil {
		b.nc.Close()
		return nil
	}
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		b.nc.Close()
	}
	return nil
}
