package auth

import (
	"sync"
	"time"

	"github.com/nines-dev/nines/internal/clock"
)

// LoginLimiter slows password guessing: after MaxFailures failed sign-ins for one username, or
// four times as many from one address, within Window, further attempts are refused until the
// oldest failure leaves the window. It is per process; with several nodes an attacker gets that
// many times the budget, which still keeps online guessing hopeless against a 10-character
// password.
type LoginLimiter struct {
	clock clock.Clock
	mu    sync.Mutex
	fails map[string][]time.Time
}

// Login limits.
const (
	MaxFailures = 5
	Window      = 15 * time.Minute
)

// NewLoginLimiter returns an empty limiter.
func NewLoginLimiter(c clock.Clock) *LoginLimiter {
	return &LoginLimiter{clock: c, fails: map[string][]time.Time{}}
}

// Allow reports whether a sign-in for username from remote may be tried now; if not, it says
// how long to wait.
func (l *LoginLimiter) Allow(username, remote string) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.clock.Now()
	var wait time.Duration
	for key, max := range map[string]int{"u:" + username: MaxFailures, "a:" + remote: 4 * MaxFailures} {
		f := l.recent(key, now)
		if len(f) >= max {
			if w := f[len(f)-max].Add(Window).Sub(now); w > wait {
				wait = w
			}
		}
	}
	return wait == 0, wait
}

// Fail records a failed sign-in.
func (l *LoginLimiter) Fail(username, remote string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.clock.Now()
	for _, key := range []string{"u:" + username, "a:" + remote} {
		l.fails[key] = append(l.recent(key, now), now)
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

// Succeed forgets the username's failures, so a user who finally typed it right is not locked out.
func (l *LoginLimiter) Succeed(username string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.fails, "u:"+username)
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
