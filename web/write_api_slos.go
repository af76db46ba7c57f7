package web

import (
	"math"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/throughline/throughline/domain"
)

// sloInput is an SLO as a write gives it: the definition part of what GET
// /api/v1/slos/{id} answers.
type sloInput struct {
	Name        string          `json:"name"`
	DisplayName string          `json:"display_name"`
	Description string          `json:"description"`
	Service     string          `json:"service"`
	Good        metricQueryJSON `json:"good"`
	Total       metricQueryJSON `json:"total"`
	Target      float64         `json:"target"`
	WindowDays  int             `json:"window_days"`
}

// slo turns the input into an SLO and says what is wrong (domain.SLO.Validate,
// as the form and the OpenSLO import).
func (in sloInput) slo() (domain.SLO, map[string]string) {
	slo := domain.SLO{Name: strings.TrimSpace(in.Name), DisplayName: in.DisplayName, Description: in.Description, Service: in.Service,
		Good:   domain.MetricQuery{Metric: in.Good.Metric, Attributes: in.Good.Attributes},
		Total:  domain.MetricQuery{Metric: in.Total.Metric, Attributes: in.Total.Attributes},
		Target: math.Round(in.Target*1e9) / 1e9, WindowDays: in.WindowDays}
	return slo, slo.Validate()
}

// sloDefJSON is an SLO's definition, as the export holds it.
type sloDefJSON struct {
	sloInput
	ID int64 `json:"id"`
}

func toSLODef(s domain.SLO) sloDefJSON {
	attrs := func(m map[string]string) map[string]string {
		if m == nil {
			return map[string]string{}
		}
		return m
	}
	return sloDefJSON{ID: s.ID, sloInput: sloInput{Name: s.Name, DisplayName: s.DisplayName, Description: s.Description, Service: s.Service,
		Good: metricQueryJSON{Metric: s.Good.Metric, Attributes: attrs(s.Good.Attributes)}, Total: metricQueryJSON{Metric: s.Total.Metric, Attributes: attrs(s.Total.Attributes)},
		Target: s.Target, WindowDays: s.WindowDays}}
}

func (s *Server) handleCreateSLOAPI(c echo.Context) error {
	var in sloInput
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	slo, errs := in.slo()
	if err := invalidInput(errs); err != nil {
		return err
	}
	created, err := s.deps.SLOs.CreateSLO(c.Request().Context(), slo, tokenActor(c))
	if err != nil {
		return err
	}
	s.forgetSLOStatuses()
	return c.JSON(http.StatusCreated, toSLODef(created))
}

func (s *Server) handleUpdateSLOAPI(c echo.Context) error {
	id, err := sloID(c)
	if err != nil {
		return err
	}
	var in sloInput
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	slo, errs := in.slo()
	if err := invalidInput(errs); err != nil {
		return err
	}
	updated, err := s.deps.SLOs.UpdateSLO(c.Request().Context(), id, tokenActor(c), func(cur *domain.SLO) error {
		slo.ID, slo.CreatedAt = cur.ID, cur.CreatedAt
		*cur = slo
		return nil
	})
	if err != nil {
		return err
	}
	s.forgetSLOStatuses()
	return c.JSON(http.StatusOK, toSLODef(updated))
}

func (s *Server) handleDeleteSLOAPI(c echo.Context) error {
	id, err := sloID(c)
	if err != nil {
		return err
	}
	if err := s.deps.SLOs.DeleteSLO(c.Request().Context(), id, tokenActor(c)); err != nil {
		return err
	}
	s.forgetSLOStatuses()
	return c.NoContent(http.StatusNoContent)
}
