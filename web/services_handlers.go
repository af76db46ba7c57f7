package web

import (
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/throughline/throughline/domain"
	"github.com/throughline/throughline/web/views"
)

func (s *Server) handleServices(c echo.Context) error {
	ctx := c.Request().Context()
	services, err := s.deps.DORA.Services(ctx)
	if err != nil {
		return err
	}
	teams, err := s.deps.DORA.Teams(ctx)
	if err != nil {
		return err
	}
	postures, err := s.postures(ctx)
	if err != nil {
		return err
	}
	v := views.ServicesView{Services: services, Teams: teams, Postures: postures}
	v.Table = views.ServicesTable(v)
	if id := csvRequested(c); id != "" {
		return servePageTable(c, id, v.Table)
	}
	return render(c, http.StatusOK, views.Services(s.page(c, "Services and teams", "dora"), v))
}

// handleSetTeam sets a service's team by hand; an empty team hands the
// choice back to the events.
func (s *Server) handleSetTeam(c echo.Context) error {
	service, team := c.FormValue("service"), strings.TrimSpace(c.FormValue("team"))
	if len(team) > 100 {
		return s.redirectWithFlash(c, "/services", "error", "Keep team names under 100 characters.")
	}
	if err := s.deps.DORA.SetServiceTeam(c.Request().Context(), service, team, actor(c)); err != nil {
		if code := domain.ErrorCode(err); code == domain.ENOTFOUND || code == domain.EINVALID {
			return s.redirectWithFlash(c, "/services", "error", domain.ErrorMessage(err))
		}
		return err
	}
	msg := service + " now belongs to " + team + "; team views of DORA include it."
	if team == "" {
		msg = "The events decide " + service + "'s team again."
	}
	return s.redirectWithFlash(c, "/services", "success", msg)
}
