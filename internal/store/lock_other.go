//go:build !unix

package store

import (
	"errors"
	"os"
)

// LockFileName is the lock file of an SQLite data directory (unused where flock is missing).
const LockFileName = "nines.lock"

// lockDir does nothing where there is no flock: restore then cannot tell a live database.
func lockDir(dir string, exclusive bool) (*os.File, error) { return nil, nil }

// errNoFlock says the platform has no flock: temporary files are not held, and none is taken
// for stale.
var errNoFlock = errors.New("no flock on this platform")

func tryLock(f *os.File) (bool, error) { return false, errNoFlock }
