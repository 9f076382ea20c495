package postmortem

import (
	"context"
	"encoding/json"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/nines-dev/nines/internal/incident"
	"github.com/nines-dev/nines/internal/invalid"
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

// indexIncidents, run by New, keeps the search index in step with incidents. A new incident is indexed
// after its transaction has committed, with others in a transaction of its own, so that ingest
// does not hold the writer for full-text indexing while an alert storm opens incidents by the
// thousand; CatchUp indexes those a crash left out. Notes are indexed in the transaction that
// writes them.
func (s *Service) indexIncidents() {
	s.incidents.OnChange(func(ctx context.Context, tx *store.Tx, ch incident.Change) error {
		if ch.From != "" {
			return nil // acknowledging or resolving changes no words
		}
		inc := ch.Incident
		tx.AfterCommit(func() { s.indexer.queue(s, incidentDoc{inc.ID, inc.ServiceID, inc.Title, inc.CreatedAt}) })
		return nil
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
		// A note is found by its incident's title too.
		inc, err := s.incidents.GetTx(ctx, tx, incidentID)
		if err != nil {
			return err
		}
		title, service := inc.Title, inc.ServiceID
		return s.insertDoc(ctx, tx, kindNote, incidentID, incidentID, service, title, text, at)
	})
}

// incidentDoc is what an incident's search document is made of.
type incidentDoc struct {
	id             int64
	service, title string
	at             time.Time
}

// indexer gathers incidents committed but not yet indexed and indexes them in batches, on a
// goroutine that runs while there are some.
type indexer struct {
	mu      sync.Mutex
	pending []incidentDoc
	running bool
	idle    chan struct{} // closed when no batch is being indexed; nil while one is
	flushMu sync.Mutex    // one batch at a time, whoever runs it
	// fresh is the lowest incident id CatchUp will never look at (SQLite only, where ids
	// follow commits): those are indexed without first checking for a document. Held by
	// flushMu; 0 until CatchUp has begun.
	fresh int64
}

// indexBatch bounds the incidents indexed in one transaction, which holds the writer meanwhile:
// on SQLite the alert pipeline waits for it, so it is kept to a few milliseconds. indexGather is
// how long the indexer lets incidents gather before indexing them: one transaction for many
// documents costs the full-text index one segment instead of many.
const (
	indexBatch  = 64
	indexGather = 50 * time.Millisecond
)

func (x *indexer) queue(s *Service, d incidentDoc) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.pending = append(x.pending, d)
	if !x.running {
		x.running, x.idle = true, make(chan struct{})
		go x.run(s)
	}
}

func (x *indexer) run(s *Service) {
	for {
		time.Sleep(indexGather)
		x.mu.Lock()
		if len(x.pending) == 0 {
			x.running = false
			close(x.idle)
			x.mu.Unlock()
			return
		}
		x.mu.Unlock()
		// A failure (the database going away as nines stops) leaves the documents to CatchUp
		// at the next start.
		s.flushIndex(context.Background())
	}
}

// flushIndex indexes what is pending, a batch at a time.
func (s *Service) flushIndex(ctx context.Context) error {
	x := &s.indexer
	x.flushMu.Lock()
	defer x.flushMu.Unlock()
	for {
		x.mu.Lock()
		n := min(len(x.pending), indexBatch)
		batch := append([]incidentDoc(nil), x.pending[:n]...)
		x.pending = x.pending[n:]
		x.mu.Unlock()
		if n == 0 {
			return nil
		}
		if err := s.indexDocs(ctx, batch); err != nil {
			return err
		}
	}
}

// WaitIndexed waits until the incidents committed so far are in the search index.
func (s *Service) WaitIndexed() {
	s.indexer.mu.Lock()
	idle := s.indexer.idle
	s.indexer.mu.Unlock()
	if idle != nil {
		<-idle
	}
}

// indexDocs writes the documents of incidents not indexed yet, in one transaction; the caller
// holds flushMu. On SQLite the full-text rows go in after all the others: FTS5 writes what it
// holds pending to disk at the start of any later statement that may need to roll back on its
// own, so rows interleaved with other statements would cost it one small segment each.
func (s *Service) indexDocs(ctx context.Context, docs []incidentDoc) error {
	fresh := s.indexer.fresh
	return s.db.Tx(ctx, func(tx *store.Tx) error {
		type ftsRow struct {
			id          int64
			title, body string
		}
		var fts []ftsRow
		for _, d := range docs {
			body := d.service + " " + s.serviceName(d.service)
			once := tx.Dialect() != store.SQLite || fresh == 0 || d.id < fresh
			id, err := s.insertIncidentDoc(ctx, tx, d, body, once)
			if err != nil {
				return err
			}
			if id != 0 {
				fts = append(fts, ftsRow{id, d.title, body})
			}
		}
		for _, r := range fts {
			if _, err := tx.Exec(ctx, `INSERT INTO search_fts (rowid, title, body) VALUES (?, ?, ?)`, r.id, r.title, r.body); err != nil {
				return err
			}
		}
		return nil
	})
}

// insertIncidentDoc writes an incident's document; with once, unless it is there already
// (CatchUp and the live index may both meet an incident, and on PostgreSQL so may two nodes
// catching up). On SQLite it returns the new document's id, for the full-text row; 0 when
// there was nothing to write.
func (s *Service) insertIncidentDoc(ctx context.Context, tx *store.Tx, d incidentDoc, body string, once bool) (int64, error) {
	args := []any{kindIncident, d.id, d.id, d.service, d.title, body, d.at.UnixMilli()}
	if !once {
		return tx.InsertID(ctx, `INSERT INTO search_docs (kind, ref_id, incident_id, service_id, title, body, at) VALUES (?, ?, ?, ?, ?, ?, ?)`, args...)
	}
	res, err := tx.Exec(ctx, `INSERT INTO search_docs (kind, ref_id, incident_id, service_id, title, body, at)
		SELECT ?, ?, ?, ?, ?, ?, ? WHERE NOT EXISTS (SELECT 1 FROM search_docs WHERE kind = ? AND ref_id = ?)`,
		append(args, kindIncident, d.id)...)
	if err != nil || tx.Dialect() != store.SQLite {
		return 0, err
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return 0, err
	}
	return res.LastInsertId()
}

// CatchUp indexes every incident that has no search document: those whose indexing a crash
// or a stop cut short. nines runs it at start.
func (s *Service) CatchUp(ctx context.Context) error {
	// On SQLite, incidents committed from now on have higher ids than any it will look at.
	var last int64
	if err := s.db.QueryRow(ctx, `SELECT COALESCE(MAX(id), 0) FROM incidents`).Scan(&last); err != nil {
		return err
	}
	s.indexer.flushMu.Lock()
	s.indexer.fresh = last + 1
	s.indexer.flushMu.Unlock()
	after := int64(0)
	for {
		rows, err := s.db.Query(ctx, `SELECT id, service_id, title, created_at FROM incidents i WHERE id > ? AND id <= ?
			AND NOT EXISTS (SELECT 1 FROM search_docs d WHERE d.kind = 'incident' AND d.ref_id = i.id) ORDER BY id LIMIT ?`, after, last, indexBatch)
		if err != nil {
			return err
		}
		var docs []incidentDoc
		for rows.Next() {
			var d incidentDoc
			var at int64
			if err := rows.Scan(&d.id, &d.service, &d.title, &at); err != nil {
				rows.Close()
				return err
			}
			d.at = time.UnixMilli(at).UTC()
			docs = append(docs, d)
		}
		if err := rows.Close(); err != nil {
			return err
		}
		if len(docs) == 0 {
			return nil
		}
		s.indexer.flushMu.Lock()
		err = s.indexDocs(ctx, docs)
		s.indexer.flushMu.Unlock()
		if err != nil {
			return err
		}
		after = docs[len(docs)-1].id
	}
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

// MaxQuery is the longest query searched for, in bytes.
const MaxQuery = 500

// CheckQuery is the rule for what people search for: 1 to MaxQuery characters once trimmed.
// It answers the query trimmed, or input refused for q.
func CheckQuery(query string) (string, error) {
	q := strings.TrimSpace(query)
	if q == "" || len(q) > MaxQuery {
		return q, invalid.Field("q", "give 1 to %d characters to search for", MaxQuery)
	}
	return q, nil
}

// Search finds incidents, notes and postmortems that contain every word of the query, best
// first. The query is held to CheckQuery.
func (s *Service) Search(ctx context.Context, query string, limit int) ([]Hit, error) {
	q, err := CheckQuery(query)
	if err != nil {
		return nil, err
	}
	return s.search(ctx, q, false, limit)
}

// search runs a full-text query: every word must match, or with any set, at least one. On
// PostgreSQL the text is parsed by the same parser as the documents, so "v2.4.1" stays one
// term there, as it does in them.
func (s *Service) search(ctx context.Context, text string, any bool, limit int) ([]Hit, error) {
	// Incidents committed but not yet indexed are indexed first, so a search finds every
	// incident whose opening was answered.
	if err := s.flushIndex(ctx); err != nil {
		return nil, err
	}
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
