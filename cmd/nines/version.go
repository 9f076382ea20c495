package main

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	_ "time/tzdata" // schedules name time zones; a container without /usr/share/zoneinfo still knows them
)

// version and commit are stamped at build time (scripts/release):
//
//	go build -ldflags "-X main.version=v1.2.3 -X main.commit=$(git rev-parse HEAD)"
//
// A plain `go build` in a checkout leaves version "dev" and takes the commit from the VCS
// information Go records in the binary.
var (
	version = "dev"
	commit  = ""
)

// buildCommit is the commit the binary was built from, "unknown" when nobody said, with
// "-dirty" when built from a tree with uncommitted changes.
func buildCommit() string {
	if commit != "" {
		return commit
	}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	rev, dirty := "", false
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if rev == "" {
		return "unknown"
	}
	if dirty {
		rev += "-dirty"
	}
	return rev
}

func runVersion(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("version", stderr)
	if err := fs.Parse(args); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "nines %s\ncommit %s\nbuilt with %s for %s/%s\n", version, buildCommit(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return nil
}
