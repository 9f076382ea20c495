package api

import (
	"errors"
	"net/http"

	"github.com/nines-dev/nines/internal/alert"
	"github.com/nines-dev/nines/internal/config"
	"github.com/nines-dev/nines/internal/invalid"
	"github.com/nines-dev/nines/internal/web/httpx"
)

// target resolves an integration key of the expected type to the service it belongs to.
func (s *Handler) target(key, typ string) (alert.Target, error) {
	svc, in := s.Config.Get().IntegrationByKey(key)
	if svc == nil || in.Type != typ {
		return alert.Target{}, &httpx.Error{Status: http.StatusNotFound, Msg: "unknown integration key: no " + typ + " integration has this key"}
	}
	return alert.Target{ServiceID: svc.ID, Integration: typ, Grouping: svc.IncidentGrouping, Urgency: svc.Urgency}, nil
}

// EnqueueEventsV2 speaks the PagerDuty Events API v2, answers included, so anything with a
// PagerDuty integration (Alertmanager's pagerduty_configs among them) can point at nines.
func (s *Handler) EnqueueEventsV2(w http.ResponseWriter, r *http.Request) error {
	var warnings []string
	res, err := s.ingest(w, r, config.IntegrationEventsV2, "", func(body []byte) (string, []alert.Event, error) {
		key, ev, err := alert.DecodeEventsV2(body)
		warnings = ev.Warnings
		return key, []alert.Event{ev}, err
	})
	if err != nil {
		return pdError(err)
	}
	httpx.WriteJSON(w, http.StatusAccepted, eventAccepted{Status: "success", Message: "Event processed", DedupKey: res[0].DedupKey, Warnings: warnings})
	return nil
}

// eventAccepted is the Events API's answer to an event it took; warnings say what was left
// out of it (a link that is not http(s)).
type eventAccepted struct {
	Status   string   `json:"status"`
	Message  string   `json:"message"`
	DedupKey string   `json:"dedup_key,omitempty"`
	Warnings []string `json:"warnings,omitempty"`
}

// ingest runs one request of an integration through the pipeline and counts what became of
// each event: the integration key found (given, or read from the body by decode when key is
// ""), the body read and decoded, the events submitted. A known key is checked before the body
// is read.
func (s *Handler) ingest(w http.ResponseWriter, r *http.Request, source, key string, decode func(body []byte) (string, []alert.Event, error)) ([]alert.Result, error) {
	fail := func(result string, err error) ([]alert.Result, error) {
		s.metrics.Ingest(source, result)
		return nil, err
	}
	var t alert.Target
	var err error
	if key != "" {
		if t, err = s.target(key, source); err != nil {
			return fail("unknown_key", err)
		}
	}
	body, err := httpx.ReadBody(w, r)
	if err != nil {
		return fail("invalid", err)
	}
	inBody, events, err := decode(body)
	if err != nil {
		return fail("invalid", err)
	}
	if key == "" {
		if t, err = s.target(inBody, source); err != nil {
			return fail("unknown_key", err)
		}
	}
	res, err := s.Alerts.Submit(r.Context(), t, events)
	if err != nil {
		return fail("error", err)
	}
	for _, x := range res {
		s.metrics.Ingest(source, string(x.Outcome))
	}
	return res, nil
}

// pdError answers in the Events API's own error shape.
func pdError(err error) error {
	var inv *invalid.Error
	var e *httpx.Error
	switch {
	case errors.As(err, &inv):
		return &httpx.RawError{Status: http.StatusBadRequest, Body: map[string]any{"status": "invalid event", "message": inv.What, "errors": inv.Messages()}}
	case errors.As(err, &e) && e.Status >= 500:
		return e // not the event's fault: retry later, with the headers it says
	case errors.As(err, &e):
		status := "invalid event"
		if e.Status == http.StatusNotFound {
			status = "unrecognized routing key"
		}
		return &httpx.RawError{Status: e.Status, Body: map[string]any{"status": status, "message": e.Msg, "errors": []string{e.Msg}}}
	}
	return err
}

// IngestAlertmanager answers POST /api/v1/ingest/alertmanager/{key} and POST
// /api/v1/ingest/alertmanager.
func (s *Handler) IngestAlertmanager(w http.ResponseWriter, r *http.Request) error {
	const source = config.IntegrationAlertmanager
	key := r.PathValue("key")
	if key == "" {
		key = httpx.Bearer(r)
	}
	if key == "" {
		s.metrics.Ingest(source, "unknown_key")
		return httpx.Errorf(http.StatusUnauthorized, "integration key missing: put it in the URL (/api/v1/ingest/alertmanager/KEY) or send it as a bearer token")
	}
	res, err := s.ingest(w, r, source, key, func(body []byte) (string, []alert.Event, error) {
		events, err := alert.DecodeAlertmanager(body)
		return key, events, err
	})
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusAccepted, map[string]any{"status": "success", "results": res})
	return nil
}

// IngestGeneric answers POST /api/v1/ingest/generic/{key}.
func (s *Handler) IngestGeneric(w http.ResponseWriter, r *http.Request) error {
	key := r.PathValue("key")
	res, err := s.ingest(w, r, config.IntegrationGeneric, key, func(body []byte) (string, []alert.Event, error) {
		ev, err := alert.DecodeGeneric(body)
		return key, []alert.Event{ev}, err
	})
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusAccepted, map[string]any{"status": "success", "dedup_key": res[0].DedupKey, "outcome": res[0].Outcome,
		"incident_id": res[0].IncidentID})
	return nil
}
