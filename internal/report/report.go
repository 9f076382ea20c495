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
	r := Incidents{From: sc.From, To: sc.To, Incidents: len(facts), BySEV: map[string]int{}}
	for _, lvl := range config.SEVLevels {
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

// Four computes the four keys. A deploy failed if an incident of its service started (impact
// start, else opened) after it and within incidents.change_failure_window (24h by default).
func (s *Service) Four(ctx context.Context, sc Scope) (DORA, error) {
	window := s.config.Get().Incidents.ChangeFailureWindow.D()
	deploys, err := s.changes.List(ctx, change.Query{ServiceIDs: sc.Services, From: sc.From, To: sc.To, Kind: change.KindDeploy, Limit: 5000})
	if err != nil {
		return DORA{}, err
	}
	// Incidents up to one window past the end can still fail a deploy inside the scope.
	facts, err := s.incidents.FactsIn(ctx, incident.Range{ServiceIDs: sc.Services, From: sc.From.Add(-window), To: sc.To.Add(window)})
	if err != nil {
		return DORA{}, err
	}
	r := DORA{From: sc.From, To: sc.To, Deployments: len(deploys)}
	if days := sc.To.Sub(sc.From).Hours() / 24; days > 0 {
		r.DeploymentFrequency = float64(len(deploys)) / days
	}
	var lead []time.Duration
	for _, d := range deploys {
		if d.CommitAt != nil && !d.CommitAt.After(d.At) {
			lead = append(lead, d.At.Sub(*d.CommitAt))
		}
		for _, f := range facts {
			start := f.CreatedAt
			if f.ImpactStartedAt != nil {
				start = *f.ImpactStartedAt
			}
			if f.ServiceID == d.ServiceID && start.After(d.At) && !start.After(d.At.Add(window)) {
				r.FailedDeployments++
				break
			}
		}
	}
	r.LeadTimeSeconds = median(lead)
	if len(deploys) > 0 {
		v := float64(r.FailedDeployments) / float64(len(deploys))
		r.ChangeFailureRate = &v
	}
	var restore []time.Duration
	for _, f := range facts {
		if f.CreatedAt.Before(sc.From) || !f.CreatedAt.Before(sc.To) || f.ResolvedAt == nil {
			continue
		}
		restore = append(restore, f.ResolvedAt.Sub(f.CreatedAt))
	}
	r.TimeToRestoreSeconds = median(restore)
	r.Bands = Bands{
		DeploymentFrequency: FrequencyBand(r.DeploymentFrequency, len(deploys)),
		LeadTime:            durationBand(r.LeadTimeSeconds, 24*time.Hour, 7*24*time.Hour, 180*24*time.Hour),
		ChangeFailureRate:   rateBand(r.ChangeFailureRate),
		TimeToRestore:       durationBand(r.TimeToRestoreSeconds, time.Hour, 24*time.Hour, 7*24*time.Hour),
	}
	return r, nil
}

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

// rateBand: up to 15% of changes failing is elite, up to 30% high, up to 45% medium.
func rateBand(rate *float64) string {
	if rate == nil {
		return ""
	}
	switch r := *rate; {
	case r <= 0.15:
		return "elite"
	case r <= 0.30:
		return "high"
	case r <= 0.45:
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
			if !settings.InWorkingHours(f.FirstSeen) {
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
