package public

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/nines-dev/nines/internal/probe"
	"github.com/nines-dev/nines/internal/web/httpx"
)

// Ping takes healthchecks.io-shaped pings, by uuid (/ping/{uuid}[/kind]) or by ping key and slug
// (/ping/{ping_key}/{slug}[/kind]), with GET, HEAD or POST and an optional ?rid= run id. It
// answers in plain text as healthchecks.io does: "OK"; for an unknown uuid "OK (not found)" with
// 200, so a client that retries on errors does not hammer on; for an unknown ping key or slug
// 404 "not found"; 400 "invalid url format: ..." for a URL of no known shape. At most
// probe.MaxPingBody bytes of a POST body are kept as the run's log, and the Ping-Body-Limit
// header says so, so that clients such as runitor send the part that is kept.
func (s *Handler) Ping(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Ping-Body-Limit", strconv.Itoa(probe.MaxPingBody))
	w.Header().Set("Access-Control-Allow-Origin", "*")
	target, kind, code, err := probe.ParsePingURL(r.PathValue("path"))
	if err == nil {
		if rid := r.URL.Query().Get("rid"); rid != "" && !probe.IsUUID(rid) {
			err = fmt.Errorf("rid %.40q is not a UUID", rid)
		}
	}
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, "invalid url format: %v\n", err)
		return nil
	}
	var body []byte
	if r.Method == http.MethodPost {
		if body, err = httpx.ReadBodyPrefix(r, probe.MaxPingBody); err != nil {
			return err
		}
	}
	p := probe.Ping{Kind: kind, ExitCode: code, RunID: strings.ToLower(r.URL.Query().Get("rid")), Body: string(body), Remote: r.RemoteAddr}
	if target.UUID != "" {
		err = s.Monitors.Ping(r.Context(), target.UUID, p)
	} else {
		err = s.Monitors.PingSlug(r.Context(), target.PingKey, target.Slug, p)
	}
	switch {
	case errors.Is(err, probe.ErrUnknownHeartbeat) && target.UUID != "":
		io.WriteString(w, "OK (not found)\n")
		return nil
	case errors.Is(err, probe.ErrUnknownHeartbeat):
		w.WriteHeader(http.StatusNotFound)
		io.WriteString(w, "not found\n")
		return nil
	case err != nil:
		return err
	}
	io.WriteString(w, "OK\n")
	return nil
}
