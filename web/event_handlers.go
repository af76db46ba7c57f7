package web

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/throughline/throughline/domain"
	"github.com/throughline/throughline/web/views"
)

// EventReader finds stored events.
type EventReader interface {
	Event(ctx context.Context, id domain.Identity) (domain.StoredEvent, error)
}

func eventIdentity(c echo.Context) (domain.Identity, error) {
	id := domain.Identity{Source: c.QueryParam("source"), ID: c.QueryParam("id")}
	if id.Source == "" || id.ID == "" {
		return id, domain.Errorf(domain.EINVALID, "Name the event with source and id.")
	}
	return id, nil
}

// handleEventPage shows a stored event (drill-downs link here).
func (s *Server) handleEventPage(c echo.Context) error {
	id, err := eventIdentity(c)
	if err != nil {
		return err
	}
	e, err := s.deps.StoredEvents.Event(c.Request().Context(), id)
	if err != nil {
		return err
	}
	var pretty bytes.Buffer
	if json.Indent(&pretty, e.Data, "", "  ") != nil {
		pretty.Reset()
		pretty.Write(e.Data)
	}
	return render(c, http.StatusOK, views.EventPage(s.page(c, "Event "+e.ID, ""), e, pretty.String()))
}

// handleEventAPI answers GET /api/v1/events/view?source&id with the
// CloudEvent as stored.
func (s *Server) handleEventAPI(c echo.Context) error {
	id, err := eventIdentity(c)
	if err != nil {
		return err
	}
	e, err := s.deps.StoredEvents.Event(c.Request().Context(), id)
	if err != nil {
		return err
	}
	return c.JSONBlob(http.StatusOK, e.Data)
}
