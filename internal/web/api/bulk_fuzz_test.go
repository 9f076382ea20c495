package api_test

import (
	"net/url"
	"slices"
	"testing"

	"github.com/nines-dev/nines/internal/severity"
	"github.com/nines-dev/nines/internal/web/api"
	"github.com/nines-dev/nines/internal/web/webtest"
)

// FuzzIncidentFilter feeds the filter of the incident list and the bulk actions: it is
// accepted only as states, services and severities that exist, or refused, never crashing.
func FuzzIncidentFilter(f *testing.F) {
	cfg := webtest.Parse(f, bulkConfig)
	f.Add("open", "checkout", "critical", "disk full")
	f.Add("all,resolved", "checkout,dns", "warning,info", "")
	f.Add("closed", "billing", "sev0", "100%_")
	f.Add(",,", " , ", "CRITICAL", "\x00")
	f.Fuzz(func(t *testing.T, state, service, sev, q string) {
		fl, err := api.IncidentFilter(cfg, url.Values{"state": {state}, "service": {service}, "severity": {sev}, "q": {q}})
		if err != nil {
			return
		}
		for _, st := range fl.States {
			if !st.Valid() || st == "" {
				t.Fatalf("state %q accepted", st)
			}
		}
		for _, s := range fl.ServiceIDs {
			if cfg.Service(s) == nil {
				t.Fatalf("service %q accepted", s)
			}
		}
		for _, s := range fl.Severities {
			if !slices.Contains(severity.Alert, s) {
				t.Fatalf("severity %q accepted", s)
			}
		}
		if len(fl.Text) > 200 {
			t.Fatalf("a %d-byte q accepted", len(fl.Text))
		}
	})
}
