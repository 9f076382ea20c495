//go:build unix

package store

import "syscall"

// freeDisk is the space left to unprivileged writers on the file system holding dir.
func freeDisk(dir string) (int64, bool) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, false
	}
	return int64(st.Bavail) * int64(st.Bsize), true
}
