//go:build unix

package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// LockFileName is the file in an SQLite data directory that every nines process using the
// database holds a shared lock on, so that a restore can tell a live database from a copy.
const LockFileName = "nines.lock"

// lockDir takes a lock on dir's lock file: shared by every process that opens the database,
// exclusive for a restore. It does not wait: a lock held the other way is an error.
func lockDir(dir string, exclusive bool) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, LockFileName), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("data directory lock: %w", err)
	}
	how := syscall.LOCK_SH
	if exclusive {
		how = syscall.LOCK_EX
	}
	if err := syscall.Flock(int(f.Fd()), how|syscall.LOCK_NB); err != nil {
		f.Close()
		if exclusive {
			return nil, fmt.Errorf("the database in %s is in use by a running nines (or another nines command): stop it first", dir)
		}
		return nil, fmt.Errorf("the database in %s is being restored: wait for nines restore to finish", dir)
	}
	return f, nil
}

// errNoFlock says the platform has no flock (never on unix).
var errNoFlock = errors.New("no flock on this platform")

// tryLock takes an exclusive flock on f without waiting; false when another process holds one.
func tryLock(f *os.File) (bool, error) {
	err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		return false, nil
	}
	return err == nil, err
}
