// Package timeline tells an incident's timeline in plain sentences, as people read it at 3 AM
// ("Paged Carol by SMS, delivered", "Bob acknowledged from the link in a page"): one sentence
// per entry, names resolved from the config, times written by the caller in the viewer's zone,
// and consecutive repeats told once ("Alert db/pool repeated 14 times, the last at 02:17").
//
// It reads the entries every part of nines writes, by their type names; it imports none of
// those parts, so any of them (the incident page, postmortem drafts, the API) may use it.
package timeline

import (
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/nines-dev/nines/internal/config"
	"github.com/nines-dev/nines/internal/incident"
)

// Options say how names and times are written.
type Options struct {
	// Config names users, services, status pages and contact methods; nil shows their ids.
	Config *config.Config
	// Time writes an instant for the viewer (in their zone); by default "2006-01-02 15:04 UTC".
	Time func(time.Time) string
}

// Line is one line of a told timeline: an entry, or a run of consecutive entries that repeat
// one another (Count of them, from At to Last).
type Line struct {
	Type  string
	At    time.Time
	Last  time.Time
	Count int
	Text  string
}

// Sentence is the entry told in one plain sentence. An entry of a type nines does not know
// still reads as a sentence: who, and what its type says.
func Sentence(e incident.Event, o Options) string {
	t := teller{o: o, e: e}
	json.Unmarshal(e.Data, &t.d)
	if f, ok := sentences[e.Type]; ok {
		if s := f(&t); s != "" {
			return finish(s)
		}
	}
	return finish(t.generic())
}

// Lines tells a timeline, oldest first as given, folding consecutive entries that repeat one
// another into one line: bursts of one alert's repeats (their counts added up), failures and
// holds of pages to one contact method, overdue status page reminders, action item reminders.
func Lines(events []incident.Event, o Options) []Line {
	var out []Line
	for i := 0; i < len(events); {
		e := events[i]
		key, ok := repeatKey(e)
		j := i + 1
		for ok && j < len(events) {
			if k, ok2 := repeatKey(events[j]); !ok2 || k != key {
				break
			}
			j++
		}
		if j-i == 1 {
			out = append(out, Line{Type: e.Type, At: e.At, Last: e.At, Count: 1, Text: Sentence(e, o)})
		} else {
			out = append(out, folded(events[i:j], o))
		}
		i = j
	}
	return out
}

// repeatKey says which entries fold together: the same type about the same thing.
func repeatKey(e incident.Event) (string, bool) {
	var d map[string]any
	json.Unmarshal(e.Data, &d)
	switch e.Type {
	case "alert.repeated":
		return e.Type + "\x00" + str(d, "dedup_key"), true
	case "notification.failed", "notification.held", "notification.deferred", "notification.dropped":
		return e.Type + "\x00" + str(d, "user") + "\x00" + str(d, "method"), true
	case "status.update_due":
		return e.Type + "\x00" + str(d, "page"), true
	case "action_item.reminder", "action_item.reminder_failed":
		return e.Type + "\x00" + str(d, "action_id"), true
	}
	return "", false
}

// folded tells a run of repeating entries once.
func folded(run []incident.Event, o Options) Line {
	first, last := run[0], run[len(run)-1]
	l := Line{Type: first.Type, At: first.At, Last: last.At, Count: len(run)}
	t := teller{o: o, e: last}
	json.Unmarshal(last.Data, &t.d)
	switch first.Type {
	case "alert.repeated":
		n := 0
		lastAt := last.At
		for _, e := range run {
			var d struct {
				Count  int       `json:"count"`
				LastAt time.Time `json:"last_at"`
			}
			json.Unmarshal(e.Data, &d)
			n += max(d.Count, 1)
			if !d.LastAt.IsZero() {
				lastAt = d.LastAt
			}
		}
		l.Last = lastAt
		l.Text = fmt.Sprintf("Alert %s repeated %d times, the last at %s", t.quote(str(t.d, "dedup_key")), n, t.time(lastAt))
	case "notification.failed":
		lastAt := t.timeOf("last_at")
		if lastAt == "" {
			lastAt = t.time(last.At)
		}
		l.Text = fmt.Sprintf("Paging %s %s failed %d times, the last at %s: %s", t.user(str(t.d, "user")), t.method(), tries(run), lastAt, t.text(str(t.d, "error")))
	default:
		l.Text = strings.TrimSuffix(Sentence(last, o), ".") + fmt.Sprintf(" (%d times, the last at %s)", len(run), t.time(last.At))
	}
	l.Text = finish(l.Text)
	return l
}

// tries counts the attempts a run of failure entries stands for (an entry that counts its own
// repeats stands for that many).
func tries(run []incident.Event) int {
	n := 0
	for _, e := range run {
		var d struct {
			Count int `json:"count"`
		}
		json.Unmarshal(e.Data, &d)
		n += max(d.Count, 1)
	}
	return n
}

// teller tells one entry.
type teller struct {
	o Options
	e incident.Event
	d map[string]any
}

func (t *teller) time(at time.Time) string {
	if t.o.Time != nil {
		return t.o.Time(at)
	}
	return at.UTC().Format("2006-01-02 15:04 UTC")
}

// timeOf is an instant the entry's data holds, written for the viewer; "" when absent.
func (t *teller) timeOf(key string) string {
	s := str(t.d, key)
	if s == "" {
		return ""
	}
	at, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return t.text(s)
	}
	return t.time(at)
}

// duration is a duration the data holds as Go writes it ("30m0s"), the way people write it
// ("30m").
func (t *teller) duration(key string) string {
	s := str(t.d, key)
	if d, err := time.ParseDuration(s); err == nil && d > 0 {
		s = d.String()
		if strings.HasSuffix(s, "m0s") {
			s = strings.TrimSuffix(s, "0s")
		}
		if strings.HasSuffix(s, "h0m") {
			s = strings.TrimSuffix(s, "0m")
		}
	}
	return t.text(s)
}

// upper makes the first letter of s upper case (a reason recorded as a clause, told alone).
func upper(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	if r >= 'a' && r <= 'z' {
		return string(r-'a'+'A') + s[n:]
	}
	return s
}

// maxText bounds text quoted from an entry (a note, an error, a summary).
const maxText = 300

// text is what an entry quotes, on one line and bounded.
func (t *teller) text(s string) string {
	s = strings.Join(strings.Fields(strings.ToValidUTF8(s, "\uFFFD")), " ")
	if utf8.RuneCountInString(s) > maxText {
		r := []rune(s)
		s = string(r[:maxText-1]) + "…"
	}
	return s
}

func (t *teller) quote(s string) string { return t.text(s) }

// instant is an RFC 3339 instant as nines writes it into the reasons it records.
var instant = regexp.MustCompile(`\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})`)

// reason is a reason nines recorded ("schedule night has nobody on call at
// 2026-03-30T07:30:00Z"), with the instants in it told as every other time is (the viewer's
// zone on a page).
func (t *teller) reason(s string) string {
	return t.text(instant.ReplaceAllStringFunc(s, func(m string) string {
		at, err := time.Parse(time.RFC3339Nano, m)
		if err != nil {
			return m
		}
		return t.time(at)
	}))
}

// who is the entry's actor as a person reads it: a user's name, a token's name, the
// integration that sent the event, or nines.
func (t *teller) who() string { return t.actor(t.e.Actor) }

func (t *teller) actor(a string) string {
	kind, name, ok := strings.Cut(a, ":")
	if !ok {
		if a == "" {
			return "Someone"
		}
		return t.text(a)
	}
	switch kind {
	case "user":
		return t.user(name)
	case "token":
		return t.text(name)
	case "integration":
		if s := integration(name); s != "" {
			return s
		}
		return t.text(name)
	case "nines":
		return "nines"
	}
	return t.text(a)
}

// integration names an alert source nines knows; "" for any other.
func integration(name string) string {
	switch name {
	case "events_v2":
		return "Events API v2"
	case "alertmanager":
		return "Alertmanager"
	case "generic":
		return "the generic webhook"
	case "email":
		return "an email alert"
	case "monitor":
		return "a monitor"
	case "slo":
		return "an SLO burn alert"
	case "change_events":
		return "Change Events"
	case "drill":
		return "a drill"
	}
	return ""
}

// user is a user's display name from the config, else their id.
func (t *teller) user(id string) string {
	if id == "" {
		return "someone"
	}
	if t.o.Config != nil {
		if u := t.o.Config.User(id); u != nil && u.Name != "" {
			return t.text(u.Name)
		}
	}
	return t.text(id)
}

func (t *teller) users(key string) string {
	ids := strs(t.d, key)
	names := make([]string, len(ids))
	for i, id := range ids {
		names[i] = t.user(id)
	}
	return list(names)
}

// list joins names as a sentence does: "Alice", "Alice and Bob", "Alice, Bob and Carol".
func list(names []string) string {
	switch len(names) {
	case 0:
		return "nobody"
	case 1:
		return names[0]
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}

// through says how a person acted: from the link in a page, the API, the CLI, the web app.
func (t *teller) through() string {
	switch t.e.Source {
	case "link":
		return " from the link in a page"
	case "api":
		return " through the API"
	case "cli":
		return " from the CLI"
	case "web":
		return " in the web app"
	case "slack":
		return " from Slack"
	case "":
		return ""
	}
	return " through " + t.text(t.e.Source)
}

// method is how a page reached its person: "by SMS", "on Slack".
func (t *teller) method() string {
	typ := str(t.d, "type")
	if typ == "" && t.o.Config != nil {
		if u := t.o.Config.User(str(t.d, "user")); u != nil {
			for _, m := range u.ContactMethods {
				if m.ID == str(t.d, "method") {
					typ = m.Type
				}
			}
		}
	}
	switch typ {
	case config.ContactEmail:
		return "by email"
	case config.ContactSMS:
		return "by SMS"
	case config.ContactVoice:
		return "by phone call"
	case config.ContactPush:
		return "by push notification"
	case config.ContactSlack:
		return "on Slack"
	case config.ContactTeams:
		return "on Teams"
	case config.ContactWebhook:
		return "by webhook"
	}
	if m := str(t.d, "method"); m != "" {
		return "by " + t.text(m)
	}
	return "by their contact method"
}

func (t *teller) service(id string) string {
	if t.o.Config != nil {
		if s := t.o.Config.Service(id); s != nil && s.Name != "" {
			return t.text(s.Name)
		}
	}
	return t.text(id)
}

func (t *teller) page(id string) string {
	if t.o.Config != nil {
		if p := t.o.Config.StatusPage(id); p != nil && p.Title != "" {
			return t.text(p.Title)
		}
	}
	return t.text(id)
}

// generic is the sentence of an entry of a type nines does not know: who, and its type in
// words ("Alice: runbook opened").
func (t *teller) generic() string {
	what := strings.NewReplacer(".", " ", "_", " ").Replace(t.text(t.e.Type))
	if what == "" {
		what = "an event"
	}
	if s := str(t.d, "text"); s != "" {
		return fmt.Sprintf("%s: %s: %s", t.who(), what, t.text(s))
	}
	return fmt.Sprintf("%s: %s", t.who(), what)
}

// finish ends s as a sentence, with a full stop. Its first letter is left as written: a
// sentence may start with a name ("ci deployed ...").
func finish(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return s
	}
	if !strings.HasSuffix(s, ".") && !strings.HasSuffix(s, "!") && !strings.HasSuffix(s, "?") && !strings.HasSuffix(s, "…") {
		s += "."
	}
	return s
}

// str reads a string (or a number, as written) from an entry's data.
func str(d map[string]any, key string) string {
	switch v := d[key].(type) {
	case string:
		return v
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case bool:
		return fmt.Sprint(v)
	}
	return ""
}

func num(d map[string]any, key string) int {
	v, _ := d[key].(float64)
	return int(v)
}

func isSet(d map[string]any, key string) bool {
	v, _ := d[key].(bool)
	return v
}

func strs(d map[string]any, key string) []string {
	items, _ := d[key].([]any)
	out := make([]string, 0, len(items))
	for _, it := range items {
		if s, ok := it.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// Types lists the entry types Sentence tells in their own words, sorted.
func Types() []string {
	out := make([]string, 0, len(sentences))
	for k := range sentences {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
