package probe

import (
	"bytes"
	"compress/flate"
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/internal/config"
	"github.com/nines-dev/nines/internal/store"
)

// Page resolutions: a minute page holds an hour of one-minute slots, an hour page a day of
// one-hour slots.
const (
	resMinute = 60
	resHour   = 3600
)

// History records check results and answers questions about a monitor over any range: how
// many checks, how many failed, latency percentiles. It keeps raw results for RawWindow,
// per-minute rollups for MinuteRetention, hourly ones for Retention.
type History struct {
	db    *store.DB
	clock clock.Clock
	log   *slog.Logger

	RawWindow       time.Duration
	MinuteRetention time.Duration
	Retention       time.Duration
	// Compacts, if set, says whether this node compacts: two nodes folding the same minute
	// pages into one day page would count them twice, so only the probe lease holder does.
	Compacts func() bool

	mu      sync.Mutex
	pending []Result
	pages   map[pageKey]*page
	// flushing is held by a flush for its whole run, and shared by reads of what is stored
	// together with what is not: two flushes must not both merge a stored page into memory
	// (counting it twice), and a read must not see results that have left memory and have not
	// reached the database yet.
	flushing sync.RWMutex

	summaryMu  sync.Mutex // serializes Summaries, so concurrent lists share one read
	summaryKey [2]int64
	summaries  map[string]*Summary
}

type pageKey struct {
	monitor string
	start   int64 // unix ms
}

// page is the in-memory form of a rollup row.
type page struct {
	res    int
	start  int64
	slots  []slot
	dirty  bool
	loaded bool // merged with the stored row already
}

type slot struct {
	total, failed uint32
	sk            Sketch
}

// NewHistory returns a history with the default windows (2h raw, 7d minutes, 90d hours).
func NewHistory(db *store.DB, c clock.Clock, log *slog.Logger) *History {
	return &History{db: db, clock: c, log: log, RawWindow: 2 * time.Hour, MinuteRetention: 7 * 24 * time.Hour,
		Retention: 90 * 24 * time.Hour, pages: map[pageKey]*page{}}
}

// Add records a result; it is written by the next Flush.
func (h *History) Add(r Result) {
	at := r.At.UnixMilli()
	start := at - mod(at, resMinute*60*1000)
	h.mu.Lock()
	defer h.mu.Unlock()
	h.pending = append(h.pending, r)
	k := pageKey{r.MonitorID, start}
	p := h.pages[k]
	if p == nil {
		p = &page{res: resMinute, start: start, slots: make([]slot, 60)}
		h.pages[k] = p
	}
	s := &p.slots[(at-start)/(resMinute*1000)]
	s.total++
	if !r.OK {
		s.failed++
	}
	s.sk.Add(r.Latency)
	p.dirty = true
}

func mod(a, b int64) int64 {
	m := a % b
	if m < 0 {
		m += b
	}
	return m
}

// Flush writes pending raw results and every changed page, and forgets pages of past hours.
func (h *History) Flush(ctx context.Context) error {
	h.flushing.Lock()
	defer h.flushing.Unlock()
	// A page first seen since start-up continues the stored row of its hour, if any.
	h.mu.Lock()
	var unloaded []pageKey
	for k, p := range h.pages {
		if p.dirty && !p.loaded {
			unloaded = append(unloaded, k)
		}
	}
	h.mu.Unlock()
	stored := map[pageKey]*page{}
	for _, k := range unloaded {
		p, err := loadPage(ctx, h.db, k.monitor, resMinute, k.start)
		if err != nil {
			return err
		}
		stored[k] = p
	}

	h.mu.Lock()
	pending := h.pending
	h.pending = nil
	type dirtyPage struct {
		key pageKey
		p   *page
	}
	var dirty []dirtyPage
	cur := h.clock.Now().UnixMilli()
	cur -= mod(cur, 3600*1000)
	for k, p := range h.pages {
		if s, ok := stored[k]; ok {
			if s != nil {
				p.merge(s)
			}
			p.loaded = true
		}
		if p.dirty && p.loaded {
			cp := &page{res: p.res, start: p.start, slots: make([]slot, len(p.slots))}
			for i := range p.slots {
				cp.slots[i] = slot{total: p.slots[i].total, failed: p.slots[i].failed}
				cp.slots[i].sk.Merge(&p.slots[i].sk)
			}
			dirty = append(dirty, dirtyPage{k, cp})
			p.dirty = false
		}
		if k.start < cur && !p.dirty {
			delete(h.pages, k)
		}
	}
	h.mu.Unlock()
	if len(pending) == 0 && len(dirty) == 0 {
		return nil
	}
	err := h.db.Tx(ctx, func(tx *store.Tx) error {
		for i := 0; i < len(pending); i += 200 {
			if err := insertResults(ctx, tx, pending[i:min(i+200, len(pending))]); err != nil {
				return err
			}
		}
		for _, d := range dirty {
			if err := writePage(ctx, tx, d.key.monitor, d.p); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		// Put the work back so the next flush tries again.
		h.mu.Lock()
		h.pending = append(pending, h.pending...)
		for _, d := range dirty {
			if p := h.pages[d.key]; p != nil {
				p.dirty = true
			} else {
				d.p.dirty, d.p.loaded = true, true
				h.pages[d.key] = d.p
			}
		}
		h.mu.Unlock()
	}
	return err
}

func insertResults(ctx context.Context, tx *store.Tx, rs []Result) error {
	q := make([]byte, 0, 128+len(rs)*24)
	q = append(q, "INSERT INTO probe_results (monitor_id, location, at, ok, latency_us, cause, message) VALUES "...)
	args := make([]any, 0, len(rs)*7)
	for i, r := range rs {
		if i > 0 {
			q = append(q, ',')
		}
		q = append(q, "(?, ?, ?, ?, ?, ?, ?)"...)
		ok := 0
		if r.OK {
			ok = 1
		}
		args = append(args, r.MonitorID, r.Location, r.At.UnixMilli(), ok, r.Latency.Microseconds(), string(r.Cause), r.Message)
	}
	_, err := tx.Exec(ctx, string(q), args...)
	return err
}

func (p *page) merge(o *page) {
	for i := range p.slots {
		if i < len(o.slots) {
			p.slots[i].total += o.slots[i].total
			p.slots[i].failed += o.slots[i].failed
			p.slots[i].sk.Merge(&o.slots[i].sk)
		}
	}
}

func (p *page) totals() (total, failed uint64, sk Sketch) {
	for i := range p.slots {
		total += uint64(p.slots[i].total)
		failed += uint64(p.slots[i].failed)
		sk.Merge(&p.slots[i].sk)
	}
	return
}

// encodeSlots writes the number of slots, then each slot's total and, when it has checks, its
// failures and sketch, all deflated: neighbouring minutes look alike, and compression more than
// halves the rollups, which are most of the database.
func (p *page) encodeSlots() []byte {
	b := binary.AppendUvarint(nil, uint64(len(p.slots)))
	for i := range p.slots {
		s := &p.slots[i]
		b = binary.AppendUvarint(b, uint64(s.total))
		if s.total > 0 {
			b = binary.AppendUvarint(b, uint64(s.failed))
			b = s.sk.AppendBinary(b)
		}
	}
	return deflate(b)
}

var flaters = sync.Pool{New: func() any {
	w, _ := flate.NewWriter(nil, flate.DefaultCompression)
	return w
}}

func deflate(b []byte) []byte {
	var buf bytes.Buffer
	w := flaters.Get().(*flate.Writer)
	w.Reset(&buf)
	w.Write(b)
	w.Close()
	flaters.Put(w)
	return buf.Bytes()
}

// maxSlotsBytes bounds an inflated page: 60 slots of at most a few hundred bins each.
const maxSlotsBytes = 1 << 20

func inflate(b []byte) ([]byte, error) {
	r := flate.NewReader(bytes.NewReader(b))
	defer r.Close()
	out, err := io.ReadAll(io.LimitReader(r, maxSlotsBytes+1))
	if err != nil || len(out) > maxSlotsBytes {
		return nil, errSketch
	}
	return out, nil
}

func decodeSlots(z []byte) ([]slot, error) {
	b, err := inflate(z)
	if err != nil {
		return nil, err
	}
	n, k := binary.Uvarint(b)
	if k <= 0 || n > 60 {
		return nil, errSketch
	}
	b = b[k:]
	slots := make([]slot, n)
	for i := range slots {
		t, k := binary.Uvarint(b)
		if k <= 0 {
			return nil, errSketch
		}
		b = b[k:]
		slots[i].total = uint32(t)
		if t == 0 {
			continue
		}
		f, k := binary.Uvarint(b)
		if k <= 0 {
			return nil, errSketch
		}
		b = b[k:]
		slots[i].failed = uint32(f)
		var err error
		if b, err = decodeSketch(b, &slots[i].sk); err != nil {
			return nil, err
		}
	}
	return slots, nil
}

func writePage(ctx context.Context, tx *store.Tx, monitor string, p *page) error {
	total, failed, sk := p.totals()
	_, err := tx.Exec(ctx, `INSERT INTO probe_rollups (monitor_id, res, start, total, failed, sketch, slots) VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (monitor_id, res, start) DO UPDATE SET total = excluded.total, failed = excluded.failed,
			sketch = excluded.sketch, slots = excluded.slots`,
		monitor, p.res, p.start, int64(total), int64(failed), sk.AppendBinary(nil), p.encodeSlots())
	return err
}

type rowQuerier interface {
	QueryRow(ctx context.Context, query string, args ...any) *sql.Row
}

func loadPage(ctx context.Context, q rowQuerier, monitor string, res int, start int64) (*page, error) {
	var slots []byte
	err := q.QueryRow(ctx, `SELECT slots FROM probe_rollups WHERE monitor_id = ? AND res = ? AND start = ?`, monitor, res, start).Scan(&slots)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	s, err := decodeSlots(slots)
	if err != nil {
		return nil, fmt.Errorf("rollup of %s at %d: %w", monitor, start, err)
	}
	return &page{res: res, start: start, slots: s}, nil
}

// Compact coarsens minute pages older than MinuteRetention into day pages of hourly slots and
// deletes raw results and rollups past their windows. It works in bounded batches, so it can
// run often on a large install without long transactions.
func (h *History) Compact(ctx context.Context) error {
	now := h.clock.Now()
	h.mu.Lock()
	raw, minutes, retention := h.RawWindow, h.MinuteRetention, h.Retention
	h.mu.Unlock()
	// Deletes go in bounded statements: one long write would hold SQLite's single writer and
	// delay alert commits behind it.
	for {
		res, err := h.db.Exec(ctx, `DELETE FROM probe_results WHERE id IN (SELECT id FROM probe_results WHERE at < ? LIMIT 5000)`,
			now.Add(-raw).UnixMilli())
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n < 5000 {
			break
		}
	}
	for {
		var oldest sql.NullInt64
		if err := h.db.QueryRow(ctx, `SELECT MIN(start) FROM probe_rollups WHERE res = ?`, resHour).Scan(&oldest); err != nil {
			return err
		}
		if !oldest.Valid || oldest.Int64 >= now.Add(-retention).UnixMilli() {
			break
		}
		if _, err := h.db.Exec(ctx, `DELETE FROM probe_rollups WHERE res = ? AND start = ?`, resHour, oldest.Int64); err != nil {
			return err
		}
	}
	cutoff := now.Add(-minutes).UnixMilli()
	for {
		n, err := h.compactBatch(ctx, cutoff, 500)
		if err != nil || n < 500 {
			return err
		}
	}
}

func (h *History) compactBatch(ctx context.Context, cutoff int64, limit int) (int, error) {
	n := 0
	err := h.db.Tx(ctx, func(tx *store.Tx) error {
		// A minute page is compacted once the whole hour it holds is past the cutoff.
		rows, err := tx.Query(ctx, `SELECT monitor_id, start, total, failed, sketch FROM probe_rollups
			WHERE res = ? AND start < ? ORDER BY monitor_id, start LIMIT ?`, resMinute, cutoff-3600*1000+1, limit)
		if err != nil {
			return err
		}
		type hourRow struct {
			monitor       string
			start         int64
			total, failed int64
			sketch        []byte
		}
		var hours []hourRow
		for rows.Next() {
			var r hourRow
			if err := rows.Scan(&r.monitor, &r.start, &r.total, &r.failed, &r.sketch); err != nil {
				rows.Close()
				return err
			}
			hours = append(hours, r)
		}
		rows.Close()
		n = len(hours)
		days := map[pageKey]*page{}
		var order []pageKey
		for _, r := range hours {
			day := r.start - mod(r.start, 24*3600*1000)
			k := pageKey{r.monitor, day}
			d := days[k]
			if d == nil {
				stored, err := loadPage(ctx, tx, r.monitor, resHour, day)
				if err != nil {
					return err
				}
				if stored == nil {
					stored = &page{res: resHour, start: day, slots: make([]slot, 24)}
				}
				d = stored
				days[k] = d
				order = append(order, k)
			}
			s := &d.slots[(r.start-day)/(3600*1000)]
			var sk Sketch
			if _, err := decodeSketch(r.sketch, &sk); err != nil {
				return err
			}
			s.total += uint32(r.total)
			s.failed += uint32(r.failed)
			s.sk.Merge(&sk)
			if _, err := tx.Exec(ctx, `DELETE FROM probe_rollups WHERE monitor_id = ? AND res = ? AND start = ?`, r.monitor, resMinute, r.start); err != nil {
				return err
			}
		}
		for _, k := range order {
			if err := writePage(ctx, tx, k.monitor, days[k]); err != nil {
				return err
			}
		}
		return nil
	})
	return n, err
}

// Summary is what a monitor did over a range.
type Summary struct {
	From     time.Time     `json:"from"`
	To       time.Time     `json:"to"`
	Checks   int64         `json:"checks"`
	Failures int64         `json:"failures"`
	Uptime   float64       `json:"uptime"` // successful checks / checks; 1 when there were none
	P50      time.Duration `json:"-"`
	P95      time.Duration `json:"-"`
	P99      time.Duration `json:"-"`
	// Latency is the merged sketch of the range; merge it further or read any quantile.
	Latency Sketch `json:"-"`
}

func (s *Summary) finish() {
	s.Uptime = 1
	if s.Checks > 0 {
		s.Uptime = float64(s.Checks-s.Failures) / float64(s.Checks)
	}
	s.P50, s.P95, s.P99 = s.Latency.Quantile(0.50), s.Latency.Quantile(0.95), s.Latency.Quantile(0.99)
}

// Range sums a monitor's checks whose minute (or, past the minute retention, hour) starts in
// [from, to): availability counts and latency percentiles, read from the rollups. Results not
// yet flushed (at most a minute's worth) are not included.
func (h *History) Range(ctx context.Context, monitorID string, from, to time.Time) (Summary, error) {
	sum := Summary{From: from.UTC(), To: to.UTC()}
	f, t := from.UnixMilli(), to.UnixMilli()
	rows, err := h.db.Query(ctx, `SELECT res, start, total, failed, sketch, slots FROM probe_rollups
		WHERE monitor_id = ? AND ((res = ? AND start >= ? AND start < ?) OR (res = ? AND start >= ? AND start < ?))`,
		monitorID, resMinute, f-mod(f, 3600*1000), t, resHour, f-mod(f, 24*3600*1000), t)
	if err != nil {
		return sum, err
	}
	defer rows.Close()
	for rows.Next() {
		var res int
		var start, total, failed int64
		var sketch, slots []byte
		if err := rows.Scan(&res, &start, &total, &failed, &sketch, &slots); err != nil {
			return sum, err
		}
		slotLen := int64(res) * 1000
		pageLen := slotLen * 60
		if res == resHour {
			pageLen = slotLen * 24
		}
		if start >= f && start+pageLen <= t {
			// The whole page is inside: its totals and merged sketch are enough.
			var sk Sketch
			if _, err := decodeSketch(sketch, &sk); err != nil {
				return sum, err
			}
			sum.Checks += total
			sum.Failures += failed
			sum.Latency.Merge(&sk)
			continue
		}
		ss, err := decodeSlots(slots)
		if err != nil {
			return sum, err
		}
		for i := range ss {
			at := start + int64(i)*slotLen
			if at < f || at >= t {
				continue
			}
			sum.Checks += int64(ss[i].total)
			sum.Failures += int64(ss[i].failed)
			sum.Latency.Merge(&ss[i].sk)
		}
	}
	if err := rows.Err(); err != nil {
		return sum, err
	}
	sum.finish()
	return sum, nil
}

// Summaries sums every monitor's whole hours in [from, to), for lists of many monitors: it
// reads one row per monitor per hour and never decodes slots.
//
// Pages are written once a minute, so an answer is reused for calls within the same minute:
// a list of 10,000 monitors reads 240,000 rows for its last 24 hours. The map is shared; do
// not change it.
func (h *History) Summaries(ctx context.Context, from, to time.Time) (map[string]*Summary, error) {
	f := from.UnixMilli()
	f -= mod(f, 3600*1000)
	t := to.UnixMilli()
	t -= mod(t, 60*1000)
	h.summaryMu.Lock()
	defer h.summaryMu.Unlock()
	if h.summaryKey == [2]int64{f, t} {
		return h.summaries, nil
	}
	out, err := h.summarize(ctx, f, to)
	if err == nil {
		h.summaryKey, h.summaries = [2]int64{f, t}, out
	}
	return out, err
}

func (h *History) summarize(ctx context.Context, f int64, to time.Time) (map[string]*Summary, error) {
	from := time.UnixMilli(f)
	rows, err := h.db.Query(ctx, `SELECT monitor_id, total, failed, sketch FROM probe_rollups WHERE res = ? AND start >= ? AND start < ?`,
		resMinute, f, to.UnixMilli())
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]*Summary{}
	var sk Sketch
	for rows.Next() {
		var id string
		var total, failed int64
		var sketch []byte
		if err := rows.Scan(&id, &total, &failed, &sketch); err != nil {
			return nil, err
		}
		s := out[id]
		if s == nil {
			s = &Summary{From: from.UTC(), To: to.UTC()}
			out[id] = s
		}
		if _, err := decodeSketch(sketch, &sk); err != nil {
			return nil, err
		}
		s.Checks += total
		s.Failures += failed
		s.Latency.Merge(&sk)
	}
	for _, s := range out {
		s.finish()
	}
	return out, rows.Err()
}

// DayBar is one day of a monitor's uptime bar.
type DayBar struct {
	Day      time.Time
	Checks   int64
	Failures int64
}

// Days returns the last n UTC days up to now, oldest first, for uptime bars; checks made
// during skip (maintenance windows) are left out of them.
func (h *History) Days(ctx context.Context, monitorID string, n int, skip []config.Interval) ([]DayBar, error) {
	now := h.clock.Now().UTC()
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	first := today.AddDate(0, 0, -(n - 1))
	bars := make([]DayBar, n)
	edges := make([]time.Time, n+1)
	for i := range bars {
		bars[i].Day = first.AddDate(0, 0, i)
		edges[i] = bars[i].Day
	}
	edges[n] = today.AddDate(0, 0, 1)
	counts, err := h.CountsOutside(ctx, monitorID, edges, skip)
	if err != nil {
		return nil, err
	}
	for i, c := range counts {
		bars[i].Checks, bars[i].Failures = c.Checks, c.Failures
	}
	return bars, nil
}

// LatencyPoint is the latency of one hour, for charts.
type LatencyPoint struct {
	At            time.Time
	P50, P95, P99 time.Duration
	Checks        int64
}

// Hourly returns a monitor's latency per hour over the last n hours, oldest first.
func (h *History) Hourly(ctx context.Context, monitorID string, n int) ([]LatencyPoint, error) {
	now := h.clock.Now().UnixMilli()
	cur := now - mod(now, 3600*1000)
	first := cur - int64(n-1)*3600*1000
	rows, err := h.db.Query(ctx, `SELECT start, total, sketch FROM probe_rollups WHERE monitor_id = ? AND res = ? AND start >= ? ORDER BY start`,
		monitorID, resMinute, first)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []LatencyPoint
	for rows.Next() {
		var start, total int64
		var sketch []byte
		if err := rows.Scan(&start, &total, &sketch); err != nil {
			return nil, err
		}
		var sk Sketch
		if _, err := decodeSketch(sketch, &sk); err != nil {
			return nil, err
		}
		out = append(out, LatencyPoint{At: time.UnixMilli(start).UTC(), Checks: total,
			P50: sk.Quantile(.5), P95: sk.Quantile(.95), P99: sk.Quantile(.99)})
	}
	return out, rows.Err()
}

// Recent returns a monitor's latest raw results, newest first; failuresOnly keeps only failed
// checks (with their cause).
func (h *History) Recent(ctx context.Context, monitorID string, limit int, failuresOnly bool) ([]Result, error) {
	q := `SELECT location, at, ok, latency_us, cause, message FROM probe_results WHERE monitor_id = ?`
	if failuresOnly {
		q += ` AND ok = 0`
	}
	rows, err := h.db.Query(ctx, q+` ORDER BY at DESC LIMIT ?`, monitorID, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Result
	for rows.Next() {
		r := Result{MonitorID: monitorID}
		var at, lat int64
		var ok int
		var cause string
		if err := rows.Scan(&r.Location, &at, &ok, &lat, &cause, &r.Message); err != nil {
			return nil, err
		}
		r.At, r.OK, r.Latency, r.Cause = time.UnixMilli(at).UTC(), ok == 1, time.Duration(lat)*time.Microsecond, Cause(cause)
		out = append(out, r)
	}
	return out, rows.Err()
}

// Run flushes raw results every second and pages every minute, and compacts every minute (so
// each round deletes little), until ctx is done; then it flushes once more.
func (h *History) Run(ctx context.Context) {
	lastPages, lastCompact := h.clock.Now(), time.Time{}
	for {
		tick := h.clock.NewTimer(time.Second)
		select {
		case <-ctx.Done():
			tick.Stop()
			if err := h.Flush(context.Background()); err != nil {
				h.log.Error("flush probe history", "err", err)
			}
			return
		case <-tick.C():
		}
		now := h.clock.Now()
		if now.Sub(lastPages) >= time.Minute {
			lastPages = now
			if err := h.Flush(ctx); err != nil && ctx.Err() == nil {
				h.log.Error("flush probe history", "err", err)
			}
		} else if err := h.flushRaw(ctx); err != nil && ctx.Err() == nil {
			h.log.Error("flush probe results", "err", err)
		}
		if now.Sub(lastCompact) >= time.Minute && (h.Compacts == nil || h.Compacts()) {
			lastCompact = now
			if err := h.Compact(ctx); err != nil && ctx.Err() == nil {
				h.log.Error("compact probe history", "err", err)
			}
		}
	}
}

func (h *History) flushRaw(ctx context.Context) error {
	h.flushing.Lock()
	defer h.flushing.Unlock()
	h.mu.Lock()
	pending := h.pending
	h.pending = nil
	h.mu.Unlock()
	if len(pending) == 0 {
		return nil
	}
	err := h.db.Tx(ctx, func(tx *store.Tx) error {
		for i := 0; i < len(pending); i += 200 {
			if err := insertResults(ctx, tx, pending[i:min(i+200, len(pending))]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		h.mu.Lock()
		h.pending = append(pending, h.pending...)
		h.mu.Unlock()
	}
	return err
}

// Minute is one minute of a monitor: its checks, how many passed, and the minute's latency
// percentiles. It has the shape of slo.ProbeMinute.
type Minute struct {
	Start         time.Time
	Up, Total     int64
	P50, P95, P99 time.Duration
}

// rollups reads the monitor's rollup pages over [f, t) (unix ms), with what this node holds
// but has not flushed laid over them: the minute pages by start, and the hour pages of the
// minutes already coarsened.
func (h *History) rollups(ctx context.Context, monitorID string, f, t int64) (map[int64]*page, []*page, error) {
	h.flushing.RLock()
	defer h.flushing.RUnlock()
	pages := map[int64]*page{}
	var hours []*page
	rows, err := h.db.Query(ctx, `SELECT res, start, slots FROM probe_rollups
		WHERE monitor_id = ? AND ((res = ? AND start >= ? AND start < ?) OR (res = ? AND start >= ? AND start < ?))`,
		monitorID, resMinute, f-mod(f, 3600*1000), t, resHour, f-mod(f, 24*3600*1000), t)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	for rows.Next() {
		p := &page{}
		var z []byte
		if err := rows.Scan(&p.res, &p.start, &z); err != nil {
			return nil, nil, err
		}
		if p.slots, err = decodeSlots(z); err != nil {
			return nil, nil, fmt.Errorf("rollup of %s at %d: %w", monitorID, p.start, err)
		}
		if p.res == resHour {
			hours = append(hours, p)
		} else {
			pages[p.start] = p
		}
	}
	if err := rows.Err(); err != nil {
		return nil, nil, err
	}
	rows.Close()
	h.overlay(monitorID, f, t, pages)
	return pages, hours, nil
}

// Minutes returns a monitor's minutes that start in [from, to), oldest first, leaving out
// minutes without checks: the per-minute rollups, the results of the minute in progress not
// flushed yet, and, past MinuteRetention, the hourly rollups.
//
// An hour kept only as an hourly rollup is dealt out over its sixty minutes: its checks and
// failures spread evenly, so sums over the hour stay exact, and every minute carries the
// percentiles of the whole hour (the minute-level sketches are gone).
func (h *History) Minutes(ctx context.Context, monitorID string, from, to time.Time) ([]Minute, error) {
	f, t := from.UnixMilli(), to.UnixMilli()
	if t <= f {
		return nil, nil
	}
	pages, hours, err := h.rollups(ctx, monitorID, f, t)
	if err != nil {
		return nil, err
	}

	var out []Minute
	for _, p := range hours {
		for i := range p.slots {
			start := p.start + int64(i)*3600*1000
			if _, minutes := pages[start]; !minutes {
				out = spreadHour(out, start, &p.slots[i], f, t)
			}
		}
	}
	for _, p := range pages {
		for i := range p.slots {
			s := &p.slots[i]
			at := p.start + int64(i)*60*1000
			if s.total == 0 || at < f || at >= t {
				continue
			}
			out = append(out, Minute{Start: time.UnixMilli(at).UTC(), Up: int64(s.total - s.failed), Total: int64(s.total),
				P50: s.sk.Quantile(.5), P95: s.sk.Quantile(.95), P99: s.sk.Quantile(.99)})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Start.Before(out[j].Start) })
	return out, nil
}

// overlay adds what this node holds in memory to the stored minute pages: a page already
// merged with its stored row replaces it, one not yet merged adds to it. Only the last few
// hours can be in memory, so those keys are looked up rather than every page scanned.
func (h *History) overlay(monitorID string, f, t int64, pages map[int64]*page) {
	now := h.clock.Now().UnixMilli()
	first := max(f-mod(f, 3600*1000), now-mod(now, 3600*1000)-2*3600*1000)
	h.mu.Lock()
	defer h.mu.Unlock()
	for start := first; start < t; start += 3600 * 1000 {
		mem := h.pages[pageKey{monitorID, start}]
		if mem == nil {
			continue
		}
		cp := &page{res: resMinute, start: start, slots: make([]slot, len(mem.slots))}
		cp.merge(mem)
		if stored := pages[start]; stored != nil && !mem.loaded {
			cp.merge(stored)
		}
		pages[start] = cp
	}
}

// spreadHour deals an hourly slot's checks over its minutes in [f, t): minute i gets the checks
// between the running totals at i and i+1, and failures in proportion to those checks, so no
// minute has more failures than checks.
func spreadHour(out []Minute, start int64, s *slot, f, t int64) []Minute {
	total, failed := int64(s.total), int64(s.failed)
	if total == 0 {
		return out
	}
	p50, p95, p99 := s.sk.Quantile(.5), s.sk.Quantile(.95), s.sk.Quantile(.99)
	for i := int64(0); i < 60; i++ {
		at := start + i*60*1000
		c0, c1 := total*i/60, total*(i+1)/60
		n := c1 - c0
		if n == 0 || at < f || at >= t {
			continue
		}
		bad := failed*c1/total - failed*c0/total
		out = append(out, Minute{Start: time.UnixMilli(at).UTC(), Up: n - bad, Total: n, P50: p50, P95: p95, P99: p99})
	}
	return out
}
