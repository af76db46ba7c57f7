package web

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/throughline/throughline/web/views"
)

func (s *Server) handleHome(c echo.Context) error {
	p := s.page(c, "Overview", "")
	return render(c, http.StatusOK, views.Home(p, views.HomeView{
		Checks:        s.runChecks(c.Request().Context()),
		NATSURL:       s.cfg.Info.NATS,
		EventsSubject: s.cfg.Info.EventsSubject,
		BaseURL:       c.Scheme() + "://" + c.Request().Host,
	}))
}

func (s *Server) handleTrends(c echo.Context) error {
	return render(c, http.StatusOK, views.Section(s.page(c, "Trends", "trends"), views.SectionView{
		Title:       "Trends",
		Description: "Quarters at a glance: delivery, outcomes, flow and reliability over time.",
		EmptyTitle:  "Not enough history yet",
		EmptyBody:   "Trends need a few weeks of delivery events. Run throughline demo to see a realistic history.",
	}))
}

func (s *Server) handleSettings(c echo.Context) error {
	info := s.cfg.Info
	return render(c, http.StatusOK, views.Settings(s.page(c, "Settings", "settings"), views.SettingsView{
		Version:  s.cfg.Version,
		Database: info.Database,
		NATS:     info.NATS,
		DataDir:  info.DataDir,
		Streams:  info.Streams,
		Consumer: info.Consumer,
		ProdEnvs: info.ProductionEnvs,
		Checks:   s.runChecks(c.Request().Context()),
	}))
}
