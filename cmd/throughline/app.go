package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/throughline/throughline/adapters/cdevents"
	"github.com/throughline/throughline/adapters/natsbus"
	"github.com/throughline/throughline/adapters/sqlstore"
	"github.com/throughline/throughline/assets"
	"github.com/throughline/throughline/domain"
	"github.com/throughline/throughline/web"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

// App is a running Throughline server: database, NATS, HTTP. End-to-end tests
// build one with a Config and call Run and Close, exactly as `serve` does.
type App struct {
	Config Config
	Log    *slog.Logger
	Out    io.Writer // where the address and the first admin sign-in are printed

	Store    *sqlstore.Store
	Embedded *natsbus.Embedded
	Bus      *natsbus.Bus
	Consumer *natsbus.Consumer
	Web      *web.Server

	listener        net.Listener
	serveErr        chan error
	deriver         *deriver
	stopDeriver     context.CancelFunc
	deriverDone     chan struct{}
	stopMaintenance context.CancelFunc
	maintenanceDone chan struct{}
	stopSLOs        context.CancelFunc
	slosDone        chan struct{}
	demoDone        chan struct{} // closed when --demo finished publishing
	instance        string        // names this process in leases
}

// NewApp returns an App that has not started yet.
func NewApp(cfg Config, log *slog.Logger, out io.Writer) *App {
	return &App{Config: cfg, Log: log, Out: out, serveErr: make(chan error, 1), instance: instanceName()}
}

// Run starts everything and returns once the app serves requests. On error,
// whatever was started is left for Close to stop.
func (a *App) Run(ctx context.Context) error {
	cfg := a.Config
	start := time.Now()
	if err := checkNATSExposure(cfg); err != nil {
		return err // before anything is created or listens
	}

	store, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	a.Store = store
	applied, err := store.Migrate(ctx)
	if err != nil {
		return err
	}
	if len(applied) > 0 {
		a.Log.Info("migrations applied", "migrations", applied)
	}

	if cfg.NATS == "" {
		opts := natsbus.EmbeddedOptions{DataDir: cfg.DataDir, Listen: cfg.NATSListen, Token: cfg.NATSToken, Logger: a.Log}
		a.Embedded, err = natsbus.StartEmbedded(opts)
		if err != nil && cfg.NATSListenFallback && portTaken(cfg.NATSListen) {
			host, _, _ := net.SplitHostPort(cfg.NATSListen)
			opts.Listen = net.JoinHostPort(host, "0")
			a.Embedded, err = natsbus.StartEmbedded(opts)
			if err == nil {
				a.Log.Warn("NATS port taken; embedded NATS listens elsewhere (set --nats-listen to choose, or --nats to use the other server)",
					"wanted", cfg.NATSListen, "url", a.Embedded.ClientURL())
			}
		}
		if err != nil {
			return err
		}
	}
	a.Bus, err = natsbus.Connect(ctx, natsConfig(cfg, a.Embedded, a.Log))
	if err != nil {
		return err
	}
	if err := a.Bus.EnsureStreams(ctx); err != nil {
		return err
	}

	if changed, err := store.SyncProductionEnvs(ctx); err != nil {
		return err
	} else if changed {
		a.Log.Warn("--production-envs changed: production flags and DORA metrics re-evaluated", "production_envs", cfg.ProductionEnvs)
	}
	dec, err := cdevents.NewDecoder(cfg.IdeaKeyPattern)
	if err != nil {
		return err
	}
	a.startDeriver(ctx, store, dec)
	in := &ingestor{dec: dec, store: store, log: a.Log, deriver: a.deriver}
	a.Consumer, err = a.Bus.StartConsumer(ctx, natsbus.ConsumerOptions{
		BatchSize: cfg.IngestBatch, MaxDeliver: cfg.MaxDeliver, Healthy: store.Ping, Logger: a.Log,
	}, in.handle, func(ctx context.Context, dl domain.DeadLetter) error {
		_, err := store.RecordDeadLetter(ctx, dl)
		return err
	})
	if err != nil {
		return err
	}

	admin, password, err := ensureAdmin(ctx, store, cfg.AdminEmail)
	if err != nil {
		return err
	}
	if cfg.Demo {
		if err := a.startDemo(ctx); err != nil {
			return err
		}
	}

	a.startMaintenance(ctx)
	a.startSLOAlerts(ctx)

	assetSet, err := assets.New()
	if err != nil {
		return err
	}
	names := a.Bus.Names()
	gw := &gateway{dec: dec, bus: a.Bus, store: store, log: a.Log}
	hooks, err := webhookReceivers(cfg, gw)
	if err != nil {
		return err
	}
	sso, err := singleSignOn(cfg, a.Log, store)
	if err != nil {
		return err
	}
	cookieKey, err := webCookieKey(ctx, store)
	if err != nil {
		return err
	}
	a.Web, err = web.New(web.Config{
		CookieKey:      cookieKey,
		Logger:         a.Log,
		Version:        version,
		SecureCookies:  cfg.SecureCookies,
		TrustProxy:     cfg.TrustProxy,
		SessionTTL:     cfg.SessionTTL,
		EvidenceWindow: int(cfg.EvidenceWindow / (24 * time.Hour)),
		SSORoles:       sso.Roles,
		Info: web.SystemInfo{
			Database:       describeDB(store, cfg),
			NATS:           a.natsURL(),
			DataDir:        cfg.DataDir,
			Streams:        names.EventsStream() + ", " + names.DLQStream(),
			Consumer:       natsbus.ConsumerName,
			EventsSubject:  names.SubjectPrefix + ".events.delivery.<service>",
			ProductionEnvs: cfg.ProductionEnvs,
		},
	}, web.Deps{
		Auth:         store,
		Admin:        store,
		Assets:       assetSet,
		Events:       gw,
		OTLP:         newOTLPReceiver(gw),
		Webhooks:     hooks,
		Ingest:       store,
		Replayer:     &replayer{store: store, bus: a.Bus},
		DORA:         store,
		Roadmap:      store,
		ValueStreams: store,
		StoredEvents: store,
		SLOs:         store,
		Reviews:      store,
		SLOCodec:     sloCodec{},
		Consumer:     a.consumerStatus,
		Live:         []web.Check{{Name: "nats", Ping: func(context.Context) error { return a.Bus.Live() }}},
		SSO:          sso.Provider,
		SSOUsers:     sso.Users,
		Checks: []web.Check{
			{Name: "database", Ping: store.Ping},
			{Name: "nats", Ping: a.Bus.Ping},
			{Name: "consumer", Ping: a.Consumer.Check},
		},
	})
	if err != nil {
		return err
	}
	a.listener, err = net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	go func() { a.serveErr <- a.Web.Serve(a.listener) }()

	a.Log.Info("throughline ready", "url", a.URL(), "nats", a.natsURL(), "db", describeDB(store, cfg), "startup_ms", time.Since(start).Milliseconds())
	fmt.Fprintf(a.Out, "Throughline is running at %s\n", a.URL())
	if a.Embedded != nil {
		auth := "no token: reachable from this machine only"
		if cfg.NATSToken != "" {
			auth = "clients must send the --nats-token"
		}
		fmt.Fprintf(a.Out, "Embedded NATS with JetStream at %s (%s)\n", a.natsURL(), auth)
	}
	if password != "" {
		fmt.Fprintf(a.Out, "\nFirst start: sign in as %s with password %s\n(shown once; add people under Settings → Users)\n\n", admin, password)
	}
	return nil
}

// consumerStatus is the ingest consumer's state for the pages and /metrics.
func (a *App) consumerStatus(ctx context.Context) (web.ConsumerStatus, error) {
	st, err := a.Consumer.Status(ctx)
	if err != nil {
		return web.ConsumerStatus{}, err
	}
	out := web.ConsumerStatus{Present: st.Present, Pending: st.Pending, AckPending: st.AckPending, Stalled: st.Stalled}
	if p := a.Consumer.Problem(st); p != nil {
		out.Problem = p.Error()
	}
	return out, nil
}

// portTaken reports whether something already listens on addr.
func portTaken(addr string) bool {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return true
	}
	ln.Close()
	return false
}

// URL is the base address of the web interface.
func (a *App) URL() string {
	if a.listener == nil {
		return ""
	}
	return "http://" + a.listener.Addr().String()
}

// natsURL is where producers reach NATS, without credentials.
func (a *App) natsURL() string {
	if a.Embedded != nil {
		return a.Embedded.ClientURL()
	}
	return redactURLs(a.Config.NATS)
}

// Wait blocks until the context ends or the HTTP server fails.
func (a *App) Wait(ctx context.Context) error {
	select {
	case <-ctx.Done():
		return nil
	case err := <-a.serveErr:
		return err
	}
}

// Close stops everything in reverse order of start: HTTP (draining requests
// in flight), NATS connection (flushing), the embedded server, the database.
func (a *App) Close() error {
	var errs []error
	if a.Web != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if err := a.Web.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("http shutdown: %w", err))
		}
		cancel()
	}
	if a.stopMaintenance != nil {
		a.stopMaintenance()
		<-a.maintenanceDone
	}
	if a.stopSLOs != nil {
		a.stopSLOs()
		<-a.slosDone
	}
	if a.demoDone != nil {
		<-a.demoDone // publishing is quick; let it finish rather than cut it
	}
	if a.Consumer != nil {
		a.Consumer.Stop()
	}
	if a.stopDeriver != nil {
		a.stopDeriver()
		<-a.deriverDone
	}
	if a.Bus != nil {
		if err := a.Bus.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	if a.Embedded != nil {
		a.Embedded.Shutdown()
	}
	if a.Store != nil {
		if err := a.Store.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func openStore(ctx context.Context, cfg Config) (*sqlstore.Store, error) {
	return sqlstore.Open(ctx, sqlstore.Options{
		DSN: cfg.DB, DataDir: cfg.DataDir, ProductionEnvs: domain.ParseProductionEnvs(cfg.ProductionEnvs),
		MinuteRetention: cfg.MinuteRollups, AttributionWindow: cfg.AttributionWin,
	})
}

// startDeriver derives stored events in the background until Close.
func (a *App) startDeriver(ctx context.Context, store *sqlstore.Store, dec *cdevents.Decoder) {
	a.deriver = newDeriver(store, dec, a.Log)
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	a.stopDeriver, a.deriverDone = cancel, make(chan struct{})
	go func() {
		defer close(a.deriverDone)
		a.deriver.run(ctx)
	}()
}

// startMaintenance runs housekeeping in the background: loading the ideas'
// flow signals once (so that the first value stream page does not wait for
// them), and pruning minute rollups past their retention, at start and then
// hourly. Each task is idempotent, so several instances running it at once
// do no harm.
func (a *App) startMaintenance(ctx context.Context) {
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	a.stopMaintenance, a.maintenanceDone = cancel, make(chan struct{})
	go func() {
		defer close(a.maintenanceDone)
		if _, _, err := a.Store.FlowItems(ctx); err != nil && ctx.Err() == nil {
			a.Log.Warn("loading flow signals failed; the first value stream page will load them", "err", err)
		}
		t := time.NewTicker(time.Hour)
		defer t.Stop()
		for {
			if n, err := a.Store.PruneMinuteRollups(ctx); err != nil && ctx.Err() == nil {
				a.Log.Warn("pruning minute rollups failed; will retry", "err", err)
			} else if n > 0 {
				a.Log.Info("pruned minute rollups past their retention", "rows", n)
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
}

func natsConfig(cfg Config, emb *natsbus.Embedded, log *slog.Logger) natsbus.Config {
	return natsbus.Config{
		URL:      cfg.NATS,
		Embedded: emb,
		Names: natsbus.Names{
			StreamPrefix:  cfg.StreamPrefix,
			SubjectPrefix: cfg.SubjectPrefix,
			BindStream:    cfg.Stream,
		},
		Retention: cfg.Retention,
		Replicas:  cfg.NATSReplicas,
		Token:     cfg.NATSToken,
		CredsFile: cfg.NATSCreds,
		NKeyFile:  cfg.NATSNKey,
		TLSCA:     cfg.NATSTLSCA,
		TLSCert:   cfg.NATSTLSCert,
		TLSKey:    cfg.NATSTLSKey,
		Logger:    log,
	}
}

// ensureAdmin creates the first admin on an empty database and returns the
// generated password, which is printed once and never stored in clear.
func ensureAdmin(ctx context.Context, store *sqlstore.Store, email string) (string, string, error) {
	n, err := store.CountUsers(ctx)
	if err != nil || n > 0 {
		return "", "", err
	}
	password := domain.GeneratePassword()
	u, err := store.CreateUser(ctx, email, domain.RoleAdmin, password)
	if err != nil {
		if domain.ErrorCode(err) == domain.ECONFLICT { // another instance won the race
			return "", "", nil
		}
		return "", "", fmt.Errorf("create first admin: %w", err)
	}
	if err := store.Audit(ctx, "system", "user.create", u.Email, "first admin, generated at start-up"); err != nil {
		return "", "", err
	}
	return u.Email, password, nil
}

// describeDB names the database without its password.
func describeDB(store *sqlstore.Store, cfg Config) string {
	if store.Dialect() == sqlstore.Postgres {
		return "PostgreSQL " + redactURLs(cfg.DB)
	}
	if cfg.DB != "" {
		return "SQLite " + cfg.DB
	}
	return "SQLite " + strings.TrimSuffix(cfg.DataDir, "/") + "/throughline.db"
}

// redactURLs hides passwords in one or more comma-separated URLs.
func redactURLs(s string) string {
	parts := strings.Split(s, ",")
	for i, p := range parts {
		if u, err := url.Parse(strings.TrimSpace(p)); err == nil && u.User != nil {
			parts[i] = u.Redacted()
		}
	}
	return strings.Join(parts, ",")
}

// instanceName names this process among the instances sharing a database:
// host, process id and a random suffix (a restarted process is another
// instance).
func instanceName() string {
	host, _ := os.Hostname()
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%s/%d/%x", host, os.Getpid(), b)
}
