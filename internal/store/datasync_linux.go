package store

import (
	"os"
	"syscall"
)

// datasync flushes a file's data and the metadata needed to read it back, as SQLite does
// (fdatasync): not its modification time, which would cost a journal commit per flush.
func datasync(f *os.File) error { return syscall.Fdatasync(int(f.Fd())) }
