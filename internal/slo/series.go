package slo

import (
	"context"
	"time"

	"github.com/nines-dev/nines/internal/config"
)

// A series holds what one SLO's evaluation reads, so a round costs a fixed number of additions
// per SLO whatever the traffic: per-minute counts for the last 6 hours, and one aggregate per
// hour before that. The database holds the points; an hour that a late point changes is read
// again from it, and so is each hour a window's far edge cuts (once an hour per window).
type series struct {
	def *Definition
	// ring holds minutes [ringStart, ringStart+ringMinutes); slot m % ringMinutes.
	ring      []minute
	ringStart int64
	// hours holds aggregates of whole hours older than ringStart; slot h % len(hours).
	hours []hourBlock
	// edge caches the minutes of old hours that a window starts inside.
	edge map[int64]*[60]minute
	// oldSums keeps sums of whole old hours [h0, h1) that windows last covered.
	oldSums map[[2]int64]agg
	load    loader
}

type minute struct{ bad, total float64 }

type hourBlock struct {
	hour  int64 // hour index (unix minutes / 60); -1 when empty or stale
	agg   agg
	valid bool
}

// loader reads per-minute sums of an SLO's points for minutes [from, to).
type loader func(ctx context.Context, from, to int64) ([]minuteRow, error)

type minuteRow struct {
	m           int64
	good, total float64
}

// ringHours covers six hours of minutes (the 5m, 30m, 1h and 6h windows, and every short
// window of the default rules), the hour in progress and the next one, which points from a
// sender whose clock runs a little ahead may land in. Longer windows add whole hours to a
// partial first hour read once from the database.
const ringHours = 6 + 2

const ringMinutes = ringHours * 60

func newSeries(def *Definition, load loader) *series {
	// Hours back to the start of the period or of the longest window, whichever is older.
	hours := int(max(def.Window.MaxLength(), def.Alerts.longest(), BurnWindows[len(BurnWindows)-1])/time.Hour) + 4
	s := &series{def: def, ring: make([]minute, ringMinutes), hours: make([]hourBlock, hours), edge: map[int64]*[60]minute{},
		oldSums: map[[2]int64]agg{}, load: load}
	for i := range s.hours {
		s.hours[i].hour = -1
	}
	s.ringStart = -1
	return s
}

func unixMinute(t time.Time) int64 { return t.Unix() / 60 }

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// advance moves the ring so that it ends one hour after now's hour, clearing minutes it has not
// held before. The first call fills it from the database.
func (s *series) advance(ctx context.Context, now time.Time) error {
	h := floorDiv(unixMinute(now), 60)
	start := (h - ringHours + 2) * 60
	if s.ringStart == start {
		return nil
	}
	if s.ringStart < 0 || start-s.ringStart >= ringMinutes {
		for i := range s.ring {
			s.ring[i] = minute{}
		}
		s.ringStart = start
		return s.fill(ctx, start, start+ringMinutes)
	}
	oldEnd := s.ringStart + ringMinutes
	s.ringStart = start
	for m := oldEnd; m < start+ringMinutes; m++ {
		s.ring[m%ringMinutes] = minute{}
	}
	return s.fill(ctx, oldEnd, start+ringMinutes)
}

// fill reads minutes [from, to) of the ring from the database.
func (s *series) fill(ctx context.Context, from, to int64) error {
	rows, err := s.load(ctx, from, to)
	if err != nil {
		return err
	}
	for _, r := range rows {
		if r.m >= s.ringStart && r.m < s.ringStart+ringMinutes {
			s.ring[r.m%ringMinutes] = minute{bad: r.total - r.good, total: r.total}
		}
	}
	return nil
}

// changed applies the database's sums for minutes [from, to) after points in them were written:
// ring minutes are replaced, older hours are marked for reading again.
func (s *series) changed(rows []minuteRow, from, to int64) {
	if s.ringStart < 0 {
		return
	}
	for m := max(from, s.ringStart); m < to && m < s.ringStart+ringMinutes; m++ {
		s.ring[m%ringMinutes] = minute{}
	}
	for _, r := range rows {
		if r.m >= s.ringStart && r.m < s.ringStart+ringMinutes {
			s.ring[r.m%ringMinutes] = minute{bad: r.total - r.good, total: r.total}
		}
	}
	for h := floorDiv(from, 60); h*60 < min(to, s.ringStart); h++ {
		clear(s.oldSums)
		b := &s.hours[mod(h, int64(len(s.hours)))]
		if b.hour == h {
			b.valid = false
		}
		delete(s.edge, h)
	}
}

func mod(a, b int64) int64 {
	r := a % b
	if r < 0 {
		r += b
	}
	return r
}

// sum adds up minutes [from, to).
func (s *series) sum(ctx context.Context, from, to int64) (agg, error) {
	var a agg
	if from >= to {
		return a, nil
	}
	// The part older than the ring: a partial first hour, whole hours, a partial last hour.
	if m := from; m < s.ringStart {
		oldEnd := min(to, s.ringStart)
		if h := floorDiv(m, 60); m != h*60 {
			end := min((h+1)*60, oldEnd)
			if err := s.addEdge(ctx, &a, h, m, end); err != nil {
				return a, err
			}
			m = end
		}
		if wholeEnd := floorDiv(oldEnd, 60) * 60; m < wholeEnd {
			w, err := s.wholeHours(ctx, m/60, wholeEnd/60)
			if err != nil {
				return a, err
			}
			a.add(w)
			m = wholeEnd
		}
		if m < oldEnd {
			if err := s.addEdge(ctx, &a, floorDiv(m, 60), m, oldEnd); err != nil {
				return a, err
			}
		}
	}
	lo := max(from, s.ringStart)
	hi := min(to, s.ringStart+ringMinutes)
	if lo < hi {
		s.addMinutes(&a, lo, hi, func(x int64) minute { return s.ring[x%ringMinutes] })
	}
	return a, nil
}

// addMinutes adds minutes [from, to); for the timeslice methods it groups them into slices
// aligned to the slice length, counting a slice cut by the range with its minutes inside.
func (s *series) addMinutes(a *agg, from, to int64, get func(int64) minute) {
	d := s.def
	if d.Method == config.Occurrences {
		for m := from; m < to; m++ {
			x := get(m)
			a.bad += x.bad
			a.total += x.total
		}
		return
	}
	k := int64(d.Slice)
	for m := from; m < to; {
		end := min((floorDiv(m, k)+1)*k, to)
		var bad, total float64
		for ; m < end; m++ {
			x := get(m)
			bad += x.bad
			total += x.total
		}
		a.add(sliceAgg(d, bad, total))
	}
}

// sliceAgg judges one slice. A slice without data counts as the SLO says: good (the default),
// bad, or not at all. The SLI, the budget, the burn rates, the SLA report and the gate all read
// slices through here, so they count them by the same rule.
func sliceAgg(d *Definition, bad, total float64) agg {
	if total <= 0 {
		switch d.NoData {
		case config.NoDataSkip:
			return agg{}
		case config.NoDataBad:
			return agg{slices: 1}
		}
		return agg{slices: 1, goodSlices: 1, ratioSum: 1}
	}
	ratio := clamp01((total - bad) / total)
	a := agg{bad: bad, total: total, slices: 1, ratioSum: ratio, withData: 1}
	if ratio+1e-12 >= d.SliceTarget {
		a.goodSlices = 1
	}
	return a
}

// hour returns the aggregate of hour h, reading it from the database when not held.
func (s *series) hour(ctx context.Context, h int64) (agg, error) {
	b := &s.hours[mod(h, int64(len(s.hours)))]
	if b.hour == h && b.valid {
		return b.agg, nil
	}
	mins, err := s.readHour(ctx, h)
	if err != nil {
		return agg{}, err
	}
	var a agg
	s.addMinutes(&a, h*60, (h+1)*60, func(x int64) minute { return mins[x-h*60] })
	*b = hourBlock{hour: h, agg: a, valid: true}
	return a, nil
}

// preload reads hours [from, to) in one query, as a restart or a new SLO needs.
func (s *series) preload(ctx context.Context, fromHour, toHour int64) error {
	if fromHour >= toHour {
		return nil
	}
	rows, err := s.load(ctx, fromHour*60, toHour*60)
	if err != nil {
		return err
	}
	clear(s.oldSums)
	i := 0
	for h := fromHour; h < toHour; h++ {
		var mins [60]minute
		for ; i < len(rows) && rows[i].m < (h+1)*60; i++ {
			if rows[i].m >= h*60 {
				mins[rows[i].m-h*60] = minute{bad: rows[i].total - rows[i].good, total: rows[i].total}
			}
		}
		var a agg
		s.addMinutes(&a, h*60, (h+1)*60, func(x int64) minute { return mins[x-h*60] })
		s.hours[mod(h, int64(len(s.hours)))] = hourBlock{hour: h, agg: a, valid: true}
	}
	return nil
}

// addEdge adds minutes [from, to) of old hour h.
func (s *series) addEdge(ctx context.Context, a *agg, h, from, to int64) error {
	mins, err := s.edgeHour(ctx, h)
	if err != nil {
		return err
	}
	s.addMinutes(a, from, to, func(x int64) minute { return mins[x-h*60] })
	return nil
}

// wholeHours adds hours [h0, h1). The sum is kept: a window's start moves into a new hour once an
// hour, so most rounds reuse it and cost nothing for the length of the window.
func (s *series) wholeHours(ctx context.Context, h0, h1 int64) (agg, error) {
	key := [2]int64{h0, h1}
	if a, ok := s.oldSums[key]; ok {
		return a, nil
	}
	var a agg
	for h := h0; h < h1; h++ {
		b, err := s.hour(ctx, h)
		if err != nil {
			return agg{}, err
		}
		a.add(b)
	}
	// Each window reaching back past the ring has one entry; a few cover them all.
	if len(s.oldSums) >= 16 {
		clear(s.oldSums)
	}
	s.oldSums[key] = a
	return a, nil
}

func (s *series) edgeHour(ctx context.Context, h int64) (*[60]minute, error) {
	if e, ok := s.edge[h]; ok {
		return e, nil
	}
	mins, err := s.readHour(ctx, h)
	if err != nil {
		return nil, err
	}
	// A window's far edge moves one minute at a time, so an hour per window covers them all.
	if len(s.edge) >= 12 {
		clear(s.edge)
	}
	s.edge[h] = mins
	return mins, nil
}

// readHour reads the minutes of hour h from the database.
func (s *series) readHour(ctx context.Context, h int64) (*[60]minute, error) {
	rows, err := s.load(ctx, h*60, (h+1)*60)
	if err != nil {
		return nil, err
	}
	var mins [60]minute
	for _, r := range rows {
		mins[r.m-h*60] = minute{bad: r.total - r.good, total: r.total}
	}
	return &mins, nil
}

// sums adds up minutes [froms[i], to) for every i at once. With one-minute slices (always so
// for occurrences) it walks the minute ring backwards once, noting the sum at each start, so a
// round reads each held minute once however many windows it reports.
func (s *series) sums(ctx context.Context, to int64, froms []int64) ([]agg, error) {
	out := make([]agg, len(froms))
	if s.def.Slice != 1 {
		for i, f := range froms {
			a, err := s.sum(ctx, f, to)
			if err != nil {
				return nil, err
			}
			out[i] = a
		}
		return out, nil
	}
	order := make([]int, len(froms))
	for i := range order {
		order[i] = i
	}
	// Latest start first: the walk goes back in time.
	for i := 1; i < len(order); i++ {
		for j := i; j > 0 && froms[order[j]] > froms[order[j-1]]; j-- {
			order[j], order[j-1] = order[j-1], order[j]
		}
	}
	hi := min(to, s.ringStart+ringMinutes)
	var cum agg
	m := hi
	for _, i := range order {
		from := froms[i]
		lo := max(from, s.ringStart)
		if lo < m {
			s.addRing(&cum, lo, m)
			m = lo
		}
		out[i] = cum
		if from < s.ringStart {
			old, err := s.sum(ctx, from, min(s.ringStart, to))
			if err != nil {
				return nil, err
			}
			out[i].add(old)
		}
	}
	return out, nil
}

// addRing adds ring minutes [lo, hi), each its own slice, in at most two contiguous runs.
func (s *series) addRing(a *agg, lo, hi int64) {
	occurrences := s.def.Method == config.Occurrences
	for lo < hi {
		i := lo % ringMinutes
		n := min(hi-lo, ringMinutes-i)
		run := s.ring[i : i+n]
		if occurrences {
			var bad, total float64
			for _, x := range run {
				bad += x.bad
				total += x.total
			}
			a.bad += bad
			a.total += total
		} else {
			for _, x := range run {
				a.add(sliceAgg(s.def, x.bad, x.total))
			}
		}
		lo += n
	}
}
