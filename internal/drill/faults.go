package drill

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/nines-dev/nines/internal/config"
	"github.com/nines-dev/nines/internal/notify/webhook"
	"github.com/nines-dev/nines/internal/oncall"
)

// Spec is a drill as it ran: what was injected and what it had to beat. It is kept with the
// run, so a run is read, scored and its fault removed as it started, whatever the config says
// since. A webhook's secret is not kept: it is read from the config in force.
type Spec struct {
	Name      string         `json:"name"`
	Kind      string         `json:"kind"`
	Severity  string         `json:"severity,omitempty"`
	Toxiproxy *ToxiproxySpec `json:"toxiproxy,omitempty"`
	Webhook   *WebhookSpec   `json:"webhook,omitempty"`
	Targets   Targets        `json:"targets"`
	LimitS    float64        `json:"limit_s"`
	// DetectedBy are the signals that may detect the fault; nil is every monitor and SLO of the
	// service. A page drill is detected by its own alert only.
	DetectedBy *DetectorsSpec `json:"detected_by,omitempty"`
	// Plan is what a recurring run was planned by: the schedule, the limit and the team's
	// working hours. When it changes, the planned run is planned again.
	Plan string `json:"plan,omitempty"`
}

// DetectorsSpec is config.DrillDetectors as the run keeps it.
type DetectorsSpec struct {
	Monitors []string `json:"monitors,omitempty"`
	SLOs     []string `json:"slos,omitempty"`
	Alerts   []string `json:"alerts,omitempty"`
}

// ToxiproxySpec is the toxic a toxiproxy drill adds.
type ToxiproxySpec struct {
	URL        string         `json:"url"`
	Proxy      string         `json:"proxy"`
	Toxic      string         `json:"toxic"`
	Stream     string         `json:"stream"`
	Attributes map[string]int `json:"attributes,omitempty"`
}

// WebhookSpec is where a webhook drill starts and stops the fault.
type WebhookSpec struct {
	StartURL string `json:"start_url"`
	StopURL  string `json:"stop_url"`
}

// Targets are the times to beat, in seconds from the start of the fault; 0 is not judged.
type Targets struct {
	DetectS      float64 `json:"detect_s,omitempty"`
	PageS        float64 `json:"page_s,omitempty"`
	AcknowledgeS float64 `json:"acknowledge_s,omitempty"`
}

// Limit is the longest the drill runs.
func (s Spec) Limit() time.Duration { return time.Duration(s.LimitS * float64(time.Second)) }

// planOf says what a recurring drill's runs are planned by, in the config in force.
func planOf(cfg *config.Config, d *config.Drill) string {
	if d.Schedule == nil {
		return ""
	}
	return fmt.Sprintf("every %s, %s, limit %s, in hours %s", d.Schedule.Every.D(), d.Schedule, d.Limit.D(), oncall.TeamHours(cfg, d.Service))
}

func specOf(d *config.Drill) Spec {
	s := Spec{Name: d.Name, Kind: d.Kind, Severity: d.Severity, LimitS: d.Limit.D().Seconds(),
		Targets: Targets{DetectS: d.Targets.Detect.D().Seconds(), PageS: d.Targets.Page.D().Seconds(), AcknowledgeS: d.Targets.Acknowledge.D().Seconds()}}
	if t := d.Toxiproxy; t != nil {
		s.Toxiproxy = &ToxiproxySpec{URL: strings.TrimRight(t.URL, "/"), Proxy: t.Proxy, Toxic: t.Toxic, Stream: t.Stream, Attributes: t.Attributes}
	}
	if w := d.Webhook; w != nil {
		s.Webhook = &WebhookSpec{StartURL: w.StartURL, StopURL: w.StopURL}
	}
	if b := d.DetectedBy; b != nil {
		s.DetectedBy = &DetectorsSpec{Monitors: b.Monitors, SLOs: b.SLOs, Alerts: b.Alerts}
	}
	return s
}

// fault is what a drill does to the service: checked before, injected, and removed after. Remove
// is idempotent: it runs again after a crash, and removing what is not there is done.
type fault interface {
	// Preflight says why the fault cannot be injected now (the chaos tool is unreachable),
	// changing nothing.
	Preflight(ctx context.Context) error
	Inject(ctx context.Context) error
	// Verify says why the fault injected is no longer known to be in place (Toxiproxy does not
	// answer, the toxic is gone); nil when it is, or when nothing can tell.
	Verify(ctx context.Context) error
	Remove(ctx context.Context) error
	// What says in a sentence what the fault is.
	What() string
}

// faultOf is the fault of a run.
func (s *Service) faultOf(r Run) fault {
	switch r.Spec.Kind {
	case config.DrillToxiproxy:
		if r.Spec.Toxiproxy != nil {
			return &toxiproxy{client: s.client(), spec: *r.Spec.Toxiproxy, name: toxicName(r.ID)}
		}
	case config.DrillWebhook:
		if r.Spec.Webhook != nil {
			secret := ""
			if d := s.live.Get().Drill(r.DrillID); d != nil && d.Webhook != nil {
				secret = d.Webhook.Secret
			}
			return &chaosWebhook{client: s.client(), spec: *r.Spec.Webhook, secret: secret, run: r, now: s.clock.Now}
		}
	}
	return noFault{}
}

// toxicName names the toxic of run id, so that removing it after a restart finds it.
func toxicName(id int64) string { return "nines-drill-" + strconv.FormatInt(id, 10) }

// noFault is a page drill's: nothing breaks; the synthetic alert is the whole drill.
type noFault struct{}

func (noFault) Preflight(context.Context) error { return nil }
func (noFault) Inject(context.Context) error    { return nil }
func (noFault) Verify(context.Context) error    { return nil }
func (noFault) Remove(context.Context) error    { return nil }
func (noFault) What() string                    { return "no fault: a synthetic alert travels the escalation path" }

// toxiproxy drives a Toxiproxy server's HTTP API: a toxic on a proxy in front of the service.
type toxiproxy struct {
	client *http.Client
	spec   ToxiproxySpec
	name   string
}

var _ fault = (*toxiproxy)(nil)

func (t *toxiproxy) What() string {
	var attrs []string
	for k, v := range t.spec.Attributes {
		attrs = append(attrs, k+"="+strconv.Itoa(v))
	}
	s := fmt.Sprintf("Toxiproxy toxic %s (%s, %s) on proxy %s", t.name, t.spec.Toxic, t.spec.Stream, t.spec.Proxy)
	if len(attrs) > 0 {
		s += " with " + strings.Join(sortedStrings(attrs), ", ")
	}
	return s
}

func (t *toxiproxy) proxyURL() string { return t.spec.URL + "/proxies/" + url.PathEscape(t.spec.Proxy) }

// proxyState is what Toxiproxy answers of a proxy.
type proxyState struct {
	Name    string `json:"name"`
	Enabled bool   `json:"enabled"`
	Toxics  []struct {
		Name string `json:"name"`
	} `json:"toxics"`
}

// readProxy parses Toxiproxy's answer about a proxy.
func readProxy(body []byte) (proxyState, error) {
	var p proxyState
	if err := json.Unmarshal(body, &p); err != nil {
		return p, fmt.Errorf("Toxiproxy answered something that is not a proxy: %v", err)
	}
	if p.Name == "" {
		return p, errors.New("Toxiproxy answered a proxy without a name")
	}
	return p, nil
}

func (t *toxiproxy) Preflight(ctx context.Context) error {
	status, body, err := t.do(ctx, http.MethodGet, t.proxyURL(), nil)
	if err != nil {
		return fmt.Errorf("Toxiproxy at %s is unreachable: %v", t.spec.URL, err)
	}
	switch {
	case status == http.StatusNotFound:
		return fmt.Errorf("Toxiproxy at %s has no proxy %q", t.spec.URL, t.spec.Proxy)
	case status != http.StatusOK:
		return fmt.Errorf("Toxiproxy at %s answered %d about proxy %q: %s", t.spec.URL, status, t.spec.Proxy, oneLine(body))
	}
	p, err := readProxy(body)
	if err != nil {
		return err
	}
	if !p.Enabled {
		return fmt.Errorf("proxy %q of Toxiproxy at %s is disabled: traffic does not pass through it", t.spec.Proxy, t.spec.URL)
	}
	return nil
}

func (t *toxiproxy) Inject(ctx context.Context) error {
	attrs := map[string]int{}
	for k, v := range t.spec.Attributes {
		attrs[k] = v
	}
	body, _ := json.Marshal(map[string]any{"name": t.name, "type": t.spec.Toxic, "stream": t.spec.Stream, "toxicity": 1.0, "attributes": attrs})
	status, answer, err := t.do(ctx, http.MethodPost, t.proxyURL()+"/toxics", body)
	switch {
	case err != nil:
		return fmt.Errorf("adding the toxic: %v", err)
	case status == http.StatusConflict:
		return nil // ours, added by an attempt that did not hear the answer
	case status != http.StatusOK && status != http.StatusCreated:
		return fmt.Errorf("adding the toxic: Toxiproxy answered %d: %s", status, oneLine(answer))
	}
	return nil
}

func (t *toxiproxy) Verify(ctx context.Context) error {
	status, answer, err := t.do(ctx, http.MethodGet, t.proxyURL()+"/toxics/"+url.PathEscape(t.name), nil)
	switch {
	case err != nil:
		return fmt.Errorf("Toxiproxy at %s does not answer: %v", t.spec.URL, err)
	case status == http.StatusNotFound:
		return fmt.Errorf("the toxic %s is no longer on proxy %q of Toxiproxy at %s", t.name, t.spec.Proxy, t.spec.URL)
	case status != http.StatusOK:
		return fmt.Errorf("Toxiproxy at %s answered %d about the toxic: %s", t.spec.URL, status, oneLine(answer))
	}
	return nil
}

func (t *toxiproxy) Remove(ctx context.Context) error {
	status, answer, err := t.do(ctx, http.MethodDelete, t.proxyURL()+"/toxics/"+url.PathEscape(t.name), nil)
	switch {
	case err != nil:
		return fmt.Errorf("removing the toxic: %v", err)
	case status == http.StatusNoContent, status == http.StatusOK, status == http.StatusNotFound:
		return nil
	}
	return fmt.Errorf("removing the toxic: Toxiproxy answered %d: %s", status, oneLine(answer))
}

func (t *toxiproxy) do(ctx context.Context, method, target string, body []byte) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, target, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("User-Agent", "nines")
	resp, err := t.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return 0, nil, err
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	return resp.StatusCode, answer, nil
}

// chaosWebhook starts and stops a fault by calling a chaos tool's URLs, signed as the webhook
// channel signs pages (X-Nines-Timestamp, X-Nines-Signature).
type chaosWebhook struct {
	client *http.Client
	spec   WebhookSpec
	secret string
	run    Run
	now    func() time.Time
}

var _ fault = (*chaosWebhook)(nil)

func (w *chaosWebhook) What() string {
	return "the chaos tool's start URL (" + hostOf(w.spec.StartURL) + "), stopped by its stop URL"
}

func (w *chaosWebhook) Preflight(context.Context) error { return nil } // the start call is the check

// Verify: a chaos tool has no call that says whether its experiment still runs.
func (w *chaosWebhook) Verify(context.Context) error { return nil }

func (w *chaosWebhook) Inject(ctx context.Context) error {
	return w.post(ctx, "drill.start", w.spec.StartURL)
}
func (w *chaosWebhook) Remove(ctx context.Context) error {
	return w.post(ctx, "drill.stop", w.spec.StopURL)
}

// post sends {"event", "drill", "run", "service", "at"}; any 2xx is done.
func (w *chaosWebhook) post(ctx context.Context, event, target string) error {
	now := w.now()
	body, _ := json.Marshal(map[string]any{"event": event, "drill": w.run.DrillID, "run": w.run.ID, "service": w.run.ServiceID, "at": now.UTC()})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return err
	}
	ts := now.Unix()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "nines")
	req.Header.Set("X-Nines-Timestamp", strconv.FormatInt(ts, 10))
	req.Header.Set("Idempotency-Key", fmt.Sprintf("drill-%d-%s", w.run.ID, event))
	if w.secret != "" {
		req.Header.Set("X-Nines-Signature", webhook.Sign(w.secret, ts, body))
	}
	resp, err := w.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("%s: %v", hostOf(target), err)
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s answered %d: %s", hostOf(target), resp.StatusCode, oneLine(answer))
	}
	return nil
}

func hostOf(u string) string {
	if p, err := url.Parse(u); err == nil && p.Host != "" {
		return p.Host
	}
	return "the URL"
}

func oneLine(b []byte) string {
	s := strings.Join(strings.Fields(string(b)), " ")
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return s
}
