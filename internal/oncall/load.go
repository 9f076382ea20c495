package oncall

import (
	"context"
	"sort"
	"strconv"
	"time"

	"github.com/nines-dev/nines/internal/config"
	"github.com/nines-dev/nines/internal/incident"
)

// Load is one person's on-call load over a period.
type Load struct {
	UserID string `json:"user_id"`
	Name   string `json:"name"`
	// OnCallHours is the time the person was on call on any schedule.
	OnCallHours float64 `json:"on_call_hours"`
	// Pages is how many messages reached them (a bundle of several incidents is one);
	// OffHoursPages how many of those outside their working hours.
	Pages         int `json:"pages"`
	OffHoursPages int `json:"off_hours_pages"`
	// DrillPages is how many messages of chaos drills' incidents reached them: real pages,
	// counted apart from Pages and owing no time off (drills run in working hours).
	DrillPages int `json:"drill_pages"`
	// Incidents is how many incidents they acknowledged; WorkHours the time from those
	// acknowledgements to resolution, OffHoursWork the part of it outside working hours.
	Incidents    int     `json:"incidents_handled"`
	WorkHours    float64 `json:"ack_to_resolve_hours"`
	OffHoursWork float64 `json:"off_hours_work_hours"`
	// DaysOwed is the time off the compensation rule grants.
	DaysOwed float64 `json:"days_owed"`
}

// Report is the on-call load of everyone over [From, To). To is never after the time the
// report was made: what has not happened yet is not counted.
type Report struct {
	From  time.Time `json:"from"`
	To    time.Time `json:"to"`
	Rule  string    `json:"rule"`
	Users []Load    `json:"users"`
}

// Page is one message that reached a person: a bundle of several incidents is one page, and
// its incidents share its Message.
type Page struct {
	IncidentID int64
	UserID     string
	At         time.Time
	Message    string
}

// Pages lists the pages sent in [from, to), oldest first: escalation's record of them.
type Pages interface {
	Sent(ctx context.Context, from, to time.Time) ([]Page, error)
}

// LoadReport counts pages, handled incidents and off-hours work per person, and what the
// compensation rule owes them. A night is counted on the local day the work happened. A period
// that runs past now stops at now.
// drills are the incidents chaos drills took as theirs: their pages are counted apart, and
// handling them is not on-call work.
func (s *Service) LoadReport(ctx context.Context, pages Pages, incidents *incident.Service, drills map[int64]bool, from, to time.Time) (Report, error) {
	cfg := s.cfg.Get()
	// Durations (on call, at work) stop at now; what happened is counted over the period asked,
	// which holds nothing after now anyway.
	asked := to
	if now := s.clock.Now(); to.After(now) {
		to = now
	}
	if to.Before(from) {
		to = from
	}
	comp := cfg.Notifications.Compensation
	if comp == nil {
		comp = &config.Compensation{NightPage: 0.5, LongWork: config.Duration(4 * time.Hour), LongWorkDays: 1}
	}
	rep := Report{From: from, To: to, Rule: ruleText(comp)}
	type dayKey struct {
		user string
		day  string
	}
	nightPage := map[dayKey]bool{}
	offWork := map[dayKey]time.Duration{}
	loads := map[string]*Load{}
	for i := range cfg.Users {
		u := &cfg.Users[i]
		l := &Load{UserID: u.ID, Name: u.Name}
		shs, err := s.UserShifts(ctx, u.ID, from, to)
		if err != nil {
			return rep, err
		}
		for _, sh := range shs {
			l.OnCallHours += sh.End.Sub(sh.Start).Hours()
		}
		loads[u.ID] = l
	}
	sent, err := pages.Sent(ctx, from, asked)
	if err != nil {
		return rep, err
	}
	paged := map[int64]bool{}
	messages := map[string]bool{}
	for _, p := range sent {
		id, uid, message := p.IncidentID, p.UserID, p.Message
		paged[id] = true
		l, u := loads[uid], cfg.User(uid)
		if l == nil || u == nil {
			continue
		}
		if message != "" {
			if messages[message] {
				continue
			}
			messages[message] = true
		}
		if drills[id] {
			l.DrillPages++
			continue
		}
		l.Pages++
		t := p.At
		if !UserHours(u).Contains(t) {
			l.OffHoursPages++
			nightPage[dayKey{uid, t.In(u.Location()).Format("2006-01-02")}] = true
		}
	}
	for id := range paged {
		if drills[id] {
			continue
		}
		inc, err := incidents.Get(ctx, id)
		if err != nil || inc.AcknowledgedAt == nil {
			continue
		}
		evs, err := incidents.Timeline(ctx, id)
		if err != nil {
			return rep, err
		}
		var by string
		for _, ev := range evs {
			if ev.Type == incident.EventAcknowledged {
				by = ev.Actor
				break
			}
		}
		if len(by) < 6 || by[:5] != "user:" || loads[by[5:]] == nil {
			continue
		}
		uid := by[5:]
		l, u := loads[uid], cfg.User(uid)
		l.Incidents++
		end := to
		if inc.ResolvedAt != nil && inc.ResolvedAt.Before(end) {
			end = *inc.ResolvedAt
		}
		start := *inc.AcknowledgedAt
		if !end.After(start) {
			continue
		}
		l.WorkHours += end.Sub(start).Hours()
		hours := UserHours(u)
		// Minute by minute is exact enough and cheap for the lengths incidents last.
		for t := start; t.Before(end); t = t.Add(time.Minute) {
			if !hours.Contains(t) {
				step := time.Minute
				if end.Sub(t) < step {
					step = end.Sub(t)
				}
				l.OffHoursWork += step.Hours()
				offWork[dayKey{uid, t.In(u.Location()).Format("2006-01-02")}] += step
			}
		}
	}
	days := map[dayKey]bool{}
	for k := range nightPage {
		days[k] = true
	}
	for k := range offWork {
		days[k] = true
	}
	for k := range days {
		owed := 0.0
		if nightPage[k] || offWork[k] > 0 {
			owed = comp.NightPage
		}
		if comp.LongWork > 0 && offWork[k] >= comp.LongWork.D() && comp.LongWorkDays > owed {
			owed = comp.LongWorkDays
		}
		loads[k.user].DaysOwed += owed
	}
	for _, l := range loads {
		l.OnCallHours, l.WorkHours, l.OffHoursWork = round2(l.OnCallHours), round2(l.WorkHours), round2(l.OffHoursWork)
		rep.Users = append(rep.Users, *l)
	}
	sort.Slice(rep.Users, func(i, j int) bool { return rep.Users[i].UserID < rep.Users[j].UserID })
	return rep, nil
}

func ruleText(c *config.Compensation) string {
	return "a day with an off-hours page or off-hours work owes " + trim(c.NightPage) + " day; " +
		c.LongWork.D().String() + " or more of off-hours work in a day owes " + trim(c.LongWorkDays) + " day"
}

func trim(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

func round2(f float64) float64 { return float64(int64(f*100+0.5)) / 100 }
