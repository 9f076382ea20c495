package api

import (
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/nines-dev/nines/internal/config"
	"github.com/nines-dev/nines/internal/incident"
	"github.com/nines-dev/nines/internal/invalid"
	"github.com/nines-dev/nines/internal/severity"
	"github.com/nines-dev/nines/internal/web/httpx"
)

// maxFilterText bounds the words a filter looks for in titles.
const maxFilterText = 200

// IncidentFilter reads a filter of incidents as the list, the bulk actions and the page all
// take it: state (open, triggered, acknowledged, resolved, all; several separated by commas;
// none means every state), service and severity (ids, several separated by commas), q (words
// the title holds, in any case). Every problem is named with its field.
func IncidentFilter(cfg *config.Config, q url.Values) (incident.Filter, error) {
	var f incident.Filter
	bad := &invalid.Error{}
	for _, st := range commaValues(q["state"]) {
		switch st {
		case "all":
		case "open":
			f.States = append(f.States, incident.Triggered, incident.Acknowledged)
		default:
			if !incident.State(st).Valid() {
				bad.Add("state", "%q is not one of triggered, acknowledged, resolved, open, all", st)
				continue
			}
			f.States = append(f.States, incident.State(st))
		}
	}
	for _, id := range commaValues(q["service"]) {
		if cfg.Service(id) == nil {
			bad.Add("service", "unknown service %q", id)
			continue
		}
		f.ServiceIDs = append(f.ServiceIDs, id)
	}
	for _, sv := range commaValues(q["severity"]) {
		if !slices.Contains(severity.Alert, sv) {
			bad.Add("severity", "%q is not one of %s", sv, strings.Join(severity.Alert, ", "))
			continue
		}
		f.Severities = append(f.Severities, sv)
	}
	f.Text = strings.TrimSpace(q.Get("q"))
	if len(f.Text) > maxFilterText {
		bad.Add("q", "at most %d bytes", maxFilterText)
	}
	return f, bad.Err()
}

func commaValues(vs []string) []string {
	var out []string
	for _, v := range vs {
		for _, s := range strings.Split(v, ",") {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
	}
	return out
}

// BulkFilter is the filter of a bulk action's body: what the list takes in its query.
type BulkFilter struct {
	State    string `json:"state"`
	Service  string `json:"service"`
	Severity string `json:"severity"`
	Q        string `json:"q"`
}

// Values is the filter as a query.
func (b BulkFilter) Values() url.Values {
	return url.Values{"state": {b.State}, "service": {b.Service}, "severity": {b.Severity}, "q": {b.Q}}
}

// BulkIncidents acknowledges or resolves (to) the incidents named by ids, or, when filter is
// not nil, every incident matching it that the caller reaches; at most incident.MaxBulk, as a.
// Each incident is checked against the caller's team scope: one it does not reach is reported
// forbidden and left as it is. The page's form and the API both act through it.
func (s *Handler) BulkIncidents(r *http.Request, to incident.State, ids []int64, filter url.Values, a incident.Actor) ([]incident.BulkResult, error) {
	rc := s.guard.Reach(r)
	switch {
	case len(ids) > 0 && filter != nil:
		return nil, invalid.Field("filter", "give ids or a filter, not both")
	case len(ids) == 0 && filter == nil:
		return nil, invalid.Field("ids", "name the incidents (ids) or give a filter")
	case filter != nil:
		f, err := IncidentFilter(s.Config.Get(), filter)
		if err != nil {
			return nil, err
		}
		if f.ServiceIDs, err = rc.Services(f.ServiceIDs); err != nil {
			return nil, err
		}
		f.Limit = incident.MaxBulk
		incs, next, err := s.Incidents.List(r.Context(), f)
		if err != nil {
			return nil, err
		}
		if next != "" {
			return nil, invalid.Field("filter", "matches more than %d incidents; narrow it, or name the incidents by id", incident.MaxBulk)
		}
		if len(incs) == 0 {
			return []incident.BulkResult{}, nil
		}
		for _, inc := range incs {
			ids = append(ids, inc.ID)
		}
	}
	return s.Incidents.Bulk(r.Context(), ids, to, a, rc.Incident)
}

// AcknowledgeIncidents answers POST /api/v1/incidents/acknowledge.
func (s *Handler) AcknowledgeIncidents(w http.ResponseWriter, r *http.Request) error {
	return s.bulk(w, r, incident.Acknowledged)
}

// ResolveIncidents answers POST /api/v1/incidents/resolve.
func (s *Handler) ResolveIncidents(w http.ResponseWriter, r *http.Request) error {
	return s.bulk(w, r, incident.Resolved)
}

func (s *Handler) bulk(w http.ResponseWriter, r *http.Request, to incident.State) error {
	var body struct {
		IDs    []int64     `json:"ids"`
		Filter *BulkFilter `json:"filter"`
	}
	if err := httpx.ReadJSON(w, r, &body); err != nil {
		return err
	}
	var filter url.Values
	if body.Filter != nil {
		filter = body.Filter.Values()
	}
	res, err := s.BulkIncidents(r, to, body.IDs, filter, httpx.Actor(r, httpx.SourceOf(r)))
	if err != nil {
		return err
	}
	counts := map[incident.Outcome]int{}
	for _, x := range res {
		counts[x.Outcome]++
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"results": res, "counts": counts})
	return nil
}
