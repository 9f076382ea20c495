// Command nines is the whole of nines: the server (serve), its tools (validate, migrate, token)
// and a client for a running server (incidents, ack, resolve, note, event).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// command is one subcommand.
type command struct {
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

// commands is every subcommand; each lives in the file of its name.
func commands() map[string]command {
	return map[string]command{
		"serve":     {"run the server", runServe},
		"validate":  {"check a config and print every error as file:line:col", runValidate},
		"migrate":   {"bring the database schema up to date", runMigrate},
		"version":   {"print the version", runVersion},
		"token":     {"create, list and revoke API tokens (works offline)", runToken},
		"incidents": {"list incidents of a running server", runIncidents},
		"ack":       {"acknowledge an incident", runAck},
		"resolve":   {"resolve an incident", runResolve},
		"note":      {"add a note to an incident's timeline", runNote},
		"event":     {"send an Events API v2 event (trigger, ack, resolve)", runEvent},

		// on-call (schedules, escalation, notifications)
		"oncall": {"who is on call, and overrides (add, list, delete)", runOnCall},

		// monitors (probes, heartbeats)
		"monitors": {"list monitors of a running server and their status", runMonitors},
		"agent":    {"run probes from another location and report to a server", runAgent},

		// SLOs
		"slo":    {"export SLOs as Prometheus rules, or show their error budgets", runSLO},
		"gate":   {"release gate: exit 0 to ship, 1 to slow down (error budget spent)", runGate},
		"report": {"reports: sla (availability against the SLA), oncall (load and time off owed)", runReport},

		// web accounts, status pages
		"user": {"create users, set passwords, disable and list them (works offline)", runUser},

		// response (changes, postmortems, action items)
		"declare":    {"declare an incident by hand", runDeclare},
		"deploy":     {"record a deploy of a service (for pipelines)", runDeploy},
		"postmortem": {"draft, show or add action items to an incident's postmortem", runPostmortem},
	}
}

// exitError carries an exit code other than 1.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit %d", e.code) }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cmds := commands()
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stderr, cmds)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	c, ok := cmds[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "nines: unknown command %q\n\n", args[0])
		usage(stderr, cmds)
		return 2
	}
	err := c.run(ctx, args[1:], stdout, stderr)
	var ee exitError
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &ee):
		return ee.code
	}
	fmt.Fprintf(stderr, "nines %s: %v\n", args[0], err)
	return 1
}

func usage(w io.Writer, cmds map[string]command) {
	fmt.Fprintln(w, "usage: nines <command> [flags]\n\ncommands:")
	names := make([]string, 0, len(cmds))
	for n := range cmds {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-10s %s\n", n, cmds[n].summary)
	}
	fmt.Fprintln(w, "\nRun 'nines <command> -h' for its flags.")
}

func runVersion(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fmt.Fprintln(stdout, "nines", version)
	return nil
}

// newFlags makes a flag set that reports errors instead of exiting.
func newFlags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("nines "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}
