package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

// DefaultClient is the HTTP client of the web-based channels: bounded, so a stuck receiver
// holds a page up for seconds, not forever.
var DefaultClient = &http.Client{Timeout: 15 * time.Second}

// Post sends body to target and treats any 2xx as delivered. A 4xx other than 408 and 429 is
// permanent; everything else is worth retrying.
func Post(ctx context.Context, c *http.Client, target, contentType string, body []byte, header http.Header) error {
	if c == nil {
		c = DefaultClient
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return &PermanentError{err}
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("User-Agent", "nines")
	for k, vs := range header {
		req.Header[k] = vs
	}
	resp, err := c.Do(req)
	if err != nil {
		// The URL of a Slack or Teams webhook is its secret: name the host only.
		var ue *url.Error
		if errors.As(err, &ue) {
			return fmt.Errorf("%s: %w", req.URL.Host, ue.Err)
		}
		return err
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode/100 == 2 {
		return nil
	}
	err = fmt.Errorf("%s answered %s: %s", req.URL.Host, resp.Status, bytes.TrimSpace(snippet))
	if resp.StatusCode/100 == 4 && resp.StatusCode != http.StatusRequestTimeout && resp.StatusCode != http.StatusTooManyRequests {
		return &PermanentError{err}
	}
	return err
}

// JSON encodes v without escaping <, > and &, which chat services would show literally.
func JSON(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(b.Bytes(), "\n"), nil
}
