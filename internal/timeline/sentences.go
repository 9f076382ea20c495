package timeline

import (
	"fmt"
	"sort"
	"strings"
)

// sentences tells each entry type nines writes; a test checks that every type written in the
// code has one here. A function returning "" falls back to the generic sentence.
var sentences = map[string]func(t *teller) string{
	// incidents
	"incident.triggered": func(t *teller) string {
		if isSet(t.d, "declared") {
			return t.who() + " opened the incident" + t.through()
		}
		s := "Opened by an alert from " + t.who()
		if sum := str(t.d, "summary"); sum != "" {
			s += ": " + t.text(sum)
		}
		return s
	},
	"incident.declared": func(t *teller) string {
		s := t.who() + " declared the incident"
		if sev := str(t.d, "sev"); sev != "" {
			s += " at " + t.text(sev)
		}
		if title := str(t.d, "title"); title != "" {
			s += ": " + t.text(title)
		}
		return s
	},
	"incident.acknowledged": func(t *teller) string { return t.state("acknowledged") },
	"incident.resolved":     func(t *teller) string { return t.state("resolved") },
	"incident.urgency_changed": func(t *teller) string {
		return t.change("urgency", str(t.d, "from"), str(t.d, "to"))
	},
	"incident.sev_changed": func(t *teller) string {
		return t.change("level", str(t.d, "from"), str(t.d, "to"))
	},
	"incident.snoozed": func(t *teller) string {
		return t.who() + " snoozed the incident until " + t.timeOf("until") + t.through() + "; it pages again then"
	},
	"incident.retriggered": func(t *teller) string {
		if until := t.timeOf("until"); until != "" {
			return "Triggered again: the snooze until " + until + " ended; paging starts over"
		}
		return "Triggered again: " + t.reason(str(t.d, "reason")) + "; paging starts over"
	},
	"incident.reassigned": func(t *teller) string {
		return t.who() + " reassigned the incident to " + t.user(str(t.d, "user")) + t.through()
	},
	"note": func(t *teller) string { return t.who() + " noted: " + t.text(str(t.d, "text")) },
	"role.assigned": func(t *teller) string {
		role := t.text(str(t.d, "role"))
		if role == "commander" {
			role = "incident commander"
		}
		person, prev := str(t.d, "person"), str(t.d, "previous")
		if person == "" {
			return fmt.Sprintf("%s cleared the role of %s (was %s)", t.who(), role, t.user(prev))
		}
		s := fmt.Sprintf("%s made %s %s", t.who(), t.user(person), role)
		if prev != "" && prev != person {
			s += ", in place of " + t.user(prev)
		}
		return s
	},
	"impact.start_set": func(t *teller) string {
		s := t.who() + " set the start of customer impact to " + t.timeOf("impact_started_at")
		if prev := t.timeOf("previous"); prev != "" {
			s += " (was " + prev + ")"
		}
		return s
	},
	"link": func(t *teller) string {
		title, url := t.text(str(t.d, "title")), t.text(str(t.d, "url"))
		if title == "" || title == url {
			return t.who() + " linked " + url
		}
		return fmt.Sprintf("%s linked %s (%s)", t.who(), title, url)
	},

	// alerts
	"alert.triggered": func(t *teller) string {
		s := "Alert triggered"
		var about []string
		if sev := str(t.d, "severity"); sev != "" {
			about = append(about, t.text(sev))
		}
		if src := str(t.d, "source"); src != "" {
			about = append(about, "from "+t.text(src))
		}
		if len(about) > 0 {
			s += " (" + strings.Join(about, ", ") + ")"
		}
		if sum := str(t.d, "summary"); sum != "" {
			s += ": " + t.text(sum)
		} else {
			s += ": " + t.text(str(t.d, "dedup_key"))
		}
		return s
	},
	"alert.repeated": func(t *teller) string {
		key := t.text(str(t.d, "dedup_key"))
		if n := num(t.d, "count"); n > 1 {
			if last := t.timeOf("last_at"); last != "" {
				return fmt.Sprintf("Alert %s repeated %d times, the last at %s", key, n, last)
			}
			return fmt.Sprintf("Alert %s repeated %d times", key, n)
		}
		return "Alert " + key + " repeated once"
	},
	"alert.acknowledged": func(t *teller) string { return t.alertState("acknowledged") },
	"alert.resolved":     func(t *teller) string { return t.alertState("resolved") },
	"alert.inhibited": func(t *teller) string {
		return "Alert " + t.text(str(t.d, "dedup_key")) + ": " + t.text(str(t.d, "text"))
	},
	"alert.uninhibited": func(t *teller) string {
		return "Alert " + t.text(str(t.d, "dedup_key")) + ": " + t.text(str(t.d, "text"))
	},
	"alert.actionable": func(t *teller) string {
		verdict := "as noise (not actionable)"
		if isSet(t.d, "actionable") {
			verdict = "as actionable"
		}
		return fmt.Sprintf("%s marked alert %s %s", t.who(), t.text(str(t.d, "dedup_key")), verdict)
	},

	// escalation and pages
	"escalation.step": func(t *teller) string {
		s := fmt.Sprintf("Escalation step %d of %d pages %s", num(t.d, "step"), num(t.d, "steps"), t.users("users"))
		if r := repeat(t.d); r > 1 {
			s += fmt.Sprintf(" (round %d)", r)
		}
		if un := strs(t.d, "unreached"); len(un) > 0 {
			s += "; not reached: " + t.reason(strings.Join(un, "; "))
		}
		return s
	},
	"escalation.skipped": func(t *teller) string {
		return fmt.Sprintf("Escalation step %d skipped: %s", num(t.d, "step"), t.reason(str(t.d, "reason")))
	},
	"escalation.nobody": func(t *teller) string {
		s := "The escalation reached nobody: " + t.reason(str(t.d, "reason"))
		if p := str(t.d, "fallback_problem"); p != "" {
			return s + "; " + t.reason(p)
		}
		return s + "; paging the fallback, " + t.users("fallback")
	},
	"escalation.stopped": func(t *teller) string {
		return "Escalation stopped: the incident was " + t.reason(str(t.d, "reason"))
	},
	"escalation.manual": func(t *teller) string {
		s := fmt.Sprintf("%s escalated to step %d", t.who(), num(t.d, "step"))
		if r := repeat(t.d); r > 1 {
			s += fmt.Sprintf(" (round %d)", r)
		}
		return s + t.through()
	},
	"escalation.none": func(t *teller) string { return upper(t.reason(str(t.d, "reason"))) },
	"escalation.held": func(t *teller) string {
		return "Paging held until " + t.timeOf("until") + ": " + t.reason(str(t.d, "reason"))
	},
	"notification.sent": func(t *teller) string {
		s := fmt.Sprintf("Paged %s %s, delivered", t.user(str(t.d, "user")), t.method())
		if n := num(t.d, "bundled_with"); n > 0 {
			s += fmt.Sprintf(" (one message for %d incidents)", n+1)
		}
		return s
	},
	"notification.failed": func(t *teller) string {
		who := fmt.Sprintf("Paging %s %s", t.user(str(t.d, "user")), t.method())
		err := t.text(str(t.d, "error"))
		switch {
		case isSet(t.d, "permanent"):
			return who + " failed for good: " + err
		case num(t.d, "count") > 0:
			s := fmt.Sprintf("%s failed %d more times, the last at %s: %s", who, num(t.d, "count"), t.timeOf("last_at"), err)
			if at := t.timeOf("retry_at"); at != "" {
				s += "; trying again at " + at
			}
			return s
		}
		s := who + " failed: " + err
		if at := t.timeOf("retry_at"); at != "" {
			s += "; trying again at " + at
		}
		return s
	},
	"notification.held": func(t *teller) string {
		s := fmt.Sprintf("Page to %s %s held: %s", t.user(str(t.d, "user")), t.method(), t.reason(str(t.d, "reason")))
		if at := t.timeOf("send_at"); at != "" {
			s += "; it leaves at " + at
		}
		return s
	},
	"notification.dropped": func(t *teller) string {
		return fmt.Sprintf("Page to %s %s not sent: %s", t.user(str(t.d, "user")), t.method(), t.reason(str(t.d, "reason")))
	},
	"notification.deferred": func(t *teller) string {
		return fmt.Sprintf("Page to %s %s deferred to %s: %s", t.user(str(t.d, "user")), t.method(), t.timeOf("until"), t.reason(str(t.d, "reason")))
	},

	// status pages
	"status.update": func(t *teller) string {
		s := fmt.Sprintf("%s posted to status page %s", t.who(), t.page(str(t.d, "page")))
		if st := str(t.d, "status"); st != "" {
			s += " (" + t.text(st) + ")"
		}
		if isSet(t.d, "corrected") {
			s += ", correcting the earlier summary"
		}
		return s + ": " + t.text(str(t.d, "body"))
	},
	"status.update_due": func(t *teller) string {
		return fmt.Sprintf("Status page %s has had no update for %s", t.page(str(t.d, "page")), t.duration("cadence"))
	},
	"status.update_edited": func(t *teller) string {
		var parts []string
		if to := str(t.d, "to"); to != "" {
			parts = append(parts, "the text now reads: "+t.text(to))
		}
		if name := str(t.d, "name"); name != "" {
			parts = append(parts, "the title is now "+t.text(name))
		}
		if len(parts) == 0 {
			return t.who() + " edited a public update"
		}
		return t.who() + " edited a public update; " + strings.Join(parts, "; ")
	},
	"status.update_retracted": func(t *teller) string {
		return t.who() + " retracted a public update: " + t.text(str(t.d, "body"))
	},

	// changes
	"change": func(t *teller) string {
		by := str(t.d, "source")
		if by == "" {
			by = t.who()
		}
		if str(t.d, "kind") == "deploy" {
			// A deploy's summary often says "Deployed ..." or "Deploy ..." already: told once.
			name := t.changeName()
			for _, p := range []string{"Deployed ", "deployed ", "Deploy ", "deploy "} {
				name = strings.TrimPrefix(name, p)
			}
			return "Deploy " + name + " by " + t.text(by)
		}
		return "Change by " + t.text(by) + ": " + t.changeName()
	},
	"change.cause": func(t *teller) string {
		return fmt.Sprintf("%s named %s %s as the likely cause", t.who(), t.text(str(t.d, "kind")), t.changeName())
	},

	// postmortems and action items
	"postmortem.drafted": func(t *teller) string { return t.who() + " drafted the postmortem" },
	"postmortem.edited": func(t *teller) string {
		if secs := strs(t.d, "sections"); len(secs) > 0 {
			return t.who() + " edited the postmortem: " + t.text(strings.Join(secs, ", "))
		}
		return t.who() + " edited the postmortem"
	},
	"postmortem.published": func(t *teller) string {
		s := t.who() + " published the postmortem"
		if pages := strs(t.d, "pages"); len(pages) > 0 {
			names := make([]string, len(pages))
			for i, p := range pages {
				names[i] = t.page(p)
			}
			s += " to status page " + list(names)
		}
		return s
	},
	"action_item.created": func(t *teller) string {
		s := fmt.Sprintf("%s added action item %q", t.who(), t.text(str(t.d, "title")))
		if o := str(t.d, "owner"); o != "" {
			s += " for " + t.user(o)
		}
		if due := str(t.d, "due"); due != "" {
			s += ", due " + t.text(due)
		}
		return s
	},
	"action_item.updated": func(t *teller) string {
		var changed []string
		for k := range t.d {
			if k != "action_id" {
				changed = append(changed, k)
			}
		}
		sort.Strings(changed)
		s := fmt.Sprintf("%s updated action item %s", t.who(), str(t.d, "action_id"))
		if len(changed) > 0 {
			s += ": " + t.text(strings.Join(changed, ", "))
		}
		return s
	},
	"action_item.reminder": func(t *teller) string {
		s := fmt.Sprintf("Reminded %s of action item %q", t.user(str(t.d, "owner")), t.text(str(t.d, "title")))
		if str(t.d, "type") != "" || str(t.d, "method") != "" {
			s += " " + t.method()
		}
		return s
	},
	"action_item.reminder_failed": func(t *teller) string {
		return fmt.Sprintf("Could not remind %s of action item %q: %s", t.user(str(t.d, "owner")), t.text(str(t.d, "title")), t.text(str(t.d, "error")))
	},

	// drills
	"drill.detected":   func(t *teller) string { return t.text(str(t.d, "text")) },
	"drill.under_way":  func(t *teller) string { return t.text(str(t.d, "text")) },
	"drill.fault_lost": func(t *teller) string { return t.text(str(t.d, "text")) },
}

// state tells an incident's acknowledgement or resolution: a person's, with how they acted,
// or an integration's, with why.
func (t *teller) state(verb string) string {
	kind, _, _ := strings.Cut(t.e.Actor, ":")
	if kind == "user" || kind == "token" {
		return t.who() + " " + verb + " the incident" + t.through()
	}
	s := strings.ToUpper(verb[:1]) + verb[1:] + " by " + t.who()
	if r := str(t.d, "reason"); r != "" {
		s += ": " + t.text(r)
	}
	return s
}

// alertState tells an alert acknowledged or resolved, with its incident or by its sender.
func (t *teller) alertState(verb string) string {
	s := "Alert " + t.text(str(t.d, "dedup_key")) + " " + verb
	if r := str(t.d, "reason"); strings.HasPrefix(r, "incident ") {
		return s + " with the incident"
	}
	return s + " by " + t.who()
}

// change tells a level or urgency changed, by whom and why.
func (t *teller) change(what, from, to string) string {
	var s string
	kind, _, _ := strings.Cut(t.e.Actor, ":")
	by := ""
	if kind == "user" || kind == "token" {
		by = " by " + t.who()
	}
	if from == "" {
		s = fmt.Sprintf("The %s was set to %s%s", what, t.text(to), by)
	} else {
		s = fmt.Sprintf("The %s changed from %s to %s%s", what, t.text(from), t.text(to), by)
	}
	if r := str(t.d, "reason"); r != "" {
		s += ": " + t.text(r)
	}
	return s
}

// changeName is a change's summary, with its version when the summary does not say it.
func (t *teller) changeName() string {
	s := t.text(str(t.d, "summary"))
	if v := str(t.d, "version"); v != "" && !strings.Contains(s, v) {
		s += " " + t.text(v)
	}
	return s
}

// repeat is the round of an escalation entry as people count the policy's repeats: its
// "repeat"; for an entry written before entries said it, its "round" when that is one of the
// policy's own (rounds from 101 are internal, of a run started over), else 0.
func repeat(d map[string]any) int {
	if r := num(d, "repeat"); r > 0 {
		return r
	}
	if r := num(d, "round"); r <= 100 {
		return r
	}
	return 0
}
