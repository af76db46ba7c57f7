package web

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/throughline/throughline/web/views"
)

// handleHealthz answers 200 as long as the process serves HTTP and no
// liveness check fails (liveness): a failing one is something the process
// cannot recover from by itself, such as a NATS connection that closed and
// cannot be opened again.
func (s *Server) handleHealthz(c echo.Context) error {
	c.Response().Header().Set("Cache-Control", "no-store")
	for _, chk := range s.deps.Live {
		if err := chk.Ping(c.Request().Context()); err != nil {
			return c.JSON(http.StatusServiceUnavailable, map[string]any{"status": "not live", "checks": map[string]string{chk.Name: err.Error()}})
		}
	}
	return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
}

// handleReadyz answers 200 only when every dependency answers (readiness).
func (s *Server) handleReadyz(c echo.Context) error {
	results := s.runChecks(c.Request().Context())
	status, body := http.StatusOK, map[string]any{"status": "ready"}
	checks := map[string]string{}
	for _, r := range results {
		if r.OK {
			checks[r.Name] = "ok"
		} else {
			checks[r.Name] = r.Detail
			status = http.StatusServiceUnavailable
			body["status"] = "unavailable"
		}
	}
	body["checks"] = checks
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(status, body)
}

// runChecks pings every dependency concurrently, each with a short deadline.
func (s *Server) runChecks(ctx context.Context) []views.CheckView {
	out := make([]views.CheckView, len(s.deps.Checks))
	var wg sync.WaitGroup
	for i, chk := range s.deps.Checks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			defer cancel()
			out[i] = views.CheckView{Name: chk.Name, OK: true, Detail: "reachable"}
			if err := chk.Ping(cctx); err != nil {
				out[i] = views.CheckView{Name: chk.Name, OK: false, Detail: err.Error()}
			}
		}()
	}
	wg.Wait()
	return out
}
