package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	osuser "os/user"
	"strings"

	"golang.org/x/term"

	"github.com/nines-dev/nines/internal/auth"
	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/internal/config"
)

// runUser manages local accounts directly in the database, so the first admin can be made
// before anyone can sign in, and a locked-out admin can set a new password.
func runUser(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: nines user create|passwd|disable|list [flags]")
		return exitError{2}
	}
	sub, args := args[0], args[1:]
	fs := newFlags("user "+sub, stderr)
	var d dbFlags
	d.register(fs)
	d.registerInit(fs)
	username := fs.String("username", "", "login name: lower-case letters, digits, '-', '_', '.', '@'")
	name := fs.String("name", "", "display name (default: the username)")
	role := fs.String("role", "viewer", "role: viewer, responder, manager or admin")
	teams := fs.String("teams", "", "comma-separated teams the user acts for (default: all)")
	passwordStdin := fs.Bool("password-stdin", false, "read the password from the first line of standard input instead of prompting")
	asJSON := fs.Bool("json", false, "print JSON")
	cfgPath := fs.String("config", envOr("NINES_CONFIG", ""), "create: the config; a person declared under users: with this username gives the account its name")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if sub == "create" && *cfgPath != "" && *name == "" {
		cfg, err := config.Load(*cfgPath)
		if err != nil {
			return fmt.Errorf("config is invalid:\n%w", err)
		}
		if p := cfg.User(*username); p != nil {
			*name = p.Name
		}
	}
	log, _ := newLogger(stderr, "text", "warn")
	var audit *auth.Audit
	open := func() (*auth.Users, func(), error) {
		db, err := d.openOffline(ctx, log, stderr)
		if err != nil {
			return nil, nil, err
		}
		audit = auth.NewAudit(db, clock.Real{})
		return auth.NewUsers(db, clock.Real{}), func() { db.Close() }, nil
	}
	// record puts an offline change in the audit log beside the changes made over HTTP.
	record := func(action string) error {
		who := "cli"
		if u, err := osuser.Current(); err == nil {
			who = "cli:" + u.Username
		}
		host, _ := os.Hostname()
		return audit.Record(ctx, auth.Entry{Actor: who, Action: "nines user " + action, Target: *username, Remote: host})
	}
	switch sub {
	case "create", "passwd":
		if *username == "" {
			return errors.New("--username is required")
		}
		r, err := auth.PersonRole(*role)
		if err != nil {
			return err
		}
		tl, err := teamsFlag(fs, *teams)
		if err != nil {
			return err
		}
		password, err := readPassword(*passwordStdin, stderr)
		if err != nil {
			return err
		}
		if err := auth.CheckPassword(password); err != nil {
			return err
		}
		users, done, err := open()
		if err != nil {
			return err
		}
		defer done()
		if sub == "passwd" {
			if err := users.SetPassword(ctx, *username, password); err != nil {
				return fmt.Errorf("user %q: %w", *username, err)
			}
			if err := record("passwd"); err != nil {
				return err
			}
			fmt.Fprintf(stderr, "password of %s changed; their sessions are signed out\n", *username)
			return nil
		}
		u, err := users.Create(ctx, auth.NewUser{Username: *username, Name: *name, Role: r, Teams: tl, Password: password})
		if err != nil {
			return err
		}
		if err := record("create --role " + u.Role); err != nil {
			return err
		}
		if *asJSON {
			return json.NewEncoder(stdout).Encode(u)
		}
		fmt.Fprintf(stdout, "user %s created with role %s\n", u.Username, u.Role)
		return nil
	case "disable":
		if *username == "" {
			return errors.New("--username is required")
		}
		users, done, err := open()
		if err != nil {
			return err
		}
		defer done()
		if err := users.Disable(ctx, *username); err != nil {
			return err
		}
		return record("disable")
	case "list":
		users, done, err := open()
		if err != nil {
			return err
		}
		defer done()
		list, err := users.List(ctx)
		if err != nil {
			return err
		}
		if *asJSON {
			return json.NewEncoder(stdout).Encode(map[string]any{"users": list})
		}
		for _, u := range list {
			state := ""
			if u.Disabled {
				state = "\tdisabled"
			}
			fmt.Fprintf(stdout, "%s\t%s\t%s\t%s%s\n", u.Username, u.Role, u.Name, strings.Join(u.Teams, ","), state)
		}
		return nil
	}
	return fmt.Errorf("unknown user command %q (want create, passwd, disable or list)", sub)
}

// readPassword prompts twice on a terminal, or reads one line from standard input.
func readPassword(fromStdin bool, stderr io.Writer) (string, error) {
	if fromStdin || !term.IsTerminal(int(os.Stdin.Fd())) {
		line, err := bufio.NewReader(os.Stdin).ReadString('\n')
		if err != nil && !(errors.Is(err, io.EOF) && line != "") {
			return "", fmt.Errorf("reading the password from standard input: %w", err)
		}
		return strings.TrimRight(line, "\r\n"), nil
	}
	fmt.Fprint(stderr, "Password: ")
	p1, err := term.ReadPassword(int(os.Stdin.Fd()))
	fmt.Fprintln(stderr)
	if err != nil {
		return "", err
	}
	fmt.Fprint(stderr, "Again: ")
	p2, err := term.ReadPassword(int(os.Stdin.Fd()))
	fmt.Fprintln(stderr)
	if err != nil {
		return "", err
	}
	if string(p1) != string(p2) {
		return "", errors.New("the passwords differ")
	}
	return string(p1), nil
}
