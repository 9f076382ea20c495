package config

import (
	"fmt"
	"strings"
	"time"
)

// Whether an escalation policy can reach anyone. A step reaches nobody when its schedules have
// nobody on call and its people have no contact method for the incident's urgency; when every
// step of a round does, nines pages the fallback. Validation asks for a fallback wherever that
// could happen, so no incident is ever left with nobody told.

// Urgencies are the two urgencies an incident can have.
var Urgencies = []string{"high", "low"}

// Methods returns how a page of the given urgency reaches the user: the notification rules
// that apply to it, or every contact method at once when the user has no rules.
func (u *User) Methods(urgency string) []NotificationRule {
	var out []NotificationRule
	for _, r := range u.NotificationRules {
		if r.Urgency == "" || r.Urgency == urgency {
			out = append(out, r)
		}
	}
	if len(u.NotificationRules) == 0 {
		for _, m := range u.ContactMethods {
			out = append(out, NotificationRule{ContactMethod: m.ID})
		}
	}
	return out
}

// reachable is the person id as the checks of reach see them: with the contact methods and
// rules they verified on their profile when the config was told of them (Live.SetOwnMethods).
func (c *Config) reachable(u *User) *User {
	if u == nil || c.own == nil {
		return u
	}
	if w, ok := c.ownSeen[u]; ok {
		return w
	}
	w := c.own(u)
	if w == nil {
		w = u
	}
	if c.ownSeen == nil {
		c.ownSeen = map[*User]*User{}
	}
	c.ownSeen[u] = w
	return w
}

// unreachable says why the user cannot be paged at some urgency, or "" when they can at both.
func (u *User) unreachable() string {
	var none []string
	for _, urg := range Urgencies {
		if len(u.Methods(urg)) == 0 {
			none = append(none, urg)
		}
	}
	switch len(none) {
	case 0:
		return ""
	case len(Urgencies):
		return "user " + u.ID + " has no contact method"
	}
	return "user " + u.ID + " has no contact method for " + none[0] + " urgency"
}

const minutesPerWeek = 7 * 24 * 60

// gap returns the first minute of the week (in the schedule's time zone) when none of the
// given layers of s has anyone on call once they have all started, or -1 when they cover the
// whole week. Layers that end cover nothing in the long run. Empty layers means all.
func (s *Schedule) gap(layers []string) int {
	var week [minutesPerWeek]bool
	for i := range s.Layers {
		l := &s.Layers[i]
		if l.End.Set || len(l.Users) == 0 || (len(layers) > 0 && !contains(layers, l.Name)) {
			continue
		}
		if len(l.Restrictions) == 0 {
			return -1
		}
		for _, r := range l.Restrictions {
			days, err := ParseDays(r.Days)
			if err != nil || !r.Start.Set || !r.End.Set {
				continue
			}
			for d := 0; d < 7; d++ {
				if !days[d] {
					continue
				}
				from, to := d*1440+r.Start.Minutes, d*1440+r.End.Minutes
				if r.End.Minutes <= r.Start.Minutes {
					to += 1440 // runs past midnight
				}
				for m := from; m < to; m++ {
					week[m%minutesPerWeek] = true
				}
			}
		}
	}
	for m, on := range week {
		if !on {
			return m
		}
	}
	return -1
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// minuteOfWeek names a minute of the week counted from Sunday 00:00 ("Sat 18:00").
func minuteOfWeek(m int) string {
	return fmt.Sprintf("%s %02d:%02d", time.Weekday(m / 1440).String()[:3], m%1440/60, m%60)
}

// targetMayReachNobody says how a target could page nobody, or "" when it always reaches
// someone.
func (c *Config) targetMayReachNobody(t *EscalationTarget) string {
	switch {
	case t.User != "":
		if u := c.reachable(c.User(t.User)); u != nil {
			return u.unreachable()
		}
	case t.Team != "":
		team := c.Team(t.Team)
		if team == nil {
			return ""
		}
		if len(team.Members) == 0 {
			return "team " + t.Team + " has no members"
		}
		var why []string
		for _, m := range team.Members {
			u := c.reachable(c.User(m))
			if u == nil {
				return ""
			}
			w := u.unreachable()
			if w == "" {
				return ""
			}
			why = append(why, w)
		}
		return strings.Join(why, ", ")
	case t.Schedule != "":
		s := c.Schedule(t.Schedule)
		if s == nil {
			return ""
		}
		what := "schedule " + s.ID
		if len(t.Layers) > 0 {
			what += " (layers " + strings.Join(t.Layers, ", ") + ")"
		}
		if m := s.gap(t.Layers); m >= 0 {
			return fmt.Sprintf("%s has nobody on call on %s (%s)", what, minuteOfWeek(m), s.Location())
		}
		for _, l := range s.Layers {
			if len(t.Layers) > 0 && !contains(t.Layers, l.Name) {
				continue
			}
			for _, id := range l.Users {
				if u := c.reachable(c.User(id)); u != nil {
					if w := u.unreachable(); w != "" {
						return w + " and may be on call on " + what
					}
				}
			}
		}
	}
	return ""
}

// policyMayReachNobody says how every step of p could page nobody, or "" when some step always
// reaches someone.
func (c *Config) policyMayReachNobody(p *EscalationPolicy) string {
	var why []string
	for i := range p.Steps {
		st := &p.Steps[i]
		var stepWhy []string
		for j := range st.Targets {
			w := c.targetMayReachNobody(&st.Targets[j])
			if w == "" {
				return ""
			}
			stepWhy = append(stepWhy, w)
		}
		why = append(why, fmt.Sprintf("step %d: %s", i+1, strings.Join(stepWhy, "; ")))
	}
	return strings.Join(why, "; ")
}

// validateFallback checks the fallback lists, and that every policy that could reach nobody
// has one.
func (c *Config) validateFallback(errs *Errors, users map[string]*User) {
	check := func(n Node, what string, ids []string) {
		for _, id := range ids {
			u := users[id]
			if u == nil {
				errs.add(n.At("fallback"), "%s: fallback: unknown user %q", what, id)
				continue
			}
			u = c.reachable(u)
			if w := u.unreachable(); w != "" {
				errs.add(n.At("fallback"), "%s: fallback: %s; a fallback must be reachable at any urgency", what, w)
			}
		}
	}
	check(c.Node, "config", c.Fallback)
	if c.Has("fallback") && len(c.Fallback) == 0 {
		errs.add(c.At("fallback"), "fallback is empty; name at least one user")
	}
	for i := range c.EscalationPolicies {
		p := &c.EscalationPolicies[i]
		what := "escalation policy " + p.ID
		check(p.Node, what, p.Fallback)
		if p.Has("fallback") && len(p.Fallback) == 0 {
			errs.add(p.At("fallback"), "%s: fallback is empty; name at least one user, or remove it to use the top-level fallback", what)
		}
		if len(p.Fallback) > 0 || len(c.Fallback) > 0 {
			continue
		}
		if why := c.policyMayReachNobody(p); why != "" {
			errs.add(p.Pos, "%s could reach nobody (%s); add fallback: [user, ...] to the policy or at the top level of the config", what, why)
		}
	}
}
