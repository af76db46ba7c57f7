package main

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/throughline/throughline/domain"
)

// Config is everything a Throughline process can be told at start-up. Every
// field is a flag, and every flag has a THROUGHLINE_* environment variable.
type Config struct {
	// Storage.
	DataDir string
	DB      string

	// NATS.
	NATS       string
	NATSListen string
	// NATSListenFallback lets the embedded server take a free port when
	// NATSListen is the default and already taken (say, by a system NATS).
	NATSListenFallback bool
	NATSToken          string
	NATSCreds          string
	NATSNKey           string
	NATSTLSCA          string
	NATSTLSCert        string
	NATSTLSKey         string
	NATSReplicas       int
	Stream             string
	StreamPrefix       string
	SubjectPrefix      string
	Retention          time.Duration

	// HTTP.
	Addr          string
	SecureCookies string
	TrustProxy    bool
	SessionTTL    time.Duration
	AdminEmail    string

	// Behaviour.
	Demo           bool
	DemoDays       int
	ProductionEnvs string
	IdeaKeyPattern string
	IngestBatch    int
	MaxDeliver     int
	MinuteRollups  time.Duration
	EvidenceWindow time.Duration
	AttributionWin time.Duration
	SLOInterval    time.Duration

	// Webhooks (webhooks.go).
	GitHubWebhookSecret     string
	GitHubWebhookSecretFile string
	GitLabWebhookToken      string
	GitLabWebhookTokenFile  string
	RolloutWebhookToken     string
	RolloutWebhookTokenFile string

	// Single sign-on through OpenID Connect (oidc.go).
	OIDCIssuer       string
	OIDCClientID     string
	OIDCClientSecret string
	OIDCRedirectURL  string
	OIDCName         string
	OIDCScopes       string
	OIDCRoleClaim    string
	OIDCAdminValues  string
	OIDCEditorValues string
	OIDCViewerValues string

	// Logging.
	LogLevel  string
	LogFormat string
}

// DefaultConfig returns the embedded single-machine defaults.
func DefaultConfig() Config {
	return Config{
		DataDir:        "./data",
		NATSListen:     "127.0.0.1:4222",
		NATSReplicas:   1,
		StreamPrefix:   "THROUGHLINE",
		SubjectPrefix:  "throughline",
		Retention:      400 * 24 * time.Hour,
		Addr:           "127.0.0.1:8080",
		SecureCookies:  "auto",
		SessionTTL:     7 * 24 * time.Hour,
		AdminEmail:     "admin@throughline.local",
		ProductionEnvs: "production,prod",
		IdeaKeyPattern: domain.DefaultIdeaKeyPattern,
		IngestBatch:    500,
		MaxDeliver:     10,
		DemoDays:       90,
		MinuteRollups:  7 * 24 * time.Hour,
		EvidenceWindow: 14 * 24 * time.Hour,
		AttributionWin: 24 * time.Hour,
		SLOInterval:    30 * time.Second,
		OIDCName:       "single sign-on",
		OIDCScopes:     "openid,email,profile",
		OIDCRoleClaim:  "groups",
		LogLevel:       "info",
		LogFormat:      "text",
	}
}

// The flag groups below are shared by the subcommands that need them.

func storageFlags(fs *pflag.FlagSet, c *Config) {
	fs.StringVar(&c.DataDir, "data-dir", c.DataDir, "directory for the SQLite file and the embedded NATS store")
	fs.StringVar(&c.DB, "db", c.DB, "database: empty for SQLite in --data-dir, or postgres://user:pass@host/db")
}

func natsClientFlags(fs *pflag.FlagSet, c *Config) {
	fs.StringVar(&c.NATS, "nats", c.NATS, "external NATS URL(s), comma-separated; empty runs the embedded server")
	fs.StringVar(&c.NATSToken, "nats-token", c.NATSToken, "token the embedded NATS server requires of every client (needed when --nats-listen is not a loopback address), and that this program sends")
	fs.StringVar(&c.NATSCreds, "nats-creds", c.NATSCreds, "NATS user credentials (.creds) file")
	fs.StringVar(&c.NATSNKey, "nats-nkey", c.NATSNKey, "NATS nkey seed file")
	fs.StringVar(&c.NATSTLSCA, "nats-tls-ca", c.NATSTLSCA, "CA certificate to verify NATS servers")
	fs.StringVar(&c.NATSTLSCert, "nats-tls-cert", c.NATSTLSCert, "client certificate for NATS mutual TLS")
	fs.StringVar(&c.NATSTLSKey, "nats-tls-key", c.NATSTLSKey, "client key for NATS mutual TLS")
	fs.StringVar(&c.SubjectPrefix, "subject-prefix", c.SubjectPrefix, "first token of every subject (<prefix>.events.>, <prefix>.dlq.>)")
}

func natsServerFlags(fs *pflag.FlagSet, c *Config) {
	fs.StringVar(&c.NATSListen, "nats-listen", c.NATSListen, "address the embedded NATS server listens on (port 0 picks one)")
	fs.IntVar(&c.NATSReplicas, "nats-replicas", c.NATSReplicas, "replicas for streams created on a NATS cluster")
	fs.StringVar(&c.Stream, "stream", c.Stream, "bind this existing events stream instead of creating one")
	fs.StringVar(&c.StreamPrefix, "stream-prefix", c.StreamPrefix, "stream names are <prefix>_EVENTS and <prefix>_DLQ")
	fs.Var(newDaysValue(&c.Retention), "retention", "how long events stay replayable in the stream (e.g. 400d, 720h)")
}

func eventFlags(fs *pflag.FlagSet, c *Config) {
	fs.StringVar(&c.ProductionEnvs, "production-envs", c.ProductionEnvs, "environment ids that count as production (comma-separated, case-insensitive)")
	fs.Var(newDaysValue(&c.AttributionWin), "attribution-window", "how long after a deployment an incident on its service without an artifact counts against it")
	fs.StringVar(&c.IdeaKeyPattern, "idea-key-pattern", c.IdeaKeyPattern, "regular expression that finds idea keys in change ids, titles and branches")
}

func logFlags(fs *pflag.FlagSet, c *Config) {
	fs.StringVar(&c.LogLevel, "log-level", c.LogLevel, "debug, info, warn or error")
	fs.StringVar(&c.LogFormat, "log-format", c.LogFormat, "text or json")
}

// bindEnv gives every flag of cmd not set on the command line the value of
// its environment variable: THROUGHLINE_ + upper-case name, "-" → "_".
func bindEnv(cmd *cobra.Command) error {
	var errs []string
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		if f.Changed || f.Name == "help" {
			return
		}
		name := envName(f.Name)
		v, ok := os.LookupEnv(name)
		if !ok {
			return
		}
		if err := f.Value.Set(v); err != nil {
			errs = append(errs, fmt.Sprintf("%s=%q: %v", name, v, err))
			return
		}
		f.Changed = true
	})
	if len(errs) > 0 {
		return fmt.Errorf("bad environment: %s", strings.Join(errs, "; "))
	}
	return nil
}

func envName(flag string) string {
	return "THROUGHLINE_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

// annotateEnv appends each flag's environment variable to its help text.
func annotateEnv(cmd *cobra.Command) {
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		if f.Name == "help" || strings.Contains(f.Usage, "THROUGHLINE_") {
			return
		}
		f.Usage += " [$" + envName(f.Name) + "]"
	})
}

// daysValue is a duration flag that also accepts whole days ("400d").
type daysValue struct{ d *time.Duration }

func newDaysValue(d *time.Duration) *daysValue { return &daysValue{d: d} }

func (v *daysValue) Type() string { return "duration" }

func (v *daysValue) String() string {
	if v.d == nil {
		return ""
	}
	if *v.d%(24*time.Hour) == 0 && *v.d > 0 {
		return strconv.FormatInt(int64(*v.d/(24*time.Hour)), 10) + "d"
	}
	return v.d.String()
}

func (v *daysValue) Set(s string) error {
	d, err := parseDays(s)
	if err != nil {
		return err
	}
	*v.d = d
	return nil
}

func parseDays(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.Atoi(n)
		if err != nil || days <= 0 {
			return 0, fmt.Errorf("%q: want a positive number of days such as 14d", s)
		}
		return time.Duration(days) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%q: want a positive duration such as 24h or 14d", s)
	}
	return d, nil
}

// checkNATSExposure refuses an embedded NATS server that anyone on the
// network could reach without a token (DESIGN.md section 2, event bus
// authentication): whoever reaches it could forge deployments, read every
// event, delete the consumer and purge the streams.
func checkNATSExposure(c Config) error {
	if c.NATS != "" || c.NATSToken != "" || isLoopback(c.NATSListen) {
		return nil
	}
	return fmt.Errorf("--nats-listen %s is not a loopback address, so anyone who reaches it could publish, read and delete events: "+
		"set --nats-token (or THROUGHLINE_NATS_TOKEN) to require a token, or listen on 127.0.0.1", c.NATSListen)
}

// isLoopback reports whether a listen address only accepts connections from
// this machine: 127.0.0.0/8, ::1 or localhost. An empty host means every
// interface, and any other name may resolve to anything: neither is.
func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
