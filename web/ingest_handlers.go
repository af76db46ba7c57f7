package web

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/throughline/throughline/domain"
	"github.com/throughline/throughline/web/views"
)

// maxEventsBody bounds one POST /api/v1/events (a batch of events).
const maxEventsBody = 16 << 20

// postEventsResponse is the answer to POST /api/v1/events: how many events
// were accepted, and the fate of each one, in the order they were posted
// (results), with the refused ones again under rejected.
type postEventsResponse struct {
	Accepted int           `json:"accepted"`
	Results  []EventResult `json:"results"`
	Rejected []EventResult `json:"rejected,omitempty"`
}

type postEventsError struct {
	Error    apiErrorBody  `json:"error"`
	Accepted int           `json:"accepted"`
	Results  []EventResult `json:"results"`
	Rejected []EventResult `json:"rejected"`
}

// handlePostEvents publishes posted CloudEvents. It answers 202 only after
// JetStream acknowledged every accepted event. A single invalid event, or a
// batch with nothing valid, is refused with 400 and the reason per event.
// When the events stream stops answering part-way through a batch, the
// answer is 503 and says exactly which events were accepted before it did.
func (s *Server) handlePostEvents(c echo.Context) error {
	body, err := io.ReadAll(c.Request().Body)
	if err != nil {
		if errors.As(err, new(*http.MaxBytesError)) {
			return bodyTooLarge(maxEventsBody)
		}
		return domain.Errorf(domain.EINVALID, "Could not read the request body.")
	}
	results, err := s.deps.Events.Accept(c.Request().Context(), c.Request().Header, body)
	if err != nil && results == nil {
		return err
	}
	accepted, rejected := 0, []EventResult{}
	for i := range results {
		results[i].Status = results[i].status()
		switch results[i].Status {
		case EventAccepted, EventDuplicate:
			accepted++
		case EventRejected:
			rejected = append(rejected, results[i])
		}
	}
	if err != nil {
		return s.partlyPublished(c, err, accepted, results, rejected)
	}
	if accepted == 0 {
		msg := "No event was accepted."
		if len(rejected) == 1 {
			msg = rejected[0].Message
		} else if len(rejected) > 1 {
			msg = strconv.Itoa(len(rejected)) + " events were rejected; see rejected[] for each reason."
		}
		return c.JSON(http.StatusBadRequest, postEventsError{Error: apiErrorBody{Code: domain.EINVALID, Message: msg}, Results: results, Rejected: rejected})
	}
	if len(rejected) == 0 {
		rejected = nil
	}
	return c.JSON(http.StatusAccepted, postEventsResponse{Accepted: accepted, Results: results, Rejected: rejected})
}

// partlyPublished answers a request whose events the stream stopped taking
// part-way: the error's status, and which events were accepted before.
func (s *Server) partlyPublished(c echo.Context, err error, accepted int, results, rejected []EventResult) error {
	code := domain.ErrorCode(err)
	status := statusOf[code]
	if status == 0 {
		status = http.StatusInternalServerError
	}
	if status >= 500 {
		s.log.Error("publishing posted events failed", "err", err, "accepted", accepted, "events", len(results), "request_id", c.Get(ctxRequestID))
	}
	msg := domain.ErrorMessage(err)
	if len(results) > 1 {
		msg = fmt.Sprintf("%d of %d events were accepted; the others were not (%s). results[] says which: send those with status %q again (sending all again is safe: duplicates are recognised).",
			accepted, len(results), strings.TrimSuffix(msg, "."), EventNotPublished)
	}
	return c.JSON(status, postEventsError{Error: apiErrorBody{Code: code, Message: msg}, Accepted: accepted, Results: results, Rejected: rejected})
}

func (s *Server) handleIngestStatus(c echo.Context) error {
	st, err := s.deps.Ingest.IngestStatus(c.Request().Context())
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusOK, st)
}

type deadLetterJSON struct {
	ID         int64      `json:"id"`
	Subject    string     `json:"subject"`
	Reason     string     `json:"reason"`
	Code       string     `json:"code"`
	Time       time.Time  `json:"time"`
	Data       string     `json:"data"`
	ReplayedAt *time.Time `json:"replayed_at"`
}

// limitParam reads ?limit= within [1, max], defaulting to def.
func limitParam(c echo.Context, def, max int) (int, error) {
	v := c.QueryParam("limit")
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > max {
		return 0, domain.Errorf(domain.EINVALID, "limit must be a whole number from 1 to %d.", max)
	}
	return n, nil
}

func (s *Server) handleDeadLetters(c echo.Context) error {
	limit, err := limitParam(c, 100, 1000)
	if err != nil {
		return err
	}
	list, err := s.deps.Ingest.DeadLetters(c.Request().Context(), limit)
	if err != nil {
		return err
	}
	out := make([]deadLetterJSON, len(list))
	for i, dl := range list {
		out[i] = deadLetterJSON{
			ID: dl.ID, Subject: dl.Subject, Reason: dl.Reason + ": " + dl.Message, Code: dl.Reason,
			Time: dl.At.UTC(), Data: string(dl.Data),
		}
		if !dl.ReplayedAt.IsZero() {
			t := dl.ReplayedAt.UTC()
			out[i].ReplayedAt = &t
		}
	}
	return c.JSON(http.StatusOK, map[string]any{"dead_letters": out})
}

func (s *Server) handleReplayAPI(c echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	if err := s.deps.Replayer.Replay(c.Request().Context(), id); err != nil {
		return err
	}
	tok, _ := c.Get(ctxToken).(*domain.APIToken)
	if err := s.deps.Admin.Audit(c.Request().Context(), "token:"+tok.Name, "deadletter.replay", strconv.FormatInt(id, 10), ""); err != nil {
		return err
	}
	return c.JSON(http.StatusAccepted, map[string]int64{"replayed": id})
}

func (s *Server) handleIngestPage(c echo.Context) error {
	ctx := c.Request().Context()
	st, err := s.deps.Ingest.IngestStatus(ctx)
	if err != nil {
		return err
	}
	list, err := s.deps.Ingest.DeadLetters(ctx, 200)
	if err != nil {
		return err
	}
	v := views.IngestView{Status: st, DeadLetters: list, NATSURL: s.cfg.Info.NATS, EventsSubject: s.cfg.Info.EventsSubject, LagKnown: false,
		Table: views.DeadLettersTable(list)}
	if id := csvRequested(c); id != "" {
		return servePageTable(c, id, v.Table)
	}
	if s.deps.Consumer != nil {
		if cs, err := s.deps.Consumer(ctx); err == nil && cs.Present {
			v.LagKnown, v.Pending, v.AckPending, v.ConsumerProblem = true, cs.Pending, cs.AckPending, cs.Problem
		} else if err == nil {
			v.ConsumerProblem = cs.Problem
		}
	}
	return render(c, http.StatusOK, views.Ingest(s.page(c, "Ingestion", "settings"), v))
}

func (s *Server) handleReplayPage(c echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	if err := s.deps.Replayer.Replay(ctx, id); err != nil {
		if code := domain.ErrorCode(err); code == domain.ENOTFOUND {
			return s.redirectWithFlash(c, "/settings/ingest", "error", domain.ErrorMessage(err))
		}
		return err
	}
	if err := s.deps.Admin.Audit(ctx, actor(c), "deadletter.replay", strconv.FormatInt(id, 10), ""); err != nil {
		return err
	}
	return s.redirectWithFlash(c, "/settings/ingest", "success",
		"Dead letter "+strconv.FormatInt(id, 10)+" sent back to the events stream. If it fails again it returns here with the new reason.")
}
