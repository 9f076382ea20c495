// Package oncall answers "who is on call at time t": rotations that hand off at local
// wall-clock time, restrictions, layers where the higher one wins, and overrides that cover a
// time range. The arithmetic is pure (config + overrides in, shifts out); overrides are kept in
// the database because they are what happens, not what is declared.
package oncall

import (
	"sort"
	"time"

	"github.com/nines-dev/nines/internal/config"
)

// OverrideLayer is the layer name of a shift that comes from an override.
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

// Override puts a user on call for a schedule over a time range, above every layer.
type Override struct {
	ID         int64     `json:"id"`
	ScheduleID string    `json:"schedule_id"`
	UserID     string    `json:"user_id"`
	Start      time.Time `json:"start"`
	End        time.Time `json:"end"`
	CreatedAt  time.Time `json:"created_at"`
	CreatedBy  string    `json:"created_by"`
}

// candidate is a span a source puts someone on call; rank orders sources (higher wins).
type candidate struct {
	Shift
	rank int
	seq  int // distinguishes turns of the same rank so pieces of one turn merge and others don't
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
			out = append(out, candidate{Shift: piece, rank: i + 1, seq: n})
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
	day := time.Date(ls.Year(), ls.Month(), ls.Day()-1, 0, 0, 0, 0, loc)
	for ; day.Before(sh.End); day = time.Date(day.Year(), day.Month(), day.Day()+1, 0, 0, 0, 0, loc) {
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
			s, e := maxTime(ws, sh.Start), minTime(we, sh.End)
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
			merged[n-1].End = maxTime(merged[n-1].End, p.End)
			continue
		}
		merged = append(merged, p)
	}
	return merged
}

// Shifts returns who is on call for s over [from, to): the final schedule after layers and
// overrides, as shifts in time order. Shifts are cut at from and to.
func Shifts(s *config.Schedule, overrides []Override, from, to time.Time) []Shift {
	var cands []candidate
	for i := range s.Layers {
		cands = append(cands, layerShifts(s, i, from, to)...)
	}
	for i, o := range overrides {
		if o.ScheduleID != s.ID || !o.End.After(from) || !o.Start.Before(to) {
			continue
		}
		// Overrides rank above every layer; a later override wins over an earlier one.
		cands = append(cands, candidate{
			Shift: Shift{UserID: o.UserID, ScheduleID: s.ID, Layer: OverrideLayer, Start: o.Start, End: o.End, OverrideID: o.ID},
			rank:  len(s.Layers) + 1 + i, seq: -1,
		})
	}
	return flatten(cands, from, to)
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
			if !c.Start.After(a) && c.End.After(a) && (best == nil || c.rank > best.rank) {
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
	for _, sh := range Shifts(s, overrides, t.Add(-span-time.Hour), t.Add(span+time.Hour)) {
		if !sh.Start.After(t) && sh.End.After(t) {
			return []Shift{sh}
		}
	}
	return nil
}

// OnLayers is At limited to some layers of s (the lieutenant's "secondary" layer); overrides
// apply to the whole schedule, so they are not considered here.
func OnLayers(s *config.Schedule, layers []string, t time.Time) []Shift {
	sub := *s
	sub.Layers = nil
	for _, l := range s.Layers {
		for _, n := range layers {
			if l.Name == n {
				sub.Layers = append(sub.Layers, l)
			}
		}
	}
	return At(&sub, nil, t)
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func sortShifts(s []Shift) {
	sort.SliceStable(s, func(i, j int) bool { return s[i].Start.Before(s[j].Start) })
}
