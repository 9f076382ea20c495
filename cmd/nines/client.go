package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// client talks to a running nines.
type client struct {
	server string
	token  secretFlag
	http   *http.Client
}

// register adds --server, --token and --token-file to fs; the token is read from the first of
// tokenEnvs set (NINES_TOKEN when none is named).
func (c *client) register(fs *flag.FlagSet, tokenEnvs ...string) {
	if len(tokenEnvs) == 0 {
		tokenEnvs = []string{"NINES_TOKEN"}
	}
	fs.StringVar(&c.server, "server", envOr("NINES_SERVER", "http://127.0.0.1:8080"), "nines server URL (env NINES_SERVER)")
	c.token.register(fs, "token", "API token", tokenEnvs...)
}

// do sends a request and decodes a JSON answer into out (or, for a *[]byte, hands it over as
// it came). A non-2xx answer is an error that
// carries the server's message.
func (c *client) do(ctx context.Context, method, path string, in, out any) error {
	if c.http == nil {
		c.http = &http.Client{Timeout: 30 * time.Second}
	}
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(c.server, "/")+path, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	token, err := c.token.get()
	if err != nil {
		return err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("X-Nines-Client", "cli")
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		var e struct {
			Error   string   `json:"error"`
			Message string   `json:"message"`
			Errors  []string `json:"errors"`
		}
		json.Unmarshal(data, &e)
		msg := e.Error
		if msg == "" {
			msg = e.Message
		}
		if len(e.Errors) > 0 && !strings.Contains(msg, e.Errors[0]) {
			msg += ": " + strings.Join(e.Errors, "; ")
		}
		if msg == "" {
			msg = strings.TrimSpace(string(data))
		}
		return fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, msg)
	}
	if b, ok := out.(*[]byte); ok { // a rendered document, not JSON
		*b = data
		return nil
	}
	if out != nil {
		return json.Unmarshal(data, out)
	}
	return nil
}

func needToken(c *client) error {
	token, err := c.token.get()
	if err != nil {
		return err
	}
	if token == "" {
		return fmt.Errorf("no API token: set %s, or pass --token-file (or --token)", c.token.envs[0])
	}
	return nil
}

// serviceArg parses the flags of a command about one service, which may come before or after
// them (`nines gate checkout --server ...`), and returns it; without exactly one service it
// prints usage and exits 2.
func serviceArg(fs *flag.FlagSet, args []string, stderr io.Writer, usage string) (string, error) {
	var service string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		service, args = args[0], args[1:]
	}
	if err := fs.Parse(args); err != nil {
		return "", err
	}
	if service == "" && fs.NArg() == 1 {
		service = fs.Arg(0)
	} else if fs.NArg() > 0 || service == "" {
		fmt.Fprintln(stderr, usage)
		return "", exitError{2}
	}
	return service, nil
}
