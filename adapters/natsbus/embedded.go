package natsbus

import (
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"strconv"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// Embedded is an in-process nats-server with JetStream, for the single-machine
// default. It listens on a TCP address so that CI systems, the nats CLI and
// `throughline publish` can send events to it.
type Embedded struct {
	srv *server.Server
}

// EmbeddedOptions configure StartEmbedded.
type EmbeddedOptions struct {
	DataDir string // JetStream stores under DataDir/nats
	Listen  string // host:port; port 0 picks a free one
	// Token, when set, is required of every client (DESIGN.md section 2,
	// event bus authentication); the app's own connection sends it too.
	Token  string
	Logger *slog.Logger
}

// StartEmbedded starts the server and waits until it accepts connections.
func StartEmbedded(o EmbeddedOptions) (*Embedded, error) {
	host, portStr, err := net.SplitHostPort(o.Listen)
	if err != nil {
		return nil, fmt.Errorf("--nats-listen %q: %w", o.Listen, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return nil, fmt.Errorf("--nats-listen %q: bad port", o.Listen)
	}
	if port == 0 {
		port = server.RANDOM_PORT
	} else {
		// nats-server reports a taken port only through its logger and then
		// never becomes ready; find out first and say so plainly.
		ln, err := net.Listen("tcp", o.Listen)
		if err != nil {
			return nil, fmt.Errorf("embedded nats cannot listen on %s: %w (another NATS running? set --nats-listen, or --nats to use it)", o.Listen, err)
		}
		ln.Close()
	}
	opts := &server.Options{
		ServerName:         "throughline-embedded",
		Host:               host,
		Port:               port,
		JetStream:          true,
		StoreDir:           filepath.Join(o.DataDir, "nats"),
		NoSigs:             true, // the app owns signal handling and shuts us down
		MaxPayload:         8 << 20,
		JetStreamMaxMemory: 256 << 20,
		Authorization:      o.Token,
	}
	srv, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("embedded nats: %w", err)
	}
	if o.Logger != nil {
		srv.SetLoggerV2(&serverLogger{l: o.Logger.With("component", "nats-server")}, false, false, false)
	}
	go srv.Start()
	if !srv.ReadyForConnections(15 * time.Second) {
		srv.Shutdown()
		return nil, fmt.Errorf("embedded nats did not start on %s (is the port already in use? set --nats-listen or --nats)", o.Listen)
	}
	return &Embedded{srv: srv}, nil
}

// ClientURL is the nats:// URL producers use to reach the embedded server.
func (e *Embedded) ClientURL() string { return e.srv.ClientURL() }

// Server returns the running server, for an in-process client connection.
func (e *Embedded) Server() *server.Server { return e.srv }

// Shutdown stops the server after its clients have been closed.
func (e *Embedded) Shutdown() {
	e.srv.Shutdown()
	e.srv.WaitForShutdown()
}

// serverLogger routes nats-server's log lines into slog.
type serverLogger struct{ l *slog.Logger }

func (s *serverLogger) Noticef(format string, v ...any) { s.l.Debug(fmt.Sprintf(format, v...)) }
func (s *serverLogger) Warnf(format string, v ...any)   { s.l.Warn(fmt.Sprintf(format, v...)) }
func (s *serverLogger) Fatalf(format string, v ...any)  { s.l.Error(fmt.Sprintf(format, v...)) }
func (s *serverLogger) Errorf(format string, v ...any)  { s.l.Error(fmt.Sprintf(format, v...)) }
func (s *serverLogger) Debugf(format string, v ...any)  { s.l.Debug(fmt.Sprintf(format, v...)) }
func (s *serverLogger) Tracef(format string, v ...any)  {}
