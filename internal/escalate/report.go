package escalate

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
	// Pages is how many notifications reached them; OffHoursPages how many of those outside
	// their working hours.
	Pages         int `json:"pages"`
	OffHoursPages int `json:"off_hours_pages"`
	// Incidents is how many incidents they acknowledged; WorkHours the time from those
	// acknowledgements to resolution, OffHoursWork the part of it outside working hours.
	Incidents    int     `json:"incidents_handled"`
	WorkHours    float64 `json:"ack_to_resolve_hours"`
	OffHoursWork float64 `json:"off_hours_work_hours"`
	// DaysOwed is the time off the compensation rule grants.
	DaysOwed float64 `json:"days_owed"`
}

// Report is the on-call load of everyone over [From, To).
type Report struct {
	From  time.Time `json:"from"`
	To    time.Time `json:"to"`
	Rule  string    `json:"rule"`
	Users []Load    `json:"users"`
}

// ShiftHours returns how long a user is on call over a period (from package oncall).
type ShiftHours func(ctx context.Context, userID string, from, to time.Time) (float64, error)

// LoadReport counts pages, handled incidents and off-hours work per person, and what the
// compensation rule owes them. A night is counted on the local day the work happened.
func (e *Engine) LoadReport(ctx context.Context, from, to time.Time) (Report, error) {
	cfg := e.cfg.Get()
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
		shs, err := e.oncall.UserShifts(ctx, u.ID, from, to)
		if err != nil {
			return rep, err
		}
		for _, sh := range shs {
			l.OnCallHours += sh.End.Sub(sh.Start).Hours()
		}
		loads[u.ID] = l
	}
	rows, err := e.db.Query(ctx, `SELECT incident_id, user_id, at FROM notify_deliveries WHERE state = 'sent' AND at >= ? AND at < ? ORDER BY at`,
		from.UnixMilli(), to.UnixMilli())
	if err != nil {
		return rep, err
	}
	incidents := map[int64]bool{}
	for rows.Next() {
		var id, at int64
		var uid string
		if err := rows.Scan(&id, &uid, &at); err != nil {
			rows.Close()
			return rep, err
		}
		incidents[id] = true
		l, u := loads[uid], cfg.User(uid)
		if l == nil || u == nil {
			continue
		}
		l.Pages++
		t := time.UnixMilli(at)
		if hours, loc := userHours(u); !hours.Contains(t, loc) {
			l.OffHoursPages++
			nightPage[dayKey{uid, t.In(loc).Format("2006-01-02")}] = true
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return rep, err
	}
	for id := range incidents {
		inc, err := e.incidents.Get(ctx, id)
		if err != nil || inc.AcknowledgedAt == nil {
			continue
		}
		evs, err := e.incidents.Timeline(ctx, id)
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
		hours, loc := userHours(u)
		// Minute by minute is exact enough and cheap for the lengths incidents last.
		for t := start; t.Before(end); t = t.Add(time.Minute) {
			if !hours.Contains(t, loc) {
				step := time.Minute
				if end.Sub(t) < step {
					step = end.Sub(t)
				}
				l.OffHoursWork += step.Hours()
				offWork[dayKey{uid, t.In(loc).Format("2006-01-02")}] += step
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

func userHours(u *config.User) (*config.WorkingHours, *time.Location) {
	if u.WorkingHours != nil {
		return u.WorkingHours, u.Location()
	}
	return config.DefaultWorkingHours(), u.Location()
}

func ruleText(c *config.Compensation) string {
	return "a day with an off-hours page or off-hours work owes " + trim(c.NightPage) + " day; " +
		c.LongWork.D().String() + " or more of off-hours work in a day owes " + trim(c.LongWorkDays) + " day"
}

func trim(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

func round2(f float64) float64 { return float64(int64(f*100+0.5)) / 100 }
