package auth

import (
	"sync"
	"time"

	"github.com/nines-dev/nines/internal/clock"
)

// LoginLimiter slows password guessing without handing an attacker a way to lock people out.
// Failed sign-ins are counted within Window under several keys, and an attempt is refused
// (429) while any of its counts is full:
//
//   - per account and client (MaxFailures): one client guessing one account;
//   - per account (AccountFailures): many clients guessing one account;
//   - per client (ClientFailures): one client trying a few passwords on many accounts.
//
// A browser that has signed in to an account before carries a device cookie for it; its
// attempts at that account count only against that device (MaxFailures), so neither a flood of
// guesses at the account from elsewhere nor guessing at other accounts from the same address
// (an office behind one NAT) locks its owner out.
//
// An attempt is counted before its password is checked (Begin), so a burst of concurrent
// guesses gets no more checks than the limit. It is per process; with several nodes an
// attacker gets that many times the budget, which still keeps online guessing hopeless against
// a 10-character password that is not on the common-password list.
type LoginLimiter struct {
	clock clock.Clock
	mu    sync.Mutex
	fails map[string][]time.Time
}

// Login limits.
const (
	MaxFailures     = 5
	AccountFailures = 4 * MaxFailures
	ClientFailures  = 10 * MaxFailures
	Window          = 15 * time.Minute
)

// NewLoginLimiter returns an empty limiter.
func NewLoginLimiter(c clock.Clock) *LoginLimiter {
	return &LoginLimiter{clock: c, fails: map[string][]time.Time{}}
}

type limit struct {
	key string
	max int
}

// Attempt is a sign-in being checked. It already counts as a failure; Succeeded or Cancel take
// that back.
type Attempt struct {
	l      *LoginLimiter
	limits []limit
	at     time.Time
	done   bool
}

// Begin counts a sign-in for username from client (an address) before its password is
// checked. device is the id of the browser's device cookie when it is valid for username, else
// empty. When a limit is full it returns nil and how long to wait.
func (l *LoginLimiter) Begin(username, client, device string) (*Attempt, time.Duration) {
	limits := []limit{{"p:" + username + "\x00" + client, MaxFailures}, {"u:" + username, AccountFailures}, {"a:" + client, ClientFailures}}
	if device != "" {
		limits = []limit{{"d:" + device, MaxFailures}}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.clock.Now()
	if wait := l.wait(limits, now); wait > 0 {
		return nil, wait
	}
	l.add(limits, now)
	return &Attempt{l: l, limits: limits, at: now}, 0
}

// Failed keeps the attempt counted.
func (a *Attempt) Failed() { a.done = true }

// Cancel takes the attempt back: its password was never checked.
func (a *Attempt) Cancel() {
	if a.done {
		return
	}
	a.done = true
	a.l.mu.Lock()
	defer a.l.mu.Unlock()
	for _, lm := range a.limits {
		f := a.l.fails[lm.key]
		for i := len(f) - 1; i >= 0; i-- {
			if f[i].Equal(a.at) {
				a.l.fails[lm.key] = append(f[:i:i], f[i+1:]...)
				break
			}
		}
		if len(a.l.fails[lm.key]) == 0 {
			delete(a.l.fails, lm.key)
		}
	}
}

// Succeeded forgets the failures of this account from this client or device, so a user who
// finally typed it right is not held back by their own typos. The account's count from other
// clients stays: someone else's guessing is not undone by the owner signing in.
func (a *Attempt) Succeeded() {
	a.Cancel()
	a.l.mu.Lock()
	defer a.l.mu.Unlock()
	for _, lm := range a.limits {
		if lm.key[0] == 'p' || lm.key[0] == 'd' {
			delete(a.l.fails, lm.key)
		}
	}
}

// Allow reports whether one more request for name from remote may go ahead: at most
// MaxFailures counted for one name and four times as many from one address within Window. It
// and Fail bound things other than sign-ins, such as confirmation mail to one address.
func (l *LoginLimiter) Allow(name, remote string) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	wait := l.wait([]limit{{"u:" + name, MaxFailures}, {"a:" + remote, 4 * MaxFailures}}, l.clock.Now())
	return wait == 0, wait
}

// Fail counts a request for name from remote.
func (l *LoginLimiter) Fail(name, remote string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.add([]limit{{"u:" + name, 0}, {"a:" + remote, 0}}, l.clock.Now())
}

// wait is how long until every limit has room, 0 when they have now.
func (l *LoginLimiter) wait(limits []limit, now time.Time) time.Duration {
	var wait time.Duration
	for _, lm := range limits {
		f := l.recent(lm.key, now)
		if len(f) >= lm.max {
			if w := f[len(f)-lm.max].Add(Window).Sub(now); w > wait {
				wait = w
			}
		}
	}
	return wait
}

func (l *LoginLimiter) add(limits []limit, now time.Time) {
	for _, lm := range limits {
		l.fails[lm.key] = append(l.recent(lm.key, now), now)
	}
	if len(l.fails) > 100_000 {
		// A flood of distinct keys: forget the idle ones rather than grow without bound.
		for k := range l.fails {
			if len(l.recent(k, now)) == 0 {
				delete(l.fails, k)
			}
		}
	}
}

func (l *LoginLimiter) recent(key string, now time.Time) []time.Time {
	f := l.fails[key]
	i := 0
	for i < len(f) && now.Sub(f[i]) >= Window {
		i++
	}
	f = f[i:]
	if len(f) == 0 {
		delete(l.fails, key)
	} else {
		l.fails[key] = f
	}
	return f
}
