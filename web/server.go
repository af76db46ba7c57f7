// Package web is Throughline's HTTP interface: server-rendered pages (templ +
// htmx) for people and the JSON API for machines. Echo stays inside this
// package so that a move to a new major version touches nothing else.
package web

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/throughline/throughline/assets"
	"github.com/throughline/throughline/domain"
)

// AuthStore signs people and tokens in.
type AuthStore interface {
	Authenticate(ctx context.Context, email, password string) (*domain.User, error)
	CreateSession(ctx context.Context, userID int64, ttl time.Duration) (string, error)
	UserBySession(ctx context.Context, secret string) (*domain.User, error)
	DeleteSession(ctx context.Context, secret string) error
	TokenBySecret(ctx context.Context, secret string) (*domain.APIToken, error)
}

// AdminStore manages accounts, tokens and the audit log.
type AdminStore interface {
	Users(ctx context.Context) ([]*domain.User, error)
	CreateUser(ctx context.Context, email string, role domain.Role, password string) (*domain.User, error)
	SetUserRole(ctx context.Context, id int64, role domain.Role) error
	DeleteUser(ctx context.Context, id int64) error
	Tokens(ctx context.Context) ([]*domain.APIToken, error)
	CreateToken(ctx context.Context, name string, scopes []domain.Scope) (*domain.APIToken, string, error)
	RevokeToken(ctx context.Context, id int64) error
	Audit(ctx context.Context, actor, action, target, detail string) error
	AuditLog(ctx context.Context, limit int) ([]domain.AuditEntry, error)
}

// EventGateway accepts CloudEvents posted over HTTP: it reads the body per
// the CloudEvents HTTP binding (structured, batch, binary), validates each
// event and publishes the valid ones, returning only after JetStream
// acknowledged them.
type EventGateway interface {
	Accept(ctx context.Context, header http.Header, body []byte) ([]EventResult, error)
}

// EventResult is the fate of one posted event.
type EventResult struct {
	Index  int    `json:"index"`
	ID     string `json:"id,omitempty"`
	Source string `json:"source,omitempty"`
	Type   string `json:"type,omitempty"`
	// Status is accepted, duplicate (accepted, and already known),
	// rejected (with reason and message) or not_published (valid, but the
	// events stream did not take it: send it again).
	Status    string `json:"status,omitempty"`
	Accepted  bool   `json:"-"`
	Duplicate bool   `json:"-"`
	Reason    string `json:"reason,omitempty"`
	Message   string `json:"message,omitempty"`
}

// The statuses of a posted event.
const (
	EventAccepted     = "accepted"
	EventDuplicate    = "duplicate"
	EventRejected     = "rejected"
	EventNotPublished = "not_published"
)

// status names what became of the event.
func (r EventResult) status() string {
	switch {
	case r.Accepted && r.Duplicate:
		return EventDuplicate
	case r.Accepted:
		return EventAccepted
	case r.Reason != "":
		return EventRejected
	}
	return EventNotPublished
}

// ConsumerStatus is the durable ingest consumer as the NATS server sees it.
type ConsumerStatus struct {
	Present    bool   // it exists on the events stream
	Pending    uint64 // messages not yet delivered to it
	AckPending int    // delivered, not yet acknowledged
	// Stalled is how long messages have waited without any being finished;
	// 0 while they flow or none waits.
	Stalled time.Duration
	// Problem says what is wrong ("" when nothing is): missing, or stalled
	// for long enough to matter.
	Problem string
}

// IngestReader reports on ingestion.
type IngestReader interface {
	IngestStatus(ctx context.Context) (domain.IngestStatus, error)
	DeadLetters(ctx context.Context, limit int) ([]domain.DeadLetter, error)
}

// DORAStore reads DORA metrics and records overrides and service teams.
type DORAStore interface {
	DORAReport(ctx context.Context, w domain.Window, f domain.DORAFilter) (domain.DORAReport, error)
	DORATrend(ctx context.Context, w domain.Window, b domain.Bucket, f domain.DORAFilter) ([]domain.DORAReport, error)
	DeploymentsIn(ctx context.Context, w domain.Window, f domain.DORAFilter, failedOnly bool, limit int) ([]domain.DeploymentRecord, error)
	IncidentsIn(ctx context.Context, w domain.Window, f domain.DORAFilter, limit int) ([]domain.IncidentRecord, error)
	// IncidentsOverlapping adds the incidents open through the whole window.
	IncidentsOverlapping(ctx context.Context, w domain.Window, f domain.DORAFilter, limit int) ([]domain.IncidentRecord, error)
	SetOverride(ctx context.Context, id domain.Identity, failed bool, reason, by string, incidents []string) error
	ClearOverride(ctx context.Context, id domain.Identity, by string) error
	Services(ctx context.Context) ([]domain.Service, error)
	Teams(ctx context.Context) ([]string, error)
	SetServiceTeam(ctx context.Context, service, team, by string) error
	// DORAVersion changes whenever the DORA data does.
	DORAVersion(ctx context.Context) (int64, error)
	// Coverage is the span of days the stored delivery events cover.
	Coverage(ctx context.Context) (domain.Coverage, error)
}

// DeadLetterReplayer sends a dead letter back to the events stream.
type DeadLetterReplayer interface {
	Replay(ctx context.Context, id int64) error
}

// Check is one dependency /readyz asks about.
type Check struct {
	Name string
	Ping func(context.Context) error
}

// SystemInfo describes the installation on the settings and overview pages.
// It never contains secrets: URLs are redacted by the caller.
type SystemInfo struct {
	Database       string
	NATS           string
	DataDir        string
	Streams        string
	Consumer       string
	EventsSubject  string
	ProductionEnvs string
}

// Config holds the web settings.
type Config struct {
	Logger  *slog.Logger
	Version string
	// SecureCookies: "auto" marks cookies Secure when the request came over
	// TLS (or https behind a trusted proxy); "always" and "never" force it.
	SecureCookies string
	// TrustProxy believes X-Forwarded-For/-Proto from a reverse proxy.
	TrustProxy bool
	// CookieKey (32 bytes or more) derives the CSRF tokens and signs the
	// flash and sign-in device cookies. Every instance serving the same
	// users needs the same key (cmd/throughline keeps it in the database);
	// empty means a random key for this process.
	CookieKey  []byte
	SessionTTL time.Duration
	// EvidenceWindow is the days compared before and after a deployment.
	EvidenceWindow int
	// SignInRate is how many sign-in attempts one client address may make
	// per minute (accounts and devices have their own limits).
	SignInRate int
	// OTLPConcurrency bounds the OTLP exports decoded at once (default 2);
	// one waits up to OTLPWait (default 10 s) for its turn, then gets 503.
	OTLPConcurrency int
	OTLPWait        time.Duration
	// SSORoles maps the identity provider's role claim to roles.
	SSORoles domain.RoleMapping
	Info     SystemInfo
}

// Deps are the services the handlers use.
type Deps struct {
	Auth         AuthStore
	Admin        AdminStore
	Checks       []Check
	Assets       *assets.Assets
	Events       EventGateway
	Ingest       IngestReader
	Replayer     DeadLetterReplayer
	DORA         DORAStore
	Roadmap      RoadmapStore
	ValueStreams ValueStreamStore
	StoredEvents EventReader
	// SLOs and SLOCodec are optional: without them there are no SLO pages
	// and no postures.
	SLOs     SLOStore
	SLOCodec SLOCodec
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// Consumer reports the durable consumer's state on the server;
	// optional.
	Consumer func(ctx context.Context) (ConsumerStatus, error)
	// Live are the checks of /healthz: a failing one means the process
	// cannot recover by itself and should be restarted. Optional.
	Live []Check
	// SSO signs people in through an OpenID Connect provider, keeping their
	// accounts in SSOUsers; both optional, both or neither.
	SSO      SingleSignOn
	SSOUsers SSOUserStore
	// OTLP receives OpenTelemetry metrics at POST /v1/metrics; optional.
	OTLP OTLPReceiver
	// Reviews keeps blameless post-incident reviews; optional (without it
	// there are no review pages).
	Reviews ReviewStore
	// Webhooks receive forges' webhooks at POST /webhooks/<forge> ("github",
	// "gitlab"); a forge without one answers 404 "not configured".
	Webhooks map[string]WebhookReceiver
}

// Server is the HTTP server.
type Server struct {
	cfg   Config
	deps  Deps
	log   *slog.Logger
	echo  *echo.Echo
	http  *http.Server
	pages pageCache
	slos  sloCache
	// metrics is what GET /metrics exposes (metrics.go).
	metrics *serverMetrics
	// otlpSlots holds a token per OTLP export being decoded.
	otlpSlots chan struct{}
	// writes counts changes made through the pages (pagecache.go).
	writes writeCounter
	// renders shares a page's rendering among readers (pagecache.go).
	renders renderGroup
	// keys sign and bind the cookies and tokens (csrf.go).
	keys cookieKeys
	// signIns throttles password sign-in (signin_throttle.go).
	signIns *signInThrottle
}

// New builds the server and its routes. It does not listen yet.
func New(cfg Config, deps Deps) (*Server, error) {
	if deps.Auth == nil || deps.Admin == nil || deps.Assets == nil || deps.Events == nil || deps.Ingest == nil || deps.Replayer == nil || deps.DORA == nil || deps.Roadmap == nil || deps.StoredEvents == nil || deps.ValueStreams == nil {
		return nil, errors.New("web: Auth, Admin, Assets, Events, Ingest, Replayer, DORA, Roadmap, ValueStreams and StoredEvents are required")
	}
	if (deps.SSO == nil) != (deps.SSOUsers == nil) {
		return nil, errors.New("web: SSO and SSOUsers go together")
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = 7 * 24 * time.Hour
	}
	if cfg.EvidenceWindow <= 0 {
		cfg.EvidenceWindow = 14
	}
	if cfg.SignInRate <= 0 {
		cfg.SignInRate = 10
	}
	if cfg.OTLPConcurrency <= 0 {
		cfg.OTLPConcurrency = 2
	}
	if cfg.OTLPWait <= 0 {
		cfg.OTLPWait = 10 * time.Second
	}
	switch cfg.SecureCookies {
	case "":
		cfg.SecureCookies = "auto"
	case "auto", "always", "never":
	default:
		return nil, domain.Errorf(domain.EINVALID, "--secure-cookies must be auto, always or never")
	}
	keys, err := newCookieKeys(cfg.CookieKey)
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, deps: deps, log: cfg.Logger, otlpSlots: make(chan struct{}, cfg.OTLPConcurrency), keys: keys,
		signIns: newSignInThrottle(cfg.SignInRate)}
	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	e.HTTPErrorHandler = s.handleError
	if cfg.TrustProxy {
		e.IPExtractor = echo.ExtractIPFromXFFHeader()
	} else {
		e.IPExtractor = echo.ExtractIPDirect()
	}
	s.echo = e
	m, err := newServerMetrics(s)
	if err != nil {
		return nil, err
	}
	s.metrics = m
	if err := s.routes(); err != nil {
		return nil, err
	}
	s.http = &http.Server{
		Handler:           e,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelWarn),
	}
	return s, nil
}

func (s *Server) now() time.Time { return s.deps.Now() }

// Handler returns the root handler, for tests that use httptest.
func (s *Server) Handler() http.Handler { return s.echo }

// Route is one registered method and path.
type Route struct{ Method, Path string }

// Routes lists every registered route, for tests that walk them all.
func (s *Server) Routes() []Route {
	var out []Route
	for _, r := range s.echo.Routes() {
		out = append(out, Route{Method: r.Method, Path: r.Path})
	}
	return out
}

// Serve answers requests on ln until Shutdown.
func (s *Server) Serve(ln net.Listener) error {
	err := s.http.Serve(ln)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// Shutdown stops accepting connections and waits for requests in flight.
func (s *Server) Shutdown(ctx context.Context) error { return s.http.Shutdown(ctx) }
