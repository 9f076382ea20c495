package web

import (
	"errors"
	"net/http"
	"strings"

	"github.com/nines-dev/nines/internal/alert"
	"github.com/nines-dev/nines/internal/config"
)

func (s *Server) ingestRoutes() []Route {
	return []Route{
		{Method: "POST", Pattern: "/v2/enqueue", Access: Key, Handle: s.enqueueEventsV2, API: true},
		{Method: "POST", Pattern: "/api/v1/ingest/alertmanager/{key}", Access: Key, Handle: s.ingestAlertmanager, API: true},
		{Method: "POST", Pattern: "/api/v1/ingest/alertmanager", Access: Key, Handle: s.ingestAlertmanager, API: true},
		{Method: "POST", Pattern: "/api/v1/ingest/generic/{key}", Access: Key, Handle: s.ingestGeneric, API: true},
	}
}

// target resolves an integration key of the expected type to the service it belongs to.
func (s *Server) target(key, typ string) (alert.Target, error) {
	svc, in := s.Config.Get().IntegrationByKey(key)
	if svc == nil || in.Type != typ {
		return alert.Target{}, &Error{Status: http.StatusNotFound, Msg: "unknown integration key: no " + typ + " integration has this key"}
	}
	return alert.Target{ServiceID: svc.ID, Integration: typ, Grouping: svc.IncidentGrouping, Urgency: svc.Urgency}, nil
}

// enqueueEventsV2 speaks the PagerDuty Events API v2, answers included, so anything with a
// PagerDuty integration (Alertmanager's pagerduty_configs among them) can point at nines.
func (s *Server) enqueueEventsV2(w http.ResponseWriter, r *http.Request) error {
	const source = config.IntegrationEventsV2
	body, err := readBody(w, r)
	if err != nil {
		s.metrics.ingest(source, "invalid")
		return pdError(err)
	}
	key, ev, err := alert.DecodeEventsV2(body)
	if err != nil {
		s.metrics.ingest(source, "invalid")
		return pdError(err)
	}
	t, err := s.target(key, source)
	if err != nil {
		s.metrics.ingest(source, "unknown_key")
		return pdError(err)
	}
	res, err := s.Alerts.Submit(r.Context(), t, []alert.Event{ev})
	if err != nil {
		s.metrics.ingest(source, "error")
		return err
	}
	s.metrics.ingest(source, string(res[0].Outcome))
	writeJSON(w, http.StatusAccepted, map[string]string{"status": "success", "message": "Event processed", "dedup_key": res[0].DedupKey})
	return nil
}

// pdError answers in the Events API's own error shape.
func pdError(err error) error {
	var inv *alert.InvalidError
	var e *Error
	switch {
	case errors.As(err, &inv):
		return &pdErr{status: http.StatusBadRequest, body: map[string]any{"status": "invalid event", "message": inv.Message, "errors": inv.Errors}}
	case errors.As(err, &e):
		status := "invalid event"
		if e.Status == http.StatusNotFound {
			status = "unrecognized routing key"
		}
		return &pdErr{status: e.Status, body: map[string]any{"status": status, "message": e.Msg, "errors": []string{e.Msg}}}
	}
	return err
}

type pdErr struct {
	status int
	body   map[string]any
}

func (e *pdErr) Error() string { return e.body["message"].(string) }

func (s *Server) ingestAlertmanager(w http.ResponseWriter, r *http.Request) error {
	const source = config.IntegrationAlertmanager
	key := r.PathValue("key")
	if key == "" {
		key = bearer(r)
	}
	if key == "" {
		s.metrics.ingest(source, "unknown_key")
		return errorf(http.StatusUnauthorized, "integration key missing: put it in the URL (/api/v1/ingest/alertmanager/KEY) or send it as a bearer token")
	}
	t, err := s.target(key, source)
	if err != nil {
		s.metrics.ingest(source, "unknown_key")
		return err
	}
	body, err := readBody(w, r)
	if err != nil {
		s.metrics.ingest(source, "invalid")
		return err
	}
	events, err := alert.DecodeAlertmanager(body)
	if err != nil {
		s.metrics.ingest(source, "invalid")
		return invalid(err)
	}
	res, err := s.Alerts.Submit(r.Context(), t, events)
	if err != nil {
		s.metrics.ingest(source, "error")
		return err
	}
	for _, x := range res {
		s.metrics.ingest(source, string(x.Outcome))
	}
	writeJSON(w, http.StatusAccepted, map[string]any{"status": "success", "results": res})
	return nil
}

func (s *Server) ingestGeneric(w http.ResponseWriter, r *http.Request) error {
	const source = config.IntegrationGeneric
	t, err := s.target(r.PathValue("key"), source)
	if err != nil {
		s.metrics.ingest(source, "unknown_key")
		return err
	}
	body, err := readBody(w, r)
	if err != nil {
		s.metrics.ingest(source, "invalid")
		return err
	}
	ev, err := alert.DecodeGeneric(body)
	if err != nil {
		s.metrics.ingest(source, "invalid")
		return invalid(err)
	}
	res, err := s.Alerts.Submit(r.Context(), t, []alert.Event{ev})
	if err != nil {
		s.metrics.ingest(source, "error")
		return err
	}
	s.metrics.ingest(source, string(res[0].Outcome))
	writeJSON(w, http.StatusAccepted, map[string]any{"status": "success", "dedup_key": res[0].DedupKey, "outcome": res[0].Outcome,
		"incident_id": res[0].IncidentID})
	return nil
}

// invalid turns a decoder's InvalidError into a 400 that lists every problem.
func invalid(err error) error {
	var inv *alert.InvalidError
	if errors.As(err, &inv) {
		return &Error{Status: http.StatusBadRequest, Msg: inv.Message + ": " + strings.Join(inv.Errors, "; "), Errors: inv.Errors}
	}
	return err
}
