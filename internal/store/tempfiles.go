package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// A backup writes a full-size snapshot of the database into a temporary directory of the data
// directory, and its archive into a temporary file beside its target; a restore unpacks into
// a temporary directory too. Killed midway (kill -9, a reboot), they leave those behind, and a
// data directory would fill up with copies of the database. Each holds an exclusive flock on
// its temporary file or directory while it runs; what no process holds is stale, and the next
// backup, restore or start removes it.

// Patterns of the temporary directories backups and restores make in a data directory.
const (
	backupTemp  = ".backup-*"
	restoreTemp = ".restore-*"
)

// CreateHeldTemp makes a new temporary file in dir, named by pattern as os.CreateTemp names
// it, and holds an exclusive flock on it until the file is closed: RemoveStale leaves it
// alone meanwhile.
func CreateHeldTemp(dir, pattern string) (*os.File, error) { return holdTemp(dir, pattern, false) }

// holdTemp makes a temporary file or directory and locks it. Between its creation and the
// lock another process's RemoveStale may take it for stale and remove it: then it is made
// again.
func holdTemp(dir, pattern string, isDir bool) (*os.File, error) {
	for range 10 {
		var f *os.File
		var err error
		if isDir {
			var path string
			if path, err = os.MkdirTemp(dir, pattern); err == nil {
				if f, err = os.Open(path); err != nil {
					os.Remove(path)
				}
			}
		} else {
			f, err = os.CreateTemp(dir, pattern)
		}
		if err != nil {
			return nil, err
		}
		held, err := tryLock(f)
		if errors.Is(err, errNoFlock) {
			return f, nil // nothing removes it either
		}
		if err != nil {
			f.Close()
			return nil, err
		}
		if held {
			// Still there under its name, and ours now: nobody removes it until we close it.
			here, err1 := os.Stat(f.Name())
			ours, err2 := f.Stat()
			if err1 == nil && err2 == nil && os.SameFile(here, ours) {
				return f, nil
			}
		}
		f.Close()
	}
	return nil, fmt.Errorf("could not make a temporary file in %s: it was removed each time", dir)
}

// RemoveStale removes the entries of dir matching pattern that no process holds (see
// CreateHeldTemp): what a backup or a restore killed midway left. It returns what it removed.
func RemoveStale(dir, pattern string) ([]string, error) {
	matches, err := filepath.Glob(filepath.Join(dir, pattern))
	if err != nil {
		return nil, err
	}
	var removed []string
	var errs []error
	for _, path := range matches {
		f, err := os.Open(path)
		if err != nil {
			continue // gone meanwhile
		}
		if held, err := tryLock(f); err == nil && held {
			if err := os.RemoveAll(path); err != nil {
				errs = append(errs, err)
			} else {
				removed = append(removed, path)
			}
		}
		f.Close()
	}
	return removed, errors.Join(errs...)
}

// removeStaleTemps removes what interrupted backups and restores left in a data directory.
func removeStaleTemps(dir string) error {
	var errs []error
	for _, pattern := range []string{backupTemp, restoreTemp} {
		_, err := RemoveStale(dir, pattern)
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
