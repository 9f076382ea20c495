package escalate

import (
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/nines-dev/nines/internal/config"
)

// window is one rate limit: at most count messages in any span of per.
type window struct {
	count int
	per   time.Duration
}

// defaultLimits are the rate limits of contact methods that declare none. A phone rings or
// buzzes at most once a minute and a few times a quarter of an hour (GoAlert's limits for
// alerts); mail and push allow a burst of five; chat rooms and webhooks, read by machines or
// by many, more. What goes over a limit is held and leaves as one message as soon as the
// window allows.
var defaultLimits = map[string][]window{
	config.ContactVoice:   {{1, time.Minute}, {3, 15 * time.Minute}},
	config.ContactSMS:     {{1, time.Minute}, {5, 15 * time.Minute}},
	config.ContactEmail:   {{5, time.Minute}, {30, time.Hour}},
	config.ContactPush:    {{5, time.Minute}, {30, time.Hour}},
	config.ContactSlack:   {{10, time.Minute}},
	config.ContactTeams:   {{10, time.Minute}},
	config.ContactWebhook: {{60, time.Minute}},
}

// rateLimits are the limits of a contact method: its own rate_limit, or its type's default.
func rateLimits(m *config.ContactMethod) []window {
	if r := m.RateLimit; r != nil {
		return []window{{r.Count, r.Per.D()}}
	}
	if w, ok := defaultLimits[m.Type]; ok {
		return w
	}
	return []window{{5, time.Minute}}
}

// describeLimits says the limits for a timeline: "1 per 1m and 3 per 15m".
func describeLimits(ws []window) string {
	parts := make([]string, len(ws))
	for i, w := range ws {
		d := w.per.String()
		if strings.HasSuffix(d, "m0s") {
			d = strings.TrimSuffix(d, "0s")
		}
		if strings.HasSuffix(d, "h0m") {
			d = strings.TrimSuffix(d, "0m")
		}
		parts[i] = fmt.Sprintf("%d per %s", w.count, d)
	}
	return strings.Join(parts, " and ")
}

// limiter counts messages per contact method over sliding windows. It is per process: on
// several nodes each counts the messages it sends; once anything is held for a contact method
// only the node draining its queue sends to it.
type limiter struct {
	mu   sync.Mutex
	sent map[string][]time.Time // ascending
}

// take counts one message now if every window has room; if not, it returns when one will.
func (l *limiter) take(key string, ws []window, now time.Time) (bool, time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	room, free := l.roomLocked(key, ws, now)
	if room == 0 {
		return false, free
	}
	ts := l.sent[key]
	i := sort.Search(len(ts), func(i int) bool { return ts[i].After(now) })
	ts = append(ts, time.Time{})
	copy(ts[i+1:], ts[i:])
	ts[i] = now
	l.sent[key] = ts
	return true, now
}

// room is how many messages fit now and, when none does, when one will.
func (l *limiter) room(key string, ws []window, now time.Time) (int, time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.roomLocked(key, ws, now)
}

func (l *limiter) roomLocked(key string, ws []window, now time.Time) (int, time.Time) {
	longest := time.Duration(0)
	for _, w := range ws {
		longest = max(longest, w.per)
	}
	ts := l.sent[key]
	ts = ts[sort.Search(len(ts), func(i int) bool { return now.Sub(ts[i]) < longest }):]
	if len(ts) == 0 {
		delete(l.sent, key)
	} else {
		l.sent[key] = ts
	}
	room, free := -1, time.Time{}
	for _, w := range ws {
		in := ts[sort.Search(len(ts), func(i int) bool { return now.Sub(ts[i]) < w.per }):]
		r := w.count - len(in)
		if r <= 0 {
			r = 0
			// The window has room again once its oldest messages leave it.
			if f := in[len(in)-w.count].Add(w.per); f.After(free) {
				free = f
			}
		}
		if room < 0 || r < room {
			room = r
		}
	}
	return max(room, 0), free
}

// release forgets a message counted at at that did not arrive.
func (l *limiter) release(key string, at time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	ts := l.sent[key]
	for i := len(ts) - 1; i >= 0; i-- {
		if ts[i].Equal(at) {
			l.sent[key] = append(ts[:i], ts[i+1:]...)
			return
		}
	}
}
