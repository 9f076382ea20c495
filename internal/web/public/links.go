package public

import (
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/nines-dev/nines/internal/escalate"
	"github.com/nines-dev/nines/internal/incident"
	"github.com/nines-dev/nines/internal/web/httpx"
	"github.com/nines-dev/nines/internal/web/ui"
)

// LinkPage answers GET /a/{token}.
func (s *Handler) LinkPage(w http.ResponseWriter, r *http.Request) error {
	lk, err := s.Escalation.VerifyLink(r.Context(), r.PathValue("token"))
	if err != nil {
		return err
	}
	incs, err := s.Escalation.LinkIncidents(r.Context(), lk)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	return s.renderLink(w, r, lk, incs, "")
}

func (s *Handler) renderLink(w http.ResponseWriter, r *http.Request, lk escalate.Link, incs []incident.Incident, done string) error {
	// Times in the zone of whoever is signed in, else of the person the link was sent to.
	r = ui.SentTo(r, lk.User)
	s.guard.Identify(r)
	data := map[string]any{"Link": lk, "Verb": verbOf(lk.Action), "Done": done}
	title := verbOf(lk.Action) + " incident"
	if lk.Action == escalate.ActionAcknowledgeAll {
		handled := 0
		for _, inc := range incs {
			if inc.State != incident.Triggered {
				handled++
			}
		}
		data["Incidents"], data["Handled"] = incs, handled
		title = fmt.Sprintf("Acknowledge %d incidents", len(incs))
	} else if len(incs) == 1 {
		data["Incident"] = incs[0]
		handled, err := s.handledBy(r, incs[0], lk.Action)
		if err != nil {
			return err
		}
		if handled != nil {
			data["Handled"] = handled
		}
	}
	return s.pages.Render(w, r, http.StatusOK, "link.html", title, data)
}

// handledBy says who already did what the link asks, and when ("already acknowledged by Bob
// at 02:14 UTC"), so a second responder tapping the link at night sees it is in hand instead
// of a button; "" while the link still has something to do.
func (s *Handler) handledBy(r *http.Request, inc incident.Incident, action string) (*handled, error) {
	typ, verb := incident.EventAcknowledged, "acknowledged"
	switch {
	case inc.State == incident.Resolved:
		typ, verb = incident.EventResolved, "resolved"
	case inc.State == incident.Acknowledged && action != escalate.ActionResolve:
	default:
		return nil, nil
	}
	events, err := s.Incidents.Timeline(r.Context(), inc.ID)
	if err != nil {
		return nil, err
	}
	var last *incident.Event
	for i := range events {
		if events[i].Type == typ {
			last = &events[i]
		}
	}
	if last == nil {
		return &handled{Verb: verb}, nil
	}
	who := last.Actor
	if id, ok := strings.CutPrefix(who, "user:"); ok {
		who = id
		if u := s.Config.Get().User(id); u != nil && u.Name != "" {
			who = u.Name
		}
	}
	return &handled{Verb: verb, Who: who, At: last.At}, nil
}

// handled is who already did what a link asks, and when.
type handled struct {
	Verb, Who string
	At        time.Time
}

// UseLink answers POST /a/{token}.
func (s *Handler) UseLink(w http.ResponseWriter, r *http.Request) error {
	lk, outs, err := s.Escalation.Act(r.Context(), r.PathValue("token"))
	if err != nil {
		return err
	}
	incs := make([]incident.Incident, len(outs))
	for i, o := range outs {
		incs[i] = o.Incident
	}
	w.Header().Set("Cache-Control", "no-store")
	return s.renderLink(w, r, lk, incs, linkDone(lk, outs))
}

// linkDone says what using a link did, and what it left as it was.
func linkDone(lk escalate.Link, outs []escalate.Outcome) string {
	if lk.Action != escalate.ActionAcknowledgeAll {
		if len(outs) == 1 && outs[0].Changed {
			return "Done: the incident is " + string(outs[0].Incident.State) + "."
		}
		if len(outs) == 1 {
			return "Nothing to do: the incident is already " + string(outs[0].Incident.State) + "."
		}
		return "Nothing to do."
	}
	var left []string
	for _, o := range outs {
		if !o.Changed {
			left = append(left, fmt.Sprintf("#%d (%s)", o.Incident.ID, o.Incident.State))
		}
	}
	acted := len(outs) - len(left)
	switch {
	case len(left) == 0:
		return fmt.Sprintf("Done: %s acknowledged.", ui.Plural(acted, "incident"))
	case acted == 0:
		return fmt.Sprintf("Nothing to do: all %s were already acknowledged or resolved.", ui.Plural(len(outs), "incident"))
	}
	return fmt.Sprintf("Done: %s acknowledged. %d %s already handled and left as %s: %s.", ui.Plural(acted, "incident"),
		len(left), pick(len(left) == 1, "was", "were"), pick(len(left) == 1, "it is", "they are"), strings.Join(left, ", "))
}

func pick(cond bool, a, b string) string {
	if cond {
		return a
	}
	return b
}

// VoiceKey acts on the link when the person on the call pressed 1, and answers TwiML that says
// what was done: the action, that it was done already, or that nothing was done and why.
func (s *Handler) VoiceKey(w http.ResponseWriter, r *http.Request) error {
	if err := httpx.ReadForm(w, r, 16<<10); err != nil {
		return err
	}
	say, err := s.voiceAnswer(r)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	var b strings.Builder
	xml.EscapeText(&b, []byte(say))
	fmt.Fprintf(w, "<Response><Say>%s</Say></Response>", b.String())
	return nil
}

func (s *Handler) voiceAnswer(r *http.Request) (string, error) {
	lk, err := s.Escalation.VerifyLink(r.Context(), r.PathValue("token"))
	switch {
	case errors.Is(err, escalate.ErrLinkExpired):
		return "This link has expired. Nothing was done. Open nines to act on the incident. Goodbye.", nil
	case errors.Is(err, escalate.ErrLinkInvalid):
		return "This link is not valid. Nothing was done. Goodbye.", nil
	case err != nil:
		return "", err
	}
	if r.PostForm.Get("Digits") != "1" {
		if lk.Action == escalate.ActionResolve {
			return "Not resolved. Goodbye.", nil
		}
		return "Not acknowledged. Goodbye.", nil
	}
	lk, outs, err := s.Escalation.Act(r.Context(), r.PathValue("token"))
	switch {
	case errors.Is(err, escalate.ErrLinkExpired), errors.Is(err, escalate.ErrLinkInvalid), errors.Is(err, incident.ErrNotFound):
		return "This link no longer works. Nothing was done. Goodbye.", nil
	case err != nil:
		return "", err
	}
	if lk.Action == escalate.ActionAcknowledgeAll {
		acted := 0
		for _, o := range outs {
			if o.Changed {
				acted++
			}
		}
		switch left := len(outs) - acted; {
		case acted == 0:
			return fmt.Sprintf("Nothing was done: all %s were already acknowledged or resolved. Goodbye.", ui.Plural(len(outs), "incident")), nil
		case left == 0:
			return fmt.Sprintf("%s acknowledged. Thank you.", ui.Plural(acted, "incident")), nil
		default:
			return fmt.Sprintf("%s acknowledged; %d already acknowledged or resolved, left as %s. Thank you.", ui.Plural(acted, "incident"), left, pick(left == 1, "it was", "they were")), nil
		}
	}
	if len(outs) != 1 {
		return "Nothing was done. Goodbye.", nil
	}
	inc := outs[0].Incident
	switch {
	case outs[0].Changed:
		return fmt.Sprintf("Incident %d is %s. Thank you.", inc.ID, inc.State), nil
	case inc.State == incident.Resolved && lk.Action != escalate.ActionResolve:
		return fmt.Sprintf("Incident %d is already resolved. Nothing was done. Goodbye.", inc.ID), nil
	}
	return fmt.Sprintf("Incident %d was already %s. Nothing was done. Goodbye.", inc.ID, inc.State), nil
}

func verbOf(action string) string {
	if action == escalate.ActionResolve {
		return "Resolve"
	}
	return "Acknowledge"
}
