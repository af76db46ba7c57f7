package main

import (
	"bufio"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/throughline/throughline/domain"
)

func newRootCommand(stdin io.Reader, stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:   "throughline",
		Short: "From roadmap idea to production evidence",
		Long: `Throughline links an outcome roadmap to production evidence. It consumes
delivery events (CDEvents) and telemetry from NATS JetStream, computes DORA
and flow metrics, and shows whether a shipped idea moved its key result.

Every flag can also be set with an environment variable: THROUGHLINE_ and the
flag name in upper case with - as _ (--data-dir → THROUGHLINE_DATA_DIR).`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       version,
	}
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.AddCommand(
		newServeCommand(stdout, stderr),
		newMigrateCommand(stdout, stderr),
		newUserCommand(stdin, stdout, stderr),
		newTokenCommand(stdout, stderr),
		newHealthcheckCommand(stdout),
		newPublishCommand(stdin, stdout, stderr),
		newRebuildCommand(stdout, stderr),
		newDemoCommand(stdout, stderr),
	)
	return root
}

// prepare applies the environment and builds the logger for a command.
func prepare(cmd *cobra.Command, cfg *Config, stderr io.Writer) (*slog.Logger, error) {
	if err := bindEnv(cmd); err != nil {
		return nil, err
	}
	return newLogger(stderr, cfg.LogLevel, cfg.LogFormat)
}

func newServeCommand(stdout, stderr io.Writer) *cobra.Command {
	cfg := DefaultConfig()
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the web app, the API and the event consumer",
		Long: `Run Throughline. With no --db and no --nats it is self-contained: a SQLite
file and an embedded NATS server with JetStream, both under --data-dir, and
NATS listening on --nats-listen so that CI systems can publish to it.

Migrations run automatically. On the first start an admin account is created
and its password printed once.`,
		Example: `  throughline serve --demo
  throughline serve --db postgres://throughline@db/throughline --nats nats://nats:4222`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log, err := prepare(cmd, &cfg, stderr)
			if err != nil {
				return err
			}
			cfg.NATSListenFallback = !cmd.Flags().Changed("nats-listen")
			app := NewApp(cfg, log, stdout)
			if err := app.Run(cmd.Context()); err != nil {
				if cerr := app.Close(); cerr != nil {
					log.Error("shutdown after failed start", "err", cerr)
				}
				return err
			}
			werr := app.Wait(cmd.Context())
			log.Info("shutting down")
			if err := app.Close(); err != nil {
				return err
			}
			log.Info("stopped")
			return werr
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&cfg.Addr, "addr", cfg.Addr, "HTTP listen address")
	storageFlags(fs, &cfg)
	natsClientFlags(fs, &cfg)
	natsServerFlags(fs, &cfg)
	fs.BoolVar(&cfg.Demo, "demo", cfg.Demo, "publish a realistic demo history through NATS on first start")
	fs.IntVar(&cfg.DemoDays, "demo-days", cfg.DemoDays, "days of history --demo publishes")
	eventFlags(fs, &cfg)
	fs.IntVar(&cfg.IngestBatch, "ingest-batch", cfg.IngestBatch, "events stored per transaction by the consumer")
	fs.IntVar(&cfg.MaxDeliver, "max-deliver", cfg.MaxDeliver, "deliveries of a failing event before it becomes a dead letter")
	fs.Var(newDaysValue(&cfg.EvidenceWindow), "evidence-window", "days of key-result data compared before and after an idea's first production deployment")
	fs.Var(newDaysValue(&cfg.MinuteRollups), "minute-rollups", "how long minute-resolution telemetry rollups are kept (hour and day rollups are kept for good)")
	fs.StringVar(&cfg.SecureCookies, "secure-cookies", cfg.SecureCookies, "auto (Secure when served over TLS), always or never")
	fs.BoolVar(&cfg.TrustProxy, "trust-proxy", cfg.TrustProxy, "trust X-Forwarded-For and X-Forwarded-Proto from a reverse proxy")
	fs.DurationVar(&cfg.SessionTTL, "session-ttl", cfg.SessionTTL, "how long a sign-in lasts")
	fs.DurationVar(&cfg.SLOInterval, "slo-interval", cfg.SLOInterval, "how often SLOs are evaluated and alert state changes published to NATS (0: never)")
	fs.StringVar(&cfg.AdminEmail, "admin-email", cfg.AdminEmail, "e-mail of the admin created on first start")
	webhookFlags(fs, &cfg)
	oidcFlags(fs, &cfg)
	logFlags(fs, &cfg)
	annotateEnv(cmd)
	return cmd
}

func newMigrateCommand(stdout, stderr io.Writer) *cobra.Command {
	cfg := DefaultConfig()
	cmd := &cobra.Command{
		Use:   "migrate",
		Short: "Apply database migrations and exit",
		Long:  "Apply every migration not yet applied. serve does this too; run it alone to migrate ahead of a rollout.",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if _, err := prepare(cmd, &cfg, stderr); err != nil {
				return err
			}
			store, err := openStore(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			defer store.Close()
			applied, err := store.Migrate(cmd.Context())
			for _, m := range applied {
				fmt.Fprintln(stdout, "applied", m)
			}
			if err != nil {
				return err
			}
			if len(applied) == 0 {
				fmt.Fprintln(stdout, "database is up to date")
			}
			return nil
		},
	}
	storageFlags(cmd.Flags(), &cfg)
	logFlags(cmd.Flags(), &cfg)
	annotateEnv(cmd)
	return cmd
}

func newUserCommand(stdin io.Reader, stdout, stderr io.Writer) *cobra.Command {
	cmd := &cobra.Command{Use: "user", Short: "Manage people who sign in"}
	cfg := DefaultConfig()
	var email, role string
	add := &cobra.Command{
		Use:   "add",
		Short: "Add a user (password from stdin, or generated and printed)",
		Long: `Add a local account. Pipe a password on stdin to set it; otherwise a strong
password is generated and printed once. Works while a server runs on the
same database.`,
		Example: `  throughline user add --email pm@example.com --role editor
  printf '%s' "$PASSWORD" | throughline user add --email cto@example.com --role viewer`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if _, err := prepare(cmd, &cfg, stderr); err != nil {
				return err
			}
			r, err := domain.ParseRole(role)
			if err != nil {
				return err
			}
			password, generated, err := readPassword(stdin)
			if err != nil {
				return err
			}
			store, err := openStore(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			defer store.Close()
			if _, err := store.Migrate(cmd.Context()); err != nil {
				return err
			}
			u, err := store.CreateUser(cmd.Context(), email, r, password)
			if err != nil {
				return userError(err)
			}
			if err := store.Audit(cmd.Context(), "cli", "user.create", u.Email, "role "+string(u.Role)); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "added %s (%s)\n", u.Email, u.Role)
			if generated {
				fmt.Fprintf(stdout, "password: %s\n", password)
			}
			return nil
		},
	}
	add.Flags().StringVar(&email, "email", "", "e-mail address used to sign in (required)")
	add.Flags().StringVar(&role, "role", "viewer", "admin, editor or viewer")
	_ = add.MarkFlagRequired("email")
	storageFlags(add.Flags(), &cfg)
	logFlags(add.Flags(), &cfg)
	annotateEnv(add)
	cmd.AddCommand(add)
	return cmd
}

// readPassword takes a password piped on stdin, or generates one when stdin
// is a terminal or empty.
func readPassword(stdin io.Reader) (string, bool, error) {
	if f, ok := stdin.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			return domain.GeneratePassword(), true, nil
		}
	}
	if stdin == nil {
		return domain.GeneratePassword(), true, nil
	}
	line, err := bufio.NewReader(io.LimitReader(stdin, 4096)).ReadString('\n')
	if err != nil && err != io.EOF {
		return "", false, fmt.Errorf("read password from stdin: %w", err)
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return domain.GeneratePassword(), true, nil
	}
	if err := domain.ValidatePassword(line); err != nil {
		return "", false, userError(err)
	}
	return line, false, nil
}

// userError shows a domain error's message without its code prefix.
func userError(err error) error {
	if code := domain.ErrorCode(err); code != domain.EINTERNAL && code != "" {
		return fmt.Errorf("%s", domain.ErrorMessage(err))
	}
	return err
}

func newTokenCommand(stdout, stderr io.Writer) *cobra.Command {
	cmd := &cobra.Command{Use: "token", Short: "Manage API tokens"}
	cfg := DefaultConfig()
	var name string
	var scopes []string
	create := &cobra.Command{
		Use:   "create",
		Short: "Create an API token and print it once",
		Long: `Create a bearer token for the JSON API. Scopes: read (metrics, ideas,
status), ingest (POST /api/v1/events), write (roadmap changes: ideas,
objectives, key results, value streams, SLOs, import; includes read),
admin (everything). Only a hash is
stored: the token is printed once. Works while a server runs.`,
		Example: `  throughline token create --name github-actions --scope ingest
  throughline token create --name grafana --scope read
  throughline token create --name roadmap-sync --scope write`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if _, err := prepare(cmd, &cfg, stderr); err != nil {
				return err
			}
			sc, err := domain.ParseScopes(strings.Join(scopes, ","))
			if err != nil {
				return userError(err)
			}
			store, err := openStore(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			defer store.Close()
			if _, err := store.Migrate(cmd.Context()); err != nil {
				return err
			}
			tok, secret, err := store.CreateToken(cmd.Context(), name, sc)
			if err != nil {
				return userError(err)
			}
			if err := store.Audit(cmd.Context(), "cli", "token.create", tok.Name, "scopes "+domain.ScopeString(tok.Scopes)); err != nil {
				return err
			}
			fmt.Fprintln(stdout, secret)
			fmt.Fprintf(stderr, "token %q with scopes %s created; it is shown only this once\n", tok.Name, domain.ScopeString(tok.Scopes))
			return nil
		},
	}
	create.Flags().StringVar(&name, "name", "", "what the token is for, e.g. github-actions (required)")
	create.Flags().StringSliceVar(&scopes, "scope", []string{"read"}, "read, ingest, write or admin; repeat or comma-separate for several")
	_ = create.MarkFlagRequired("name")
	storageFlags(create.Flags(), &cfg)
	logFlags(create.Flags(), &cfg)
	annotateEnv(create)
	cmd.AddCommand(create)
	return cmd
}

// newHealthcheckCommand probes a running server; container images without a
// shell or curl use it as their HEALTHCHECK.
func newHealthcheckCommand(stdout io.Writer) *cobra.Command {
	addr := DefaultConfig().Addr
	cmd := &cobra.Command{
		Use:   "healthcheck",
		Short: "Exit 0 when the server at --addr is ready (for container health checks)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := bindEnv(cmd); err != nil {
				return err
			}
			host, port, err := net.SplitHostPort(addr)
			if err != nil {
				return err
			}
			if host == "" || host == "0.0.0.0" || host == "::" {
				host = "127.0.0.1"
			}
			client := &http.Client{Timeout: 4 * time.Second}
			resp, err := client.Get("http://" + net.JoinHostPort(host, port) + "/readyz")
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
			if resp.StatusCode != http.StatusOK {
				return fmt.Errorf("not ready: %s %s", resp.Status, strings.TrimSpace(string(body)))
			}
			fmt.Fprintln(stdout, "ready")
			return nil
		},
	}
	cmd.Flags().StringVar(&addr, "addr", addr, "HTTP address of the server to probe")
	annotateEnv(cmd)
	return cmd
}
