package web

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/throughline/throughline/web/views"
)

func (s *Server) handleSettings(c echo.Context) error {
	info := s.cfg.Info
	checks := s.runChecks(c.Request().Context())
	health := views.ChecksTable("health", checks)
	if id := csvRequested(c); id != "" {
		return servePageTable(c, id, health)
	}
	return render(c, http.StatusOK, views.Settings(s.page(c, "Settings", "settings"), views.SettingsView{
		Version:  s.cfg.Version,
		Database: info.Database,
		NATS:     info.NATS,
		DataDir:  info.DataDir,
		Streams:  info.Streams,
		Consumer: info.Consumer,
		ProdEnvs: info.ProductionEnvs,
		Checks:   checks,
		Health:   health,
	}))
}
