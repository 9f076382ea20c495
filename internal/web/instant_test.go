package web_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nines-dev/nines/internal/auth"
	"github.com/nines-dev/nines/internal/clock"
)

// TestInstantsOutOfRangeAreRefusedNamingTheParameter: ?at=9999-12-31T23:59:59Z answered 200
// with an empty body: the shift it found ended past year 9999, which JSON cannot say, and the
// failed encoding was silent. Instants are now checked (1970 to 2999) and a refusal names the
// parameter.
func TestInstantsOutOfRangeAreRefusedNamingTheParameter(t *testing.T) {
	w := startWholeNines(t)
	viewer, responder := w.tokens[auth.Viewer], w.tokens[auth.Responder]
	var inc struct{ ID int64 }
	w.mustJSON(t, "POST", "/api/v1/incidents", responder, `{"service": "checkout", "title": "Checkout is down"}`, &inc)
	for _, c := range []struct {
		name, method, path, token, body, field string
	}{
		{"who is on call at the end of year 9999", "GET", "/api/v1/oncall?at=9999-12-31T23:59:59Z", viewer, "", "at"},
		{"who is on call in year 1", "GET", "/api/v1/oncall?at=0001-01-01T00:00:00Z", viewer, "", "at"},
		{"who is on call in 3000", "GET", "/api/v1/oncall?at=3000-01-01T00:00:00Z", viewer, "", "at"},
		{"who was on call in 1969", "GET", "/api/v1/oncall?at=1969-12-31T23:59:59Z", viewer, "", "at"},
		{"shifts from year 9999", "GET", "/api/v1/schedules/ops/shifts?from=9999-12-01T00:00:00Z&to=9999-12-31T00:00:00Z", viewer, "", "from"},
		{"the on-call report up to year 9999", "GET", "/api/v1/reports/oncall?to=9999-12-31T00:00:00Z", viewer, "", "to"},
		{"an impact that started in year 9999", "POST", "/api/v1/incidents/" + itoa(inc.ID) + "/impact", responder, `{"impact_started_at": "9999-12-31T23:59:59Z"}`, "impact_started_at"},
		{"an incident declared with an impact in year 1", "POST", "/api/v1/incidents", responder, `{"service": "checkout", "title": "Old", "impact_started_at": "0001-01-01"}`, "impact_started_at"},
		{"incidents reported up to year 9999", "GET", "/api/v1/reports/incidents?to=9999-12-31", viewer, "", "to"},
		{"changes of a service up to year 9999", "GET", "/api/v1/services/checkout/changes?to=9999-12-31", viewer, "", "to"},
		{"an override ending in year 9999", "POST", "/api/v1/schedules/ops/overrides", w.tokens[auth.Manager], `{"user_id": "alice", "start": "2026-04-01T00:00:00Z", "end": "9999-12-31T00:00:00Z"}`, "end"},
		{"a maintenance window ending in year 9999", "POST", "/api/v1/maintenance", w.tokens[auth.Manager], `{"name": "forever", "services": ["checkout"], "start": "2026-04-01T00:00:00Z", "end": "9999-12-31T00:00:00Z"}`, "end"},
		{"SLI events in year 9999", "POST", "/api/v1/slis/checkout-availability/events", responder, `{"events": [{"timestamp": "9999-12-31T00:00:00Z", "good": 1, "total": 1}]}`, "events[0].timestamp"},
	} {
		t.Run(c.name, func(t *testing.T) {
			status, body := w.call(t, c.method, c.path, c.token, c.body)
			if status != http.StatusBadRequest || !strings.Contains(body, c.field+": ") {
				t.Errorf("%s %s: %d %q, want 400 naming %s", c.method, c.path, status, body, c.field)
			}
		})
	}
	if status, body := w.call(t, "GET", "/api/v1/oncall?at=2999-12-31T00:00:00Z", viewer, ""); status != http.StatusOK || !strings.Contains(body, `"oncall"`) {
		t.Errorf("who is on call in 2999: %d %q, want 200 with the answer", status, body)
	}
}

// TestAnAnswerThatCannotBeEncodedIsA500NeverAnEmpty200: when the clock itself reads the end
// of year 9999, the shift on call ends past what JSON can write. The answer is a 500 with an
// error body, and the log says why.
func TestAnAnswerThatCannotBeEncodedIsA500NeverAnEmpty200(t *testing.T) {
	w := startWholeNines(t)
	w.app.Clock.(*clock.Fake).Set(time.Date(9999, 12, 31, 23, 0, 0, 0, time.UTC))
	status, body := w.call(t, "GET", "/api/v1/oncall", w.tokens[auth.Viewer], "")
	if status != http.StatusInternalServerError || !strings.Contains(body, `"error"`) {
		t.Errorf("who is on call at the end of year 9999: %d %q, want 500 with an error", status, body)
	}
	if log := w.log.String(); !strings.Contains(log, "encoding the answer failed") || !strings.Contains(log, "GET /api/v1/oncall") {
		t.Errorf("the log does not say the answer could not be encoded:\n%s", log)
	}
}
