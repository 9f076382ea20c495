package config

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
)

// Live holds the config in force: the declared files with the database's objects merged in
// (Object). Reload swaps the files, SetObjects the objects; either checks the whole config
// first and swaps it whole, so a reader sees the old config or the new one, never a mix, and a
// bad file or object changes nothing.
type Live struct {
	cur  atomic.Pointer[Config]
	mu   sync.Mutex
	subs []func(old, new *Config)
	// declared is the files' config without objects; path is where they are read from, when
	// nines was started on files (SetPath).
	declared *Config
	path     string
	own      func(*User) *User
}

// NewLive holds c.
func NewLive(c *Config) *Live {
	l := &Live{declared: c}
	l.cur.Store(c)
	return l
}

// Get returns the config in force.
func (l *Live) Get() *Config { return l.cur.Load() }

// SetPath says where the config's files are, for ReloadFiles.
func (l *Live) SetPath(path string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.path = path
}

// ErrNoPath is what ReloadFiles returns when nines was not started on a config file.
var ErrNoPath = errors.New("nines was not started on a config file, so there is none to reload")

// ReloadFiles loads the files again from where SetPath says they are.
func (l *Live) ReloadFiles() error {
	l.mu.Lock()
	path := l.path
	l.mu.Unlock()
	if path == "" {
		return ErrNoPath
	}
	return l.Reload(path)
}

// Subscribe registers f to run after every successful swap.
func (l *Live) Subscribe(f func(old, new *Config)) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.subs = append(l.subs, f)
}

// Reload loads path and, merged with the objects in force, swaps it in if it is valid;
// otherwise it returns the errors and keeps the config in force. It never panics: a failure of
// the loader is an error at its position, and one of a subscriber puts the old config back.
func (l *Live) Reload(path string) error {
	// The files are checked with the objects in force, which they may name.
	c, errs, err := read(path)
	if err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	c.own = l.own
	objs := l.cur.Load().Objects()
	if len(errs) > 0 {
		// What could not be decoded, with what the checks say of the rest (as Load reports).
		_, err := c.check(&errs)
		return err
	}
	merged, err := c.With(objs)
	if err != nil {
		return err
	}
	if err := l.swap(merged); err != nil {
		return err
	}
	l.declared = c
	return nil
}

// Own returns how the checks complete a person with their profile's methods (nil: not told).
func (l *Live) Own() func(*User) *User {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.own
}

// CheckOwn checks the config in force as if people's profiles were what own says: whether a
// change of someone's own contact methods leaves every policy able to reach someone.
func (l *Live) CheckOwn(own func(*User) *User) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	d := *l.declared
	d.own, d.ownSeen, d.checked = own, nil, false
	_, err := d.With(l.cur.Load().Objects())
	return err
}

// SetOwnMethods tells the checks of who can be reached how to complete a person with the
// contact methods and rules they verified on their own profile (people made in nines have
// only those). It applies to every check from now on: the files' and the objects'.
func (l *Live) SetOwnMethods(own func(*User) *User) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.own = own
	l.declared.own = own
}

// Check returns the config the files in force would make with objs in place of the objects in
// force, checked whole, without putting it in force.
func (l *Live) Check(objs []Object) (*Config, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.declared.With(objs)
}

// SetObjects puts in force the files in force merged with objs, if that config is valid.
func (l *Live) SetObjects(objs []Object) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	merged, err := l.declared.With(objs)
	if err != nil {
		return err
	}
	return l.swap(merged)
}

// Swap puts c in force and tells the subscribers. If one of them fails (panics), the old config
// is put back, the subscribers are told so, and the failure is returned. c's own files become
// the files in force.
func (l *Live) Swap(c *Config) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if c.own == nil {
		c.own = l.own
	}
	if err := l.swap(c); err != nil {
		return err
	}
	l.declared = c
	return nil
}

func (l *Live) swap(c *Config) error {
	old := l.cur.Swap(c)
	if err := l.notify(old, c); err != nil {
		l.cur.Store(old)
		if again := l.notify(c, old); again != nil {
			return fmt.Errorf("%w; putting the old config back: %w", err, again)
		}
		return err
	}
	return nil
}

func (l *Live) notify(old, c *Config) (err error) {
	for _, f := range l.subs {
		func() {
			defer func() {
				if r := recover(); r != nil && err == nil {
					err = fmt.Errorf("applying the config failed (internal error: %v); the config in force is unchanged", r)
				}
			}()
			f(old, c)
		}()
	}
	return err
}
