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
	"reflect"
	"regexp"
	"sort"
	"strings"
	"syscall"

	// OpenSLO documents among the config's files are read by their own package.
	_ "github.com/nines-dev/nines/internal/slo/openslo"
)

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
		"export":    {"print the config objects made in the web app or the API as YAML, to move into the config's files", runExport},
		"migrate":   {"bring the database schema up to date (--dry-run: list what would run)", runMigrate},
		"backup":    {"write a consistent snapshot of the embedded database and its key file, while nines runs", runBackup},
		"restore":   {"restore a backup into a data directory no nines is using", runRestore},
		"version":   {"print the version and the commit it was built from", runVersion},
		"health":    {"exit 0 when a running nines is ready (for container and service health checks)", runHealth},
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
		"user":        {"create users, set passwords, disable and list them (works offline)", runUser},
		"maintenance": {"list, schedule, edit and cancel maintenance windows", runMaintenance},

		// declaring incidents, deploys, postmortems
		"declare":    {"declare an incident by hand", runDeclare},
		"deploy":     {"record a deploy of a service (for pipelines)", runDeploy},
		"postmortem": {"draft, show or add action items to an incident's postmortem", runPostmortem},

		// readiness scorecards, chaos drills
		"readiness": {"production readiness gate: exit 0 when every check passes, 1 when not", runReadiness},
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

// newFlags makes a flag set that reports errors instead of exiting, and whose help never shows
// a default taken from the environment (see printDefaults).
func newFlags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("nines "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage of %s:\n", fs.Name())
		printDefaults(fs)
	}
	return fs
}

// envNamed finds the environment variables a flag's usage says it reads: "(env NINES_TOKEN)".
var envNamed = regexp.MustCompile(`\benv ([A-Z][A-Z0-9_]*)`)

// printDefaults prints the flags as flag.PrintDefaults does, except that a default read from
// an environment variable the usage names is shown as "set from NAME", never as its value:
// tokens, routing keys and database URLs with passwords come from there, and help output
// ends up in terminals, screenshots and tickets.
func printDefaults(fs *flag.FlagSet) {
	w := fs.Output()
	fs.VisitAll(func(f *flag.Flag) {
		typ, usage := flag.UnquoteUsage(f)
		line := "  -" + f.Name
		if typ != "" {
			line += " " + typ
		}
		if len(line) <= 4 { // a one-letter boolean fits on the line, as flag does it
			line += "\t"
		} else {
			line += "\n    \t"
		}
		line += strings.ReplaceAll(usage, "\n", "\n    \t")
		switch from := envSource(f); {
		case from != "":
			line += " (default: set from " + from + ")"
		case !isZeroValue(f):
			if typ == "string" {
				line += fmt.Sprintf(" (default %q)", f.DefValue)
			} else {
				line += fmt.Sprintf(" (default %v)", f.DefValue)
			}
		}
		fmt.Fprintln(w, line)
	})
}

// isZeroValue reports whether a flag's default is its type's zero value, which flag's own help
// leaves out too.
func isZeroValue(f *flag.Flag) (zero bool) {
	defer func() {
		if recover() != nil {
			zero = false
		}
	}()
	typ := reflect.TypeOf(f.Value)
	var z reflect.Value
	if typ.Kind() == reflect.Pointer {
		z = reflect.New(typ.Elem())
	} else {
		z = reflect.Zero(typ)
	}
	return f.DefValue == z.Interface().(flag.Value).String()
}

// envSource is the environment variable a flag's default was read from, if any.
func envSource(f *flag.Flag) string {
	if f.DefValue == "" {
		return ""
	}
	for _, m := range envNamed.FindAllStringSubmatch(f.Usage, -1) {
		if v := os.Getenv(m[1]); v != "" && v == f.DefValue {
			return m[1]
		}
	}
	return ""
}
