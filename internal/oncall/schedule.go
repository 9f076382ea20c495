// Package oncall answers "who is on call at time t": rotations that hand off at local
// wall-clock time, restrictions, layers where the higher one wins, and overrides that cover a
// time range. The arithmetic is pure (config + overrides in, shifts out); overrides are kept in
// the database because they are what happens, not what is declared.
package oncall

import (
	"sort"
	"time"

	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/internal/config"
)

// OverrideLayer is the layer name of a shift that comes from an override of the whole
// schedule. A shift from an override of one layer carries that layer's name and its OverrideID.
const OverrideLayer = "override"

// Shift is a span of time one user is on call for a schedule.
type Shift struct {
	UserID     string    `json:"user_id"`
	ScheduleID string    `json:"schedule_id"`
	Layer      string    `json:"layer"`
	Start      time.Time `json:"start"`
	End        time.Time `json:"end"`
	// OverrideID is set on shifts that come from an override.
	OverrideID int64 `json:"override_id,omitempty"`
}

// Override puts a user on call for a schedule over a time range: above every layer, or in
// place of whoever one layer has on call when it names that layer.
type Override struct {
	ID         int64  `json:"id"`
	ScheduleID string `json:"schedule_id"`
	UserID     string `json:"user_id"`
	// Layer is the layer the override covers; empty means the whole schedule (every layer).
	Layer     string    `json:"layer,omitempty"`
	Start     time.Time `json:"start"`
	End       time.Time `json:"end"`
	CreatedAt time.Time `json:"created_at"`
	CreatedBy string    `json:"created_by"`
}

// candidate is a span a source puts someone on call; rank orders sources (higher wins).
type candidate struct {
	Shift
	rank rank
	seq  int // distinguishes turns of the same rank so pieces of one turn merge and others don't
}

// rank orders candidates: by layer (later layers win, overrides of the whole schedule above
// them all), then within a layer its overrides above its turns, a later override above an
// earlier one.
type rank struct{ layer, within int }

func (r rank) above(o rank) bool {
	return r.layer > o.layer || r.layer == o.layer && r.within > o.within
}

// layerShifts lists the turns of layer l (index i of s) that overlap [from, to), cut to its
// restrictions. Turns are computed in wall-clock terms: turn n starts at the first hand-off's
// local date + n*days and local hour + n*hours, so a weekly 09:00 hand-off stays at 09:00 local
// whatever the UTC offset that day.
func layerShifts(s *config.Schedule, i int, from, to time.Time) []candidate {
	l := &s.Layers[i]
	loc := s.Location()
	if len(l.Users) == 0 || !l.Rotation.Handoff.Set {
		return nil
	}
	h := l.Rotation.Handoff
	length := l.Rotation.Length
	turnStart := func(n int) time.Time {
		return time.Date(h.Year, time.Month(h.Month), h.Day+n*length.Days, h.Hour+n*length.Hours, h.Min, 0, 0, loc)
	}
	layerStart := turnStart(0)
	var layerEnd time.Time
	if l.End.Set {
		layerEnd = l.End.In(loc)
	}
	if !from.After(layerStart) {
		from = layerStart
	}
	if !layerEnd.IsZero() && to.After(layerEnd) {
		to = layerEnd
	}
	if !to.After(from) {
		return nil
	}
	// Estimate the first turn from the approximate length, then correct: DST moves instants
	// by at most an hour or two, never a whole turn once corrected.
	n := int(from.Sub(layerStart) / length.Approx())
	for n > 0 && turnStart(n).After(from) {
		n--
	}
	for !turnStart(n + 1).After(from) {
		n++
	}
	var out []candidate
	for ; turnStart(n).Before(to); n++ {
		start, end := turnStart(n), turnStart(n+1)
		if !layerEnd.IsZero() && end.After(layerEnd) {
			end = layerEnd
		}
		sh := Shift{UserID: l.Users[n%len(l.Users)], ScheduleID: s.ID, Layer: l.Name, Start: start, End: end}
		for _, piece := range restrict(l.Restrictions, loc, sh) {
			out = append(out, candidate{Shift: piece, rank: rank{i + 1, 0}, seq: n})
		}
	}
	return out
}

// restrict cuts a turn to the restriction windows; without restrictions the turn is whole.
func restrict(rs []config.Restriction, loc *time.Location, sh Shift) []Shift {
	if len(rs) == 0 {
		return []Shift{sh}
	}
	var out []Shift
	// Start a day early: a window that runs past midnight may reach into the turn.
	ls := sh.Start.In(loc)
	day := clock.StartOfDay(ls.Year(), ls.Month(), ls.Day()-1, loc)
	for ; day.Before(sh.End); day = clock.NextDay(day) { // a day may begin after its midnight
		for _, r := range rs {
			days, _ := config.ParseDays(r.Days)
			if !days[day.Weekday()] {
				continue
			}
			ws := time.Date(day.Year(), day.Month(), day.Day(), 0, r.Start.Minutes, 0, 0, loc)
			endDay := day.Day()
			if r.End.Minutes <= r.Start.Minutes {
				endDay++
			}
			we := time.Date(day.Year(), day.Month(), endDay, 0, r.End.Minutes, 0, 0, loc)
			s, e := clock.Latest(ws, sh.Start), clock.Earliest(we, sh.End)
			if e.After(s) {
				p := sh
				p.Start, p.End = s, e
				out = append(out, p)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Start.Before(out[j].Start) })
	// Restrictions that touch or overlap (mon 09-18 and mon 17-20) make one piece.
	merged := out[:0]
	for _, p := range out {
		if n := len(merged); n > 0 && !p.Start.After(merged[n-1].End) {
			merged[n-1].End = clock.Latest(merged[n-1].End, p.End)
			continue
		}
		merged = append(merged, p)
	}
	return merged
}

// Shifts returns who is on call for s over [from, to): the final schedule after layers and
// overrides, as shifts in time order. Shifts are cut at from and to.
func Shifts(s *config.Schedule, overrides []Override, from, to time.Time) []Shift {
	return ShiftsOn(s, nil, overrides, from, to)
}

// ShiftsOn is Shifts limited to some layers of s (all when layers is empty): those layers'
// turns, the overrides of those layers, and the overrides of the whole schedule, which cover
// every layer. An override of a layer the config no longer has covers nothing.
func ShiftsOn(s *config.Schedule, layers []string, overrides []Override, from, to time.Time) []Shift {
	var cands []candidate
	index := map[string]int{}
	for i := range s.Layers {
		index[s.Layers[i].Name] = i
		if len(layers) == 0 || contains(layers, s.Layers[i].Name) {
			cands = append(cands, layerShifts(s, i, from, to)...)
		}
	}
	for n, o := range overrides {
		if o.ScheduleID != s.ID || !o.End.After(from) || !o.Start.Before(to) {
			continue
		}
		sh := Shift{UserID: o.UserID, ScheduleID: s.ID, Layer: OverrideLayer, Start: o.Start, End: o.End, OverrideID: o.ID}
		r := rank{len(s.Layers) + 1, n}
		if o.Layer != "" {
			i, ok := index[o.Layer]
			if !ok || len(layers) > 0 && !contains(layers, o.Layer) {
				continue
			}
			sh.Layer, r = o.Layer, rank{i + 1, 1 + n}
		}
		cands = append(cands, candidate{Shift: sh, rank: r, seq: -1})
	}
	return flatten(cands, from, to)
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// flatten picks, for every instant, the highest-ranked candidate and returns the result as
// maximal shifts.
func flatten(cands []candidate, from, to time.Time) []Shift {
	cuts := []time.Time{from, to}
	for _, c := range cands {
		if c.Start.After(from) && c.Start.Before(to) {
			cuts = append(cuts, c.Start)
		}
		if c.End.After(from) && c.End.Before(to) {
			cuts = append(cuts, c.End)
		}
	}
	sort.Slice(cuts, func(i, j int) bool { return cuts[i].Before(cuts[j]) })
	var out []Shift
	var last *candidate
	for i := 0; i+1 < len(cuts); i++ {
		a, b := cuts[i], cuts[i+1]
		if !b.After(a) {
			continue
		}
		var best *candidate
		for j := range cands {
			c := &cands[j]
			if !c.Start.After(a) && c.End.After(a) && (best == nil || c.rank.above(best.rank)) {
				best = c
			}
		}
		if best == nil {
			last = nil
			continue
		}
		if last != nil && sameSource(last, best) && out[len(out)-1].End.Equal(a) {
			out[len(out)-1].End = b.UTC()
			continue
		}
		sh := best.Shift
		sh.Start, sh.End = a.UTC(), b.UTC()
		out = append(out, sh)
		last = best
	}
	return out
}

func sameSource(a, b *candidate) bool {
	return a.rank == b.rank && a.seq == b.seq && a.UserID == b.UserID && a.OverrideID == b.OverrideID
}

// At returns the shifts in force at t: the user on call, with the whole span of their current
// shift (the turn as cut by restrictions, higher layers and overrides). A schedule may have
// nobody on call at t (restrictions with gaps, before its first hand-off).
func At(s *config.Schedule, overrides []Override, t time.Time) []Shift {
	return AtOn(s, nil, overrides, t)
}

// AtOn is At limited to some layers of s (all when layers is empty), as ShiftsOn: the
// lieutenant's "secondary" layer, with the overrides that cover it.
func AtOn(s *config.Schedule, layers []string, overrides []Override, t time.Time) []Shift {
	span := 24 * time.Hour
	for _, l := range s.Layers {
		if d := l.Rotation.Length.Approx() + 24*time.Hour; d > span {
			span = d
		}
	}
	for _, o := range overrides {
		if !o.Start.After(t) && o.End.After(t) {
			if d := t.Sub(o.Start); d > span {
				span = d
			}
			if d := o.End.Sub(t); d > span {
				span = d
			}
		}
	}
	for _, sh := range ShiftsOn(s, layers, overrides, t.Add(-span-time.Hour), t.Add(span+time.Hour)) {
		if !sh.Start.After(t) && sh.End.After(t) {
			return []Shift{sh}
		}
	}
	return nil
}

func sortShifts(s []Shift) {
	sort.SliceStable(s, func(i, j int) bool { return s[i].Start.Before(s[j].Start) })
}
