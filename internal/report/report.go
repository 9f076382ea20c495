// Package report computes the figures that show whether incident response is getting better:
// MTTD, MTTA and MTTR with counts by SEV, DORA's four keys with their performance bands, and
// alert quality (noise, off-hours pages, the noisiest alert keys). Everything is read through
// the incident, alert and change packages; nothing here owns a table.
package report

import (
	"context"
	"sort"
	"time"

	"github.com/nines-dev/nines/internal/alert"
	"github.com/nines-dev/nines/internal/change"
	"github.com/nines-dev/nines/internal/config"
	"github.com/nines-dev/nines/internal/incident"
	"github.com/nines-dev/nines/internal/oncall"
	"github.com/nines-dev/nines/internal/severity"
)

// Service computes reports.
type Service struct {
	incidents *incident.Service
	alerts    *alert.Pipeline
	changes   *change.Store
	config    *config.Live
}

// New returns the report service.
func New(incidents *incident.Service, alerts *alert.Pipeline, changes *change.Store, cfg *config.Live) *Service {
	return &Service{incidents: incidents, alerts: alerts, changes: changes, config: cfg}
}

// Scope is what a report covers: incidents (or deploys, or alerts) that started in [From, To)
// of some services (every service when empty).
type Scope struct {
	Services []string
	From, To time.Time
	// Drills are the incidents chaos drills took as theirs; IncludeDrills counts them as any
	// other. By default they are left out: a planned failure says nothing of how incidents go.
	Drills        map[int64]bool
	IncludeDrills bool
}

// leaveOut drops the drills' incidents from facts unless the scope includes them, and counts
// the drills' incidents among facts.
func (sc Scope) leaveOut(facts []incident.Facts) ([]incident.Facts, int) {
	n := 0
	kept := facts[:0:0]
	for _, f := range facts {
		if sc.Drills[f.ID] {
			n++
			if !sc.IncludeDrills {
				continue
			}
		}
		kept = append(kept, f)
	}
	return kept, n
}

// Incidents is the incident metrics report. A mean is null when no incident has the times it
// needs; Counted says how many did.
type Incidents struct {
	From        time.Time      `json:"from"`
	To          time.Time      `json:"to"`
	Incidents   int            `json:"incidents"`
	MTTDSeconds *float64       `json:"mttd_seconds"`
	MTTASeconds *float64       `json:"mtta_seconds"`
	MTTRSeconds *float64       `json:"mttr_seconds"`
	Counted     Counted        `json:"counted"`
	BySEV       map[string]int `json:"by_severity"`
	Open        int            `json:"open"`
	// Drills is how many of the period's incidents were chaos drills'; DrillsIncluded whether
	// they are counted in the figures above (drills=include) or left out (the default).
	Drills         int  `json:"drill_incidents"`
	DrillsIncluded bool `json:"drills_included"`
}

// Counted is how many incidents each mean was taken over.
type Counted struct {
	MTTD int `json:"mttd"`
	MTTA int `json:"mtta"`
	MTTR int `json:"mttr"`
}

// IncidentMetrics computes, over incidents opened in scope:
//
//	MTTD: mean of impact start -> first alert, over incidents with both
//	MTTA: mean of trigger (opened) -> first acknowledgement, over acknowledged incidents
//	MTTR: mean of trigger -> resolution, over resolved incidents
func (s *Service) IncidentMetrics(ctx context.Context, sc Scope) (Incidents, error) {
	facts, err := s.incidents.FactsIn(ctx, incident.Range{ServiceIDs: sc.Services, From: sc.From, To: sc.To})
	if err != nil {
		return Incidents{}, err
	}
	facts, drills := sc.leaveOut(facts)
	r := Incidents{From: sc.From, To: sc.To, Incidents: len(facts), BySEV: map[string]int{}, Drills: drills, DrillsIncluded: sc.IncludeDrills}
	for _, lvl := range severity.Levels {
		r.BySEV[lvl] = 0
	}
	var d, a, res []time.Duration
	for _, f := range facts {
		r.BySEV[f.SEV]++
		if f.State != incident.Resolved {
			r.Open++
		}
		if f.ImpactStartedAt != nil && f.FirstAlertAt != nil {
			// An alert that fired before the impact someone set detected it at once.
			d = append(d, max(0, f.FirstAlertAt.Sub(*f.ImpactStartedAt)))
		}
		if f.AcknowledgedAt != nil {
			a = append(a, f.AcknowledgedAt.Sub(f.CreatedAt))
		}
		if f.ResolvedAt != nil {
			res = append(res, f.ResolvedAt.Sub(f.CreatedAt))
		}
	}
	r.MTTDSeconds, r.MTTASeconds, r.MTTRSeconds = mean(d), mean(a), mean(res)
	r.Counted = Counted{MTTD: len(d), MTTA: len(a), MTTR: len(res)}
	return r, nil
}

func mean(ds []time.Duration) *float64 {
	if len(ds) == 0 {
		return nil
	}
	var sum time.Duration
	for _, d := range ds {
		sum += d
	}
	v := (sum / time.Duration(len(ds))).Seconds()
	return &v
}

func median(ds []time.Duration) *float64 {
	if len(ds) == 0 {
		return nil
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	var m time.Duration
	if n := len(ds); n%2 == 1 {
		m = ds[n/2]
	} else {
		m = (ds[n/2-1] + ds[n/2]) / 2
	}
	v := m.Seconds()
	return &v
}

// DORA is the four keys over a scope, as the Four Keys project defines them.
type DORA struct {
	From                 time.Time `json:"from"`
	To                   time.Time `json:"to"`
	Deployments          int       `json:"deployments"`
	DeploymentFrequency  float64   `json:"deployment_frequency"` // deploys per day
	LeadTimeSeconds      *float64  `json:"lead_time_seconds"`    // median commit -> deploy
	ChangeFailureRate    *float64  `json:"change_failure_rate"`  // failed deploys / deploys
	FailedDeployments    int       `json:"failed_deployments"`
	TimeToRestoreSeconds *float64  `json:"time_to_restore_seconds"` // median incident opened -> resolved
	Bands                Bands     `json:"bands"`
}

// Bands are the DORA performance bands: elite, high, medium or low; "" when there is no data.
type Bands struct {
	DeploymentFrequency string `json:"deployment_frequency"`
	LeadTime            string `json:"lead_time"`
	ChangeFailureRate   string `json:"change_failure_rate"`
	TimeToRestore       string `json:"time_to_restore"`
}

// Four computes the four keys. Deployment frequency, lead time and time to restore count the
// deploys and incidents of the scope. The change failure rate is the share of the scope's deploys
// that caused an incident, as Four Keys counts it: an incident is attributed to one deploy, the
// one named on it (POST /api/v1/incidents/{id}/cause), whatever its service, else its service's
// last deploy at or before the impact started (or the incident opened), if that deploy is at most
// incidents.change_failure_window (24h by default) older. Several incidents of one deploy fail
// it once; a deploy that only came before another one that failed did not fail. A deploy fails
// by the same incidents in a service's report as in the org-wide one, so the per-service failed
// deploys add up to the org-wide count.
func (s *Service) Four(ctx context.Context, sc Scope) (DORA, error) {
	window := s.config.Get().Incidents.ChangeFailureWindow.D()
	deploys, err := s.changes.List(ctx, change.Query{ServiceIDs: sc.Services, From: sc.From, To: sc.To, Kind: change.KindDeploy, Limit: 5000})
	if err != nil {
		return DORA{}, err
	}
	// Incidents up to one window past the end can still be caused by a deploy inside the scope,
	// and deploys up to one window before the start can have caused an incident inside it. An
	// incident of any service may name a deploy of the scope as its cause, so every service's
	// incidents are read; time to restore counts the scope's own.
	facts, err := s.incidents.FactsIn(ctx, incident.Range{From: sc.From.Add(-window), To: sc.To.Add(window)})
	if err != nil {
		return DORA{}, err
	}
	// A drill's incident is a planned failure: no deploy failed, nothing was restored.
	facts, _ = sc.leaveOut(facts)
	inServices := func(id string) bool {
		if len(sc.Services) == 0 {
			return true
		}
		for _, s := range sc.Services {
			if s == id {
				return true
			}
		}
		return false
	}
	around, err := s.changes.List(ctx, change.Query{ServiceIDs: sc.Services, From: sc.From.Add(-window), To: sc.To.Add(window), Kind: change.KindDeploy, Limit: 5000})
	if err != nil {
		return DORA{}, err
	}
	inScope := make(map[int64]bool, len(deploys))
	for _, d := range deploys {
		inScope[d.ID] = true
	}
	failed := map[int64]bool{}
	for _, f := range facts {
		cause, named, err := s.changes.CauseOf(ctx, f.ID)
		if err != nil {
			return DORA{}, err
		}
		if !named {
			if !inServices(f.ServiceID) {
				continue
			}
			cause = lastDeployBefore(around, f, window)
		}
		if inScope[cause] {
			failed[cause] = true
		}
	}
	r := DORA{From: sc.From, To: sc.To, Deployments: len(deploys), FailedDeployments: len(failed)}
	if days := sc.To.Sub(sc.From).Hours() / 24; days > 0 {
		r.DeploymentFrequency = float64(len(deploys)) / days
	}
	var lead []time.Duration
	for _, d := range deploys {
		if d.CommitAt != nil && !d.CommitAt.After(d.At) {
			lead = append(lead, d.At.Sub(*d.CommitAt))
		}
	}
	r.LeadTimeSeconds = median(lead)
	if len(deploys) > 0 {
		v := float64(r.FailedDeployments) / float64(len(deploys))
		r.ChangeFailureRate = &v
	}
	var restore []time.Duration
	for _, f := range facts {
		if f.CreatedAt.Before(sc.From) || !f.CreatedAt.Before(sc.To) || f.ResolvedAt == nil || !inServices(f.ServiceID) {
			continue
		}
		restore = append(restore, f.ResolvedAt.Sub(f.CreatedAt))
	}
	r.TimeToRestoreSeconds = median(restore)
	r.Bands = Bands{
		DeploymentFrequency: FrequencyBand(r.DeploymentFrequency, len(deploys)),
		LeadTime:            durationBand(r.LeadTimeSeconds, 24*time.Hour, 7*24*time.Hour, 30*24*time.Hour),
		ChangeFailureRate:   rateBand(r.ChangeFailureRate),
		TimeToRestore:       durationBand(r.TimeToRestoreSeconds, time.Hour, 24*time.Hour, 7*24*time.Hour),
	}
	return r, nil
}

// lastDeployBefore is the id of the last deploy of the incident's service at or before its
// impact started (or it opened), if at most window older; 0 when there is none. A deploy at the
// very instant the impact starts is the one in force when it started, so it is blamed: Four Keys
// attributes an incident to the deployment that shipped its cause, and nothing else shipped
// between.
func lastDeployBefore(deploys []change.Change, f incident.Facts, window time.Duration) int64 {
	start := f.CreatedAt
	if f.ImpactStartedAt != nil {
		start = *f.ImpactStartedAt
	}
	var last *change.Change
	for i := range deploys { // oldest first
		if deploys[i].At.After(start) {
			break
		}
		if deploys[i].ServiceID == f.ServiceID {
			last = &deploys[i]
		}
	}
	if last == nil || start.Sub(last.At) > window {
		return 0
	}
	return last.ID
}

// The bands are the software delivery performance levels of DORA's Accelerate State of DevOps
// Report 2023 (elite, high, medium, low), read as thresholds:
//
//	deployment frequency  elite on demand (daily or more), high weekly or more, medium monthly or more
//	lead time             elite under a day, high under a week, medium under a month (30 days)
//	change failure rate   elite up to 5%, high up to 10%, medium up to 15% (the levels' 5, 10, 15, 64%)
//	time to restore       elite under an hour, high under a day, medium under a week

// FrequencyBand: elite deploys on demand (at least once a day), high between once a day and
// once a week, medium between once a week and once a month, low less often.
func FrequencyBand(perDay float64, deploys int) string {
	switch {
	case deploys == 0:
		return "low"
	case perDay >= 1:
		return "elite"
	case perDay >= 1.0/7:
		return "high"
	case perDay >= 1.0/30:
		return "medium"
	}
	return "low"
}

// durationBand: under elite is elite, under high is high, under medium is medium, else low.
func durationBand(secs *float64, elite, high, medium time.Duration) string {
	if secs == nil {
		return ""
	}
	d := time.Duration(*secs * float64(time.Second))
	switch {
	case d < elite:
		return "elite"
	case d < high:
		return "high"
	case d < medium:
		return "medium"
	}
	return "low"
}

// rateBand: up to 5% of deploys failing is elite, up to 10% high, up to 15% medium.
func rateBand(rate *float64) string {
	if rate == nil {
		return ""
	}
	switch r := *rate; {
	case r <= 0.05+1e-12:
		return "elite"
	case r <= 0.10+1e-12:
		return "high"
	case r <= 0.15+1e-12:
		return "medium"
	}
	return "low"
}

// AlertQuality is how much of the paging was worth it.
type AlertQuality struct {
	From     time.Time `json:"from"`
	To       time.Time `json:"to"`
	Alerts   int       `json:"alerts"`
	Triggers int       `json:"triggers"` // repeats included
	Reviewed int       `json:"reviewed"` // alerts a responder judged
	// NotActionable counts alerts marked not actionable; the share is over reviewed alerts.
	NotActionable      int      `json:"not_actionable"`
	NotActionableShare *float64 `json:"not_actionable_share"`
	// Pages are alerts of high-urgency incidents; off-hours ones came outside working hours.
	Pages         int        `json:"pages"`
	OffHoursPages int        `json:"off_hours_pages"`
	OffHoursShare *float64   `json:"off_hours_share"`
	Noisiest      []KeyNoise `json:"noisiest"`
}

// KeyNoise is one alert key and how much it fired.
type KeyNoise struct {
	ServiceID     string `json:"service_id"`
	DedupKey      string `json:"dedup_key"`
	Summary       string `json:"summary"`
	Alerts        int    `json:"alerts"`
	Triggers      int    `json:"triggers"`
	NotActionable int    `json:"not_actionable"`
}

// Alerts computes alert quality over alerts first seen in scope.
func (s *Service) Alerts(ctx context.Context, sc Scope) (AlertQuality, error) {
	facts, err := s.alerts.FactsIn(ctx, sc.Services, sc.From, sc.To)
	if err != nil {
		return AlertQuality{}, err
	}
	settings := &s.config.Get().Incidents
	r := AlertQuality{From: sc.From, To: sc.To, Alerts: len(facts), Noisiest: []KeyNoise{}}
	urgency := map[int64]string{}
	keys := map[[2]string]*KeyNoise{}
	for _, f := range facts {
		r.Triggers += f.Count
		if f.Actionable != nil {
			r.Reviewed++
			if !*f.Actionable {
				r.NotActionable++
			}
		}
		u, ok := urgency[f.IncidentID]
		if !ok {
			inc, err := s.incidents.Get(ctx, f.IncidentID)
			if err != nil {
				return AlertQuality{}, err
			}
			u, urgency[f.IncidentID] = inc.Urgency, inc.Urgency
		}
		if u != "low" {
			r.Pages++
			if !oncall.InBusinessHours(settings, f.FirstSeen) {
				r.OffHoursPages++
			}
		}
		k := [2]string{f.ServiceID, f.DedupKey}
		n := keys[k]
		if n == nil {
			n = &KeyNoise{ServiceID: f.ServiceID, DedupKey: f.DedupKey}
			keys[k] = n
		}
		n.Summary = f.Summary
		n.Alerts++
		n.Triggers += f.Count
		if f.Actionable != nil && !*f.Actionable {
			n.NotActionable++
		}
	}
	if r.Reviewed > 0 {
		v := float64(r.NotActionable) / float64(r.Reviewed)
		r.NotActionableShare = &v
	}
	if r.Pages > 0 {
		v := float64(r.OffHoursPages) / float64(r.Pages)
		r.OffHoursShare = &v
	}
	for _, n := range keys {
		r.Noisiest = append(r.Noisiest, *n)
	}
	sort.Slice(r.Noisiest, func(i, j int) bool {
		a, b := r.Noisiest[i], r.Noisiest[j]
		if a.Alerts != b.Alerts {
			return a.Alerts > b.Alerts
		}
		if a.Triggers != b.Triggers {
			return a.Triggers > b.Triggers
		}
		return a.ServiceID+"/"+a.DedupKey < b.ServiceID+"/"+b.DedupKey
	})
	if len(r.Noisiest) > 10 {
		r.Noisiest = r.Noisiest[:10]
	}
	return r, nil
}
