package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

// secretFlag is a flag whose value is a secret: an API token, a routing key. Any user of the
// machine reads a process's command line (ps, /proc/PID/cmdline) for as long as it runs, and the
// shell keeps it in its history, so the secret is read from the environment or from a file
// (--NAME-file); on the command line it is still taken, for a command run by hand, with a
// warning that says what to use instead.
type secretFlag struct {
	fs          *flag.FlagSet
	name, what  string
	envs        []string // the variables it is read from, the first found
	value, file string
	done        bool
	err         error
}

// register adds --name and --name-file to fs. The value defaults to the first of envs set, the
// file to the variable envs[0]_FILE.
func (s *secretFlag) register(fs *flag.FlagSet, name, what string, envs ...string) {
	s.fs, s.name, s.what, s.envs = fs, name, what, envs
	def := ""
	var named []string
	for _, e := range envs {
		if def == "" {
			def = os.Getenv(e)
		}
		named = append(named, "env "+e)
	}
	fs.StringVar(&s.value, name, def, fmt.Sprintf("%s (%s); given here it shows in the process list, so prefer the environment or --%s-file",
		what, strings.Join(named, ", or "), name))
	fs.StringVar(&s.file, name+"-file", os.Getenv(envs[0]+"_FILE"), fmt.Sprintf("file holding the %s (env %s_FILE)", what, envs[0]))
}

// get returns the secret, once the flags are parsed. Given both on the command line and as a
// file, it is refused; a file is read whole, spaces and newlines around the secret dropped.
func (s *secretFlag) get() (string, error) {
	if s.done {
		return s.value, s.err
	}
	s.done = true
	given := map[string]bool{}
	s.fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	switch {
	case given[s.name] && given[s.name+"-file"]:
		s.err = fmt.Errorf("--%s and --%s-file: give the %s one way", s.name, s.name, s.what)
	case given[s.name]:
		fmt.Fprintf(s.fs.Output(), "warning: --%s puts the secret in the process list, where any user of this machine can read it, and in the shell's history; set %s or use --%s-file\n",
			s.name, s.envs[0], s.name)
	case s.file != "":
		s.value, s.err = readSecretFile(s.fs.Output(), "--"+s.name+"-file", s.file)
	}
	return s.value, s.err
}

// maxSecretFile bounds what is read of a secret's file: a token is some fifty bytes.
const maxSecretFile = 64 << 10

func readSecretFile(warn io.Writer, flagName, path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("%s: %w", flagName, err)
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil {
		if !fi.Mode().IsRegular() {
			return "", fmt.Errorf("%s %s: not a regular file", flagName, path)
		}
		if fi.Mode().Perm()&0o077 != 0 {
			fmt.Fprintf(warn, "warning: %s %s can be read by other users (mode %s); chmod 600 it\n", flagName, path, fi.Mode().Perm())
		}
	}
	b, err := io.ReadAll(io.LimitReader(f, maxSecretFile+1))
	if err != nil {
		return "", fmt.Errorf("%s %s: %w", flagName, path, err)
	}
	if len(b) > maxSecretFile {
		return "", fmt.Errorf("%s %s: larger than 64 KiB; it should hold the secret alone", flagName, path)
	}
	v := strings.TrimSpace(string(b))
	if v == "" {
		return "", fmt.Errorf("%s %s is empty", flagName, path)
	}
	if strings.ContainsAny(v, "\r\n") {
		return "", errors.New(flagName + " " + path + ": holds more than one line; it should hold the secret alone")
	}
	return v, nil
}
