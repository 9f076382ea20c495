package probe

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/nines-dev/nines/internal/config"
)

// Count is how many checks of a monitor ran in one span, and how many failed.
type Count struct {
	Checks, Failures int64
}

// Counts sums a monitor's checks into the spans between consecutive edges: Counts(id, e)[i]
// holds the checks made in [e[i], e[i+1]). Edges must be in order. Status pages draw uptime
// bars with it: day boundaries in the page's zone, cut wherever a maintenance window starts or
// ends, to the millisecond. One query reads the rollups of the whole range.
//
// Rollups count by minute (past the minute retention, by hour). A minute that an edge cuts is
// split by the raw results of that minute, each counted at its own time, while they are kept
// (probes.raw_window): a window from 23:19:30 leaves out the checks from 23:19:30 on and keeps
// those before. Past the raw window, a cut minute or hour is dealt over its parts in
// proportion to their length, as Minutes deals an hour over its minutes.
func (h *History) Counts(ctx context.Context, monitorID string, edges []time.Time) ([]Count, error) {
	if len(edges) < 2 {
		return nil, nil
	}
	out := make([]Count, len(edges)-1)
	ms := make([]int64, len(edges))
	for i, e := range edges {
		ms[i] = e.UnixMilli()
		if i > 0 && ms[i] < ms[i-1] {
			return nil, fmt.Errorf("counts of %s: edges out of order at %d", monitorID, i)
		}
	}
	f, t := ms[0], ms[len(ms)-1]
	if t <= f {
		return out, nil
	}
	span := func(at int64) int { return sort.Search(len(ms), func(i int) bool { return ms[i] > at }) - 1 }
	pages, hours, err := h.rollups(ctx, monitorID, f, t)
	if err != nil {
		return nil, err
	}

	// Every slot with checks that overlaps [f, t): a minute, or an hour without minutes.
	var slots []countedSlot
	for _, p := range hours {
		for i := range p.slots {
			if at := p.start + int64(i)*3600*1000; pages[at] == nil && p.slots[i].total > 0 {
				slots = append(slots, countedSlot{at, at + 3600*1000, int64(p.slots[i].total), int64(p.slots[i].failed)})
			}
		}
	}
	for _, p := range pages {
		for i := range p.slots {
			if at := p.start + int64(i)*60*1000; p.slots[i].total > 0 {
				slots = append(slots, countedSlot{at, at + 60*1000, int64(p.slots[i].total), int64(p.slots[i].failed)})
			}
		}
	}
	for _, sl := range slots {
		if sl.to <= f || sl.from >= t {
			continue
		}
		if first := span(sl.from); sl.from >= f && sl.to <= t && first == span(sl.to-1) {
			out[first].Checks += sl.total
			out[first].Failures += sl.failed
			continue
		}
		// An edge cuts the slot.
		if sl.to-sl.from == 60*1000 {
			raw, err := h.rawOf(ctx, monitorID, sl.from, sl.to)
			if err != nil {
				return nil, err
			}
			if exact(raw, sl) {
				for _, r := range raw {
					if r.at >= f && r.at < t {
						i := span(r.at)
						out[i].Checks++
						if !r.ok {
							out[i].Failures++
						}
					}
				}
				continue
			}
		}
		// Dealt by length: the part of the slot in span i gets the checks between the running
		// totals at its start and its end, and failures in proportion.
		length := sl.to - sl.from
		for i := max(span(sl.from), 0); i < len(out) && ms[i] < sl.to; i++ {
			a, b := max(ms[i], sl.from)-sl.from, min(ms[i+1], sl.to)-sl.from
			if b <= a {
				continue
			}
			out[i].Checks += sl.total*b/length - sl.total*a/length
			out[i].Failures += sl.failed*b/length - sl.failed*a/length
		}
	}
	return out, nil
}

// countedSlot is a rollup slot with checks: [from, to) in unix ms.
type countedSlot struct {
	from, to      int64
	total, failed int64
}

type rawCheck struct {
	at int64
	ok bool
}

// rawOf returns a monitor's raw results in [from, to): stored ones, and those not flushed yet.
func (h *History) rawOf(ctx context.Context, monitorID string, from, to int64) ([]rawCheck, error) {
	h.flushing.RLock()
	defer h.flushing.RUnlock()
	rows, err := h.db.Query(ctx, `SELECT at, ok FROM probe_results WHERE monitor_id = ? AND at >= ? AND at < ?`, monitorID, from, to)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []rawCheck
	for rows.Next() {
		var r rawCheck
		var ok int
		if err := rows.Scan(&r.at, &ok); err != nil {
			return nil, err
		}
		r.ok = ok == 1
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	h.mu.Lock()
	for _, r := range h.pending {
		if at := r.At.UnixMilli(); r.MonitorID == monitorID && at >= from && at < to {
			out = append(out, rawCheck{at, r.OK})
		}
	}
	h.mu.Unlock()
	return out, nil
}

// exact reports whether raw results account for a slot's counts exactly (they are kept for the
// raw window only, and may still be on their way to the database).
func exact(raw []rawCheck, sl countedSlot) bool {
	var failed int64
	for _, r := range raw {
		if !r.ok {
			failed++
		}
	}
	return int64(len(raw)) == sl.total && failed == sl.failed
}

// Counts is History.Counts, for status pages.
func (m *Monitors) Counts(ctx context.Context, id string, edges []time.Time) ([]Count, error) {
	return m.History.Counts(ctx, id, edges)
}

// CountsOutside is Counts with the checks made during skip (maintenance windows, sorted and
// merged) left out: each span between edges holds only the checks outside every skipped
// stretch, cut to the millisecond as Counts cuts.
func (h *History) CountsOutside(ctx context.Context, monitorID string, edges []time.Time, skip []config.Interval) ([]Count, error) {
	if len(skip) == 0 || len(edges) < 2 {
		return h.Counts(ctx, monitorID, edges)
	}
	first, last := edges[0], edges[len(edges)-1]
	fine := append([]time.Time(nil), edges...)
	for _, iv := range skip {
		for _, t := range []time.Time{iv.From, iv.To} {
			if t.After(first) && t.Before(last) {
				fine = append(fine, t)
			}
		}
	}
	sort.Slice(fine, func(i, j int) bool { return fine[i].Before(fine[j]) })
	fine = slices.CompactFunc(fine, func(a, b time.Time) bool { return a.Equal(b) })
	counts, err := h.Counts(ctx, monitorID, fine)
	if err != nil {
		return nil, err
	}
	out := make([]Count, len(edges)-1)
	for k, c := range counts {
		a := fine[k]
		if skipped(skip, a) {
			continue
		}
		i := sort.Search(len(edges), func(i int) bool { return edges[i].After(a) }) - 1
		if i >= 0 && i < len(out) {
			out[i].Checks += c.Checks
			out[i].Failures += c.Failures
		}
	}
	return out, nil
}

func skipped(skip []config.Interval, t time.Time) bool {
	for _, iv := range skip {
		if !t.Before(iv.From) && t.Before(iv.To) {
			return true
		}
	}
	return false
}

// Outside sets the checks, failures and uptime of s to those of its range outside skip
// (maintenance windows): time under maintenance is not downtime. Its latency figures stay.
func (h *History) Outside(ctx context.Context, monitorID string, s *Summary, skip []config.Interval) error {
	if len(skip) == 0 {
		return nil
	}
	c, err := h.CountsOutside(ctx, monitorID, []time.Time{s.From, s.To}, skip)
	if err != nil {
		return err
	}
	s.Checks, s.Failures = c[0].Checks, c[0].Failures
	s.Uptime = 1
	if s.Checks > 0 {
		s.Uptime = float64(s.Checks-s.Failures) / float64(s.Checks)
	}
	return nil
}
