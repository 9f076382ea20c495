package postmortem

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"sort"
	"strings"
	"time"
	"unicode"

	"github.com/nines-dev/nines/internal/incident"
	"github.com/nines-dev/nines/internal/store"
)

// Kinds of search documents.
const (
	kindIncident   = "incident"
	kindNote       = "note"
	kindPostmortem = "postmortem"
)

// Hit is one search result.
type Hit struct {
	Kind       string    `json:"kind"` // incident, note or postmortem
	IncidentID int64     `json:"incident_id"`
	ServiceID  string    `json:"service_id"`
	Title      string    `json:"title"`
	Snippet    string    `json:"snippet"`
	At         time.Time `json:"at"`
	Score      float64   `json:"score"` // higher is more relevant; comparable within one answer only
}

// IndexIncidents keeps the search index in step with incidents: a new incident and every note
// are indexed in the transaction that writes them.
func (s *Service) IndexIncidents() {
	s.incidents.OnChange(func(ctx context.Context, tx *store.Tx, ch incident.Change) error {
		if ch.From != "" {
			return nil // acknowledging or resolving changes no words
		}
		inc := ch.Incident
		return s.insertDoc(ctx, tx, kindIncident, inc.ID, inc.ID, inc.ServiceID, inc.Title, inc.ServiceID+" "+s.serviceName(inc.ServiceID), inc.CreatedAt)
	})
	s.incidents.OnAppend(func(ctx context.Context, tx *store.Tx, incidentID int64, typ string, at time.Time, data string) error {
		if typ != incident.EventNote && typ != incident.EventDeclared {
			return nil
		}
		var d struct{ Text, Summary, Title string }
		json.Unmarshal([]byte(data), &d)
		text := d.Text + d.Summary
		if strings.TrimSpace(text) == "" {
			return nil
		}
		// A note is found by its incident's title too, read from the incident's own document
		// (written when it opened). An incident older than the index has none: its notes get
		// their title and service when read.
		var title, service string
		err := tx.QueryRow(ctx, `SELECT title, service_id FROM search_docs WHERE kind = ? AND ref_id = ?`, kindIncident, incidentID).Scan(&title, &service)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		return s.insertDoc(ctx, tx, kindNote, incidentID, incidentID, service, title, text, at)
	})
}

func (s *Service) serviceName(id string) string {
	if svc := s.config.Get().Service(id); svc != nil && svc.Name != id {
		return svc.Name
	}
	return ""
}

// index replaces the document (kind, ref) with new text.
func (s *Service) index(ctx context.Context, tx *store.Tx, kind string, ref int64, inc incident.Incident, title, body string, at time.Time) error {
	if tx.Dialect() == store.SQLite {
		if _, err := tx.Exec(ctx, `DELETE FROM search_fts WHERE rowid IN (SELECT id FROM search_docs WHERE kind = ? AND ref_id = ?)`, kind, ref); err != nil {
			return err
		}
	}
	if _, err := tx.Exec(ctx, `DELETE FROM search_docs WHERE kind = ? AND ref_id = ?`, kind, ref); err != nil {
		return err
	}
	return s.insertDoc(ctx, tx, kind, ref, inc.ID, inc.ServiceID, title, body, at)
}

func (s *Service) insertDoc(ctx context.Context, tx *store.Tx, kind string, ref, incidentID int64, service, title, body string, at time.Time) error {
	id, err := tx.InsertID(ctx, `INSERT INTO search_docs (kind, ref_id, incident_id, service_id, title, body, at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		kind, ref, incidentID, service, title, body, at.UnixMilli())
	if err != nil {
		return err
	}
	if tx.Dialect() == store.SQLite {
		_, err = tx.Exec(ctx, `INSERT INTO search_fts (rowid, title, body) VALUES (?, ?, ?)`, id, title, body)
	}
	return err
}

// words splits text into search terms: lower-case letters and digits, at most 32 of them.
func words(text string, dropStop bool) []string {
	var out []string
	seen := map[string]bool{}
	for _, w := range strings.FieldsFunc(strings.ToLower(text), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
		if len([]rune(w)) < 2 || seen[w] || (dropStop && stopWords[w]) {
			continue
		}
		seen[w] = true
		out = append(out, w)
		if len(out) == 32 {
			break
		}
	}
	return out
}

var stopWords = map[string]bool{}

func init() {
	for _, w := range strings.Fields(`a an and are as at be by for from has have in is it its of on or that the this to was were will with
		not no after before during high low errors error failing failed down`) {
		stopWords[w] = true
	}
}

// Search finds incidents, notes and postmortems that contain every word of the query, best
// first.
func (s *Service) Search(ctx context.Context, query string, limit int) ([]Hit, error) {
	return s.search(ctx, query, false, limit)
}

// search runs a full-text query: every word must match, or with any set, at least one. On
// PostgreSQL the text is parsed by the same parser as the documents, so "v2.4.1" stays one
// term there, as it does in them.
func (s *Service) search(ctx context.Context, text string, any bool, limit int) ([]Hit, error) {
	terms := words(text, any)
	if len(terms) == 0 {
		return []Hit{}, nil
	}
	if limit <= 0 || limit > 100 {
		limit = 20
	}
	var q string
	var arg string
	if s.db.Dialect == store.SQLite {
		quoted := make([]string, len(terms))
		for i, t := range terms {
			quoted[i] = `"` + strings.ReplaceAll(t, `"`, `""`) + `"`
		}
		sep := " "
		if any {
			sep = " OR "
		}
		arg = strings.Join(quoted, sep)
		q = `SELECT d.kind, d.incident_id, d.service_id, d.title, d.body, d.at, -bm25(search_fts, 3.0, 1.0)
			FROM search_fts JOIN search_docs d ON d.id = search_fts.rowid
			WHERE search_fts MATCH ? ORDER BY bm25(search_fts, 3.0, 1.0), d.id DESC LIMIT ?`
	} else {
		parse := "plainto_tsquery"
		arg = text
		if any {
			// websearch_to_tsquery reads "a or b" and never fails on odd input; words lose the
			// quotes and leading dashes it would read as phrases and negations.
			var ws []string
			for _, f := range strings.Fields(text) {
				f = strings.Trim(f, `"'-`)
				if f != "" && !stopWords[strings.ToLower(strings.Trim(f, ".,:;!?()"))] {
					ws = append(ws, f)
				}
			}
			parse, arg = "websearch_to_tsquery", strings.Join(ws, " or ")
		}
		q = `SELECT d.kind, d.incident_id, d.service_id, d.title, d.body, d.at,
			ts_rank(setweight(to_tsvector('english', d.title), 'A') || setweight(to_tsvector('english', d.body), 'C'), q)
			FROM search_docs d, ` + parse + `('english', ?) q
			WHERE to_tsvector('english', d.title || ' ' || d.body) @@ q ORDER BY 7 DESC, d.id DESC LIMIT ?`
	}
	rows, err := s.db.Query(ctx, q, arg, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Hit{}
	for rows.Next() {
		var h Hit
		var body string
		var at int64
		if err := rows.Scan(&h.Kind, &h.IncidentID, &h.ServiceID, &h.Title, &body, &at, &h.Score); err != nil {
			return nil, err
		}
		h.At = time.UnixMilli(at).UTC()
		if h.Kind != kindIncident { // an incident's body is only its service's names
			h.Snippet = snippet(body, terms)
		}
		out = append(out, h)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, s.fillIncidents(ctx, out)
}

// fillIncidents gives hits on notes indexed without their incident's title and service both.
func (s *Service) fillIncidents(ctx context.Context, hits []Hit) error {
	seen := map[int64]incident.Incident{}
	for i := range hits {
		h := &hits[i]
		if h.Kind != kindNote || h.Title != "" {
			continue
		}
		inc, ok := seen[h.IncidentID]
		if !ok {
			var err error
			inc, err = s.incidents.Get(ctx, h.IncidentID)
			if err != nil {
				return err
			}
			seen[h.IncidentID] = inc
		}
		h.Title, h.ServiceID = inc.Title, inc.ServiceID
	}
	return nil
}

// snippet is up to 200 characters of body around the first term it contains.
func snippet(body string, terms []string) string {
	lower := strings.ToLower(body)
	at := -1
	for _, t := range terms {
		if i := strings.Index(lower, t); i >= 0 && (at < 0 || i < at) {
			at = i
		}
	}
	r := []rune(body)
	if at < 0 {
		at = 0
	}
	start := len([]rune(body[:at])) - 60
	if start < 0 {
		start = 0
	}
	end := start + 200
	if end > len(r) {
		end = len(r)
	}
	out := strings.TrimSpace(string(r[start:end]))
	if start > 0 {
		out = "…" + out
	}
	if end < len(r) {
		out += "…"
	}
	return out
}

// Similar is a past incident like the one at hand, with how it was resolved.
type Similar struct {
	Incident   incident.Incident `json:"incident"`
	Score      float64           `json:"score"`
	Resolution string            `json:"resolution"`
	Postmortem bool              `json:"has_postmortem"`
}

// SimilarTo finds resolved incidents whose title, notes or postmortem share words with this
// incident's title, best first.
func (s *Service) SimilarTo(ctx context.Context, inc incident.Incident, limit int) ([]Similar, error) {
	if limit <= 0 {
		limit = 5
	}
	hits, err := s.search(ctx, inc.Title, true, 100)
	if err != nil {
		return nil, err
	}
	best := map[int64]float64{}
	var order []int64
	for _, h := range hits {
		if h.IncidentID == inc.ID {
			continue
		}
		if _, ok := best[h.IncidentID]; !ok {
			order = append(order, h.IncidentID)
		}
		best[h.IncidentID] += h.Score
	}
	sort.SliceStable(order, func(i, j int) bool { return best[order[i]] > best[order[j]] })
	out := []Similar{}
	for _, id := range order {
		if len(out) == limit {
			break
		}
		past, err := s.incidents.Get(ctx, id)
		if err != nil || past.State != incident.Resolved {
			continue
		}
		sim := Similar{Incident: past, Score: best[id]}
		sim.Resolution, sim.Postmortem, err = s.resolution(ctx, past)
		if err != nil {
			return nil, err
		}
		out = append(out, sim)
	}
	return out, nil
}

// resolution says how a past incident ended: its postmortem's root cause, else its last
// mitigation or note, else how long it took.
func (s *Service) resolution(ctx context.Context, inc incident.Incident) (string, bool, error) {
	st, ok, err := s.load(ctx, inc.ID)
	if err != nil && err != ErrNoPostmortem {
		return "", false, err
	}
	if ok && st.doc.RootCause != "" {
		return "Root cause: " + st.doc.RootCause, true, nil
	}
	events, err := s.incidents.Timeline(ctx, inc.ID)
	if err != nil {
		return "", ok, err
	}
	for i := len(events) - 1; i >= 0; i-- {
		if events[i].Type == incident.EventNote {
			var d struct{ Text string }
			json.Unmarshal(events[i].Data, &d)
			return d.Text, ok, nil
		}
	}
	if inc.ResolvedAt != nil {
		return "Resolved after " + Human(inc.ResolvedAt.Sub(inc.CreatedAt)) + "; no notes.", ok, nil
	}
	return "", ok, nil
}
