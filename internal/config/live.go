package config

import (
	"sync"
	"sync/atomic"
)

// Live holds the config in force. Reload swaps it whole, so a reader sees the old config or the
// new one, never a mix, and a bad file changes nothing.
type Live struct {
	cur  atomic.Pointer[Config]
	mu   sync.Mutex
	subs []func(old, new *Config)
}

// NewLive holds c.
func NewLive(c *Config) *Live {
	l := &Live{}
	l.cur.Store(c)
	return l
}

// Get returns the config in force.
func (l *Live) Get() *Config { return l.cur.Load() }

// Subscribe registers f to run after every successful swap.
func (l *Live) Subscribe(f func(old, new *Config)) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.subs = append(l.subs, f)
}

// Reload loads path and swaps it in if it is valid; otherwise it returns the errors and keeps
// the config in force.
func (l *Live) Reload(path string) error {
	c, err := Load(path)
	if err != nil {
		return err
	}
	l.Swap(c)
	return nil
}

// Swap puts c in force and tells the subscribers.
func (l *Live) Swap(c *Config) {
	l.mu.Lock()
	defer l.mu.Unlock()
	old := l.cur.Swap(c)
	for _, f := range l.subs {
		f(old, c)
	}
}
