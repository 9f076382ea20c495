package config

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
)

// Limits on what the loader reads. A config is text written by people: a file larger than
// MaxFileSize, or files larger than MaxConfigSize together, are a mistake (a log, a dump, a
// symlink to the wrong place), and reading them would cost memory the paging needs.
const (
	MaxFileSize   = 8 << 20
	MaxConfigSize = 32 << 20
)

// readFile reads one config file: a regular file (or a symlink to one) of at most MaxFileSize
// bytes. It is opened without blocking, so a FIFO, a device or a socket that a symlink or a
// careless glob put in the config directory is refused at once instead of being read forever
// (/dev/zero) or waited on forever (a FIFO nobody writes), which would hang a reload and every
// reload after it.
func readFile(name string) ([]byte, error) {
	f, err := openNonBlocking(name)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, fmt.Errorf("cannot be opened: %v", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("cannot be read: %v", err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("not a regular file (%s); a config file is a regular file, or a symlink to one", fileKind(st.Mode()))
	}
	tooLarge := func(n int64) error {
		return fmt.Errorf("larger than 8 MiB (%d bytes or more); a config file is at most %d bytes", n, MaxFileSize)
	}
	if st.Size() > MaxFileSize {
		return nil, tooLarge(st.Size())
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("cannot be read: %v", err)
	}
	if len(data) > MaxFileSize { // it grew while being read
		return nil, tooLarge(int64(len(data)))
	}
	return data, nil
}

func fileKind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a FIFO"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a block device"
	}
	return "mode " + m.Type().String()
}
