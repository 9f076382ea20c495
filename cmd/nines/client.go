package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// client talks to a running nines.
type client struct {
	server, token string
	http          *http.Client
}

func (c *client) register(fs *flag.FlagSet) {
	fs.StringVar(&c.server, "server", envOr("NINES_SERVER", "http://127.0.0.1:8080"), "nines server URL (env NINES_SERVER)")
	fs.StringVar(&c.token, "token", envOr("NINES_TOKEN", ""), "API token (env NINES_TOKEN)")
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
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
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
	if c.token == "" {
		return errors.New("no API token: pass --token or set NINES_TOKEN")
	}
	return nil
}
