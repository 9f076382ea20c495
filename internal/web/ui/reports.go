package ui

import (
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/internal/invalid"
	"github.com/nines-dev/nines/internal/oncall"
	"github.com/nines-dev/nines/internal/postmortem"
	"github.com/nines-dev/nines/internal/report"
	"github.com/nines-dev/nines/internal/severity"
	"github.com/nines-dev/nines/internal/slo"
	"github.com/nines-dev/nines/internal/web/httpx"
)

// The reports page (/reports) shows, over one period and the services picked, the figures the
// report API computes: incidents (MTTD, MTTA, MTTR), DORA's four keys, alert quality, on-call
// load with the time off owed, and a service's SLA; /reports/{name}.csv downloads each.
// The period and services live in the URL:
//
//	range=7d|30d|90d|this-month|last-month|custom (30d by default)
//	from=2026-03-01&to=2026-03-15   dates of a custom range, both days included
//	service=checkout (repeats), team=payments, drills=include
//
// Periods are read in the viewer's time zone: "this month" starts at midnight on the 1st
// where they are. The figures come from the same calls the API answers with, over the same
// instants, so the page, the CSV and the API agree.

// reportRanges are the presets of the period picker, in its order.
var reportRanges = []option{{"7d", "Last 7 days"}, {"30d", "Last 30 days"}, {"90d", "Last 90 days"},
	{"this-month", "This month"}, {"last-month", "Last month"}, {"custom", "Custom dates"}}

// reportPeriod is a period picked: its instants, and the dates shown in the picker.
type reportPeriod struct {
	Range    string
	From, To time.Time // [From, To)
	// FromDate and ToDate are the first and the last day, in the viewer's zone.
	FromDate, ToDate string
	// Month is the calendar month the SLA is reported over ("2026-03"): the month picked, or
	// the one the period ends in.
	Month string
}

// ReadPeriod reads range, from and to (see above) at now in loc.
func ReadPeriod(q url.Values, now time.Time, loc *time.Location) (reportPeriod, error) {
	p := reportPeriod{Range: q.Get("range")}
	if p.Range == "" {
		p.Range = "30d"
		if q.Get("from") != "" || q.Get("to") != "" {
			p.Range = "custom"
		}
	}
	local := now.In(loc)
	midnight := func(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, loc) }
	switch p.Range {
	case "7d", "30d", "90d":
		days, _ := strconv.Atoi(strings.TrimSuffix(p.Range, "d"))
		p.From, p.To = now.Add(-time.Duration(days)*24*time.Hour), now
	case "this-month":
		p.From, p.To = midnight(local.Year(), local.Month(), 1), now
	case "last-month":
		p.To = midnight(local.Year(), local.Month(), 1)
		p.From = p.To.AddDate(0, -1, 0)
	case "custom":
		var err error
		if p.From, err = clock.ParseIn("from", q.Get("from"), clock.Date, loc); err != nil {
			return p, err
		}
		var last time.Time
		if last, err = clock.ParseIn("to", q.Get("to"), clock.Date, loc); err != nil {
			return p, err
		}
		last = last.In(loc)
		p.To = midnight(last.Year(), last.Month(), last.Day()+1)
		if !p.From.Before(p.To) {
			return p, invalid.Field("to", "%s is before from %s", q.Get("to"), q.Get("from"))
		}
	default:
		return p, invalid.Field("range", "%q: want one of 7d, 30d, 90d, this-month, last-month or custom", p.Range)
	}
	p.From, p.To = p.From.UTC(), p.To.UTC()
	p.FromDate = p.From.In(loc).Format("2006-01-02")
	p.ToDate = p.To.Add(-time.Nanosecond).In(loc).Format("2006-01-02")
	p.Month = p.To.Add(-time.Nanosecond).In(loc).Format("2006-01")
	return p, nil
}

// reports is everything the page and the CSVs show.
type reports struct {
	Period  reportPeriod
	Scope   report.Scope
	Zone    *time.Location
	Service string // the one service picked, for the SLA
	Inc     report.Incidents
	DORA    report.DORA
	Quality report.AlertQuality
	OnCall  oncall.Report
	SLA     *slo.SLAReport
	SLAErr  string
}

// buildReports reads the pickers and computes every report over them, through the API's own
// calls: the scope is read by the API's parser from the period's instants.
func (s *Handler) buildReports(r *http.Request) (*reports, error) {
	loc := s.pages.Zone(r)
	q := r.URL.Query()
	p, err := ReadPeriod(q, s.Clock.Now(), loc)
	if err != nil {
		return nil, periodError{err}
	}
	inner := url.Values{"service": q["service"], "team": q["team"], "drills": q["drills"],
		"from": {p.From.Format(time.RFC3339Nano)}, "to": {p.To.Format(time.RFC3339Nano)}}
	r2 := r.Clone(r.Context())
	r2.URL.RawQuery = inner.Encode()
	sc, err := s.api.ReportScope(r2, true)
	if err != nil {
		return nil, err
	}
	ctx := r.Context()
	out := &reports{Period: p, Scope: sc, Zone: loc}
	if out.Inc, err = s.Reports.IncidentMetrics(ctx, sc); err != nil {
		return nil, err
	}
	if out.DORA, err = s.Reports.Four(ctx, sc); err != nil {
		return nil, err
	}
	if out.Quality, err = s.Reports.Alerts(ctx, sc); err != nil {
		return nil, err
	}
	if out.OnCall, err = s.api.OnCallLoad(r2, p.From, p.To); err != nil {
		return nil, err
	}
	var picked []string
	for _, v := range q["service"] {
		for _, id := range strings.Split(v, ",") {
			if id != "" {
				picked = append(picked, id)
			}
		}
	}
	if len(picked) == 1 && strings.Join(q["team"], "") == "" {
		out.Service = picked[0]
		rep, err := s.api.SLA(r2, out.Service, p.Month, loc)
		switch e, known := httpx.ErrorOf(err); {
		case err == nil:
			out.SLA = &rep
		case errors.Is(err, slo.ErrNotFound) || known && e.Status < 500:
			out.SLAErr = e.Msg
		default:
			return nil, err
		}
	}
	return out, nil
}

// periodError is a period the pickers gave that is none: the page says so above them.
type periodError struct{ error }

func (e periodError) Unwrap() error { return e.error }

// ReportsPage answers GET /reports. A period refused is a 400 naming its field above the
// pickers, which keep what was typed, over the default period's report.
func (s *Handler) ReportsPage(w http.ResponseWriter, r *http.Request) error {
	status, typed := http.StatusOK, url.Values{}
	rep, err := s.buildReports(r)
	var pe periodError
	if errors.As(err, &pe) {
		status, typed = http.StatusBadRequest, r.URL.Query()
		def := r.Clone(r.Context())
		q := def.URL.Query()
		q.Del("range")
		q.Del("from")
		q.Del("to")
		def.URL.RawQuery = q.Encode()
		rep, err = s.buildReports(def)
	}
	if err != nil {
		return err
	}
	actions, err := s.api.OpenActions(r, "")
	if err != nil {
		return err
	}
	secs := func(v *float64) string {
		if v == nil {
			return "no data"
		}
		return postmortem.Human(time.Duration(*v * float64(time.Second)))
	}
	pct := func(v *float64) string {
		if v == nil {
			return "no data"
		}
		return strconv.FormatFloat(*v*100, 'f', 1, 64) + "%"
	}
	cfg := s.Config.Get()
	rc := s.guard.Reach(r)
	var services, teams []option
	seen := map[string]bool{}
	for _, svc := range cfg.Services {
		if !rc.Service(svc.ID) {
			continue
		}
		services = append(services, option{svc.ID, svc.Name})
		if svc.Team != "" && !seen[svc.Team] {
			seen[svc.Team] = true
			teams = append(teams, option{svc.Team, svc.Team})
		}
	}
	q := r.URL.Query()
	include, exclude := r.URL.Query(), r.URL.Query()
	include.Set("drills", "include")
	exclude.Del("drills")
	periodErr := ""
	if pe.error != nil {
		periodErr = "The period was refused: " + pe.Error() + ". Below: the default period."
	}
	return s.pages.Render(w, r, status, "reports.html", "Reports", map[string]any{
		"R": rep, "PeriodErr": periodErr, "RangeIn": typed.Get("range"), "FromIn": typed.Get("from"), "ToIn": typed.Get("to"), "Query": template.URL(q.Encode()), "Ranges": reportRanges, "Services": services, "Teams": teams,
		"Picked": q["service"], "Team": q.Get("team"), "Drills": q.Get("drills"),
		"Include": template.URL(include.Encode()), "Exclude": template.URL(exclude.Encode()),
		"Inc": rep.Inc, "DORA": rep.DORA, "Quality": rep.Quality, "Actions": actions, "SEVs": severity.Levels,
		"MTTD": secs(rep.Inc.MTTDSeconds), "MTTA": secs(rep.Inc.MTTASeconds), "MTTR": secs(rep.Inc.MTTRSeconds),
		"Lead": secs(rep.DORA.LeadTimeSeconds), "Restore": secs(rep.DORA.TimeToRestoreSeconds), "CFR": pct(rep.DORA.ChangeFailureRate),
		"Freq": strconv.FormatFloat(rep.DORA.DeploymentFrequency, 'f', 2, 64), "Noise": pct(rep.Quality.NotActionableShare),
		"OffHours": pct(rep.Quality.OffHoursShare)})
}

// ReportCSV answers GET /reports/{report}: incidents.csv, dora.csv, alerts.csv,
// alert-keys.csv, oncall.csv or sla.csv, over the pickers of the page's URL.
func (s *Handler) ReportCSV(w http.ResponseWriter, r *http.Request) error {
	name, ok := strings.CutSuffix(r.PathValue("report"), ".csv")
	build := reportCSVs[name]
	if !ok || build == nil {
		return httpx.Errorf(http.StatusNotFound, "no report %q: incidents.csv, dora.csv, alerts.csv, alert-keys.csv, oncall.csv or sla.csv", r.PathValue("report"))
	}
	rep, err := s.buildReports(r)
	if err != nil {
		return err
	}
	if name == "sla" && rep.SLA == nil {
		if rep.SLAErr != "" {
			return httpx.Errorf(http.StatusNotFound, "%s", rep.SLAErr)
		}
		return invalid.Field("service", "the SLA report is of one service: pick one (service=...)")
	}
	header, rows := build(rep)
	w.Header().Set("Content-Type", "text/csv; charset=utf-8; header=present")
	w.Header().Set("Content-Disposition", `attachment; filename="nines-`+name+"-"+rep.Period.FromDate+"-"+rep.Period.ToDate+`.csv"`)
	w.Header().Set("Cache-Control", "no-store")
	return WriteCSV(w, header, rows)
}

// reportCSVs write each report as a header and rows: numbers in plain units named in the
// column (seconds, hours, days, a share from 0 to 1), instants in RFC 3339 UTC, an empty cell
// where the API says null.
var reportCSVs = map[string]func(*reports) ([]string, [][]string){
	"incidents": func(r *reports) ([]string, [][]string) {
		i := r.Inc
		h := []string{"from", "to", "services", "incidents", "open", "mttd_seconds", "mttd_incidents", "mtta_seconds", "mtta_incidents", "mttr_seconds", "mttr_incidents"}
		row := []string{stamp(i.From), stamp(i.To), strings.Join(r.Scope.Services, " "), strconv.Itoa(i.Incidents), strconv.Itoa(i.Open),
			num(i.MTTDSeconds), strconv.Itoa(i.Counted.MTTD), num(i.MTTASeconds), strconv.Itoa(i.Counted.MTTA), num(i.MTTRSeconds), strconv.Itoa(i.Counted.MTTR)}
		for _, l := range severity.Levels {
			h = append(h, strings.ToLower(l)+"_incidents")
			row = append(row, strconv.Itoa(i.BySEV[l]))
		}
		h = append(h, "drill_incidents", "drills_included")
		row = append(row, strconv.Itoa(i.Drills), strconv.FormatBool(i.DrillsIncluded))
		return h, [][]string{row}
	},
	"dora": func(r *reports) ([]string, [][]string) {
		d := r.DORA
		return []string{"from", "to", "services", "deployments", "deployments_per_day", "deployment_frequency_band", "lead_time_seconds", "lead_time_band",
				"failed_deployments", "change_failure_rate", "change_failure_rate_band", "time_to_restore_seconds", "time_to_restore_band"},
			[][]string{{stamp(d.From), stamp(d.To), strings.Join(r.Scope.Services, " "), strconv.Itoa(d.Deployments), flt(d.DeploymentFrequency), d.Bands.DeploymentFrequency,
				num(d.LeadTimeSeconds), d.Bands.LeadTime, strconv.Itoa(d.FailedDeployments), num(d.ChangeFailureRate), d.Bands.ChangeFailureRate,
				num(d.TimeToRestoreSeconds), d.Bands.TimeToRestore}}
	},
	"alerts": func(r *reports) ([]string, [][]string) {
		a := r.Quality
		return []string{"from", "to", "services", "alerts", "triggers", "reviewed", "not_actionable", "not_actionable_share", "pages", "off_hours_pages", "off_hours_share"},
			[][]string{{stamp(a.From), stamp(a.To), strings.Join(r.Scope.Services, " "), strconv.Itoa(a.Alerts), strconv.Itoa(a.Triggers), strconv.Itoa(a.Reviewed),
				strconv.Itoa(a.NotActionable), num(a.NotActionableShare), strconv.Itoa(a.Pages), strconv.Itoa(a.OffHoursPages), num(a.OffHoursShare)}}
	},
	"alert-keys": func(r *reports) ([]string, [][]string) {
		rows := [][]string{}
		for _, k := range r.Quality.Noisiest {
			rows = append(rows, []string{k.ServiceID, k.DedupKey, k.Summary, strconv.Itoa(k.Alerts), strconv.Itoa(k.Triggers), strconv.Itoa(k.NotActionable)})
		}
		return []string{"service", "dedup_key", "summary", "alerts", "triggers", "not_actionable"}, rows
	},
	"oncall": func(r *reports) ([]string, [][]string) {
		rows := [][]string{}
		for _, u := range r.OnCall.Users {
			rows = append(rows, []string{u.UserID, u.Name, flt(u.OnCallHours), strconv.Itoa(u.Pages), strconv.Itoa(u.OffHoursPages), strconv.Itoa(u.DrillPages),
				strconv.Itoa(u.Incidents), flt(u.WorkHours), flt(u.OffHoursWork), flt(u.DaysOwed)})
		}
		return []string{"user", "name", "on_call_hours", "pages", "off_hours_pages", "drill_pages", "incidents_handled", "ack_to_resolve_hours", "off_hours_work_hours", "days_owed"}, rows
	},
	"sla": func(r *reports) ([]string, [][]string) {
		rows := [][]string{}
		for _, e := range r.SLA.SLOs {
			rows = append(rows, []string{r.SLA.ServiceID, r.SLA.Period, r.SLA.TimeZone, e.SLOID, e.Name, flt(e.Objective), flt(e.Target), flt(e.Achieved),
				strconv.FormatBool(e.Met), flt(e.DowntimeSeconds), flt(e.AllowedDowntimeSeconds), strconv.Itoa(len(e.Incidents))})
		}
		return []string{"service", "period", "time_zone", "slo", "name", "objective_ratio", "target_ratio", "achieved_ratio", "met",
			"downtime_seconds", "allowed_downtime_seconds", "incidents"}, rows
	},
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func flt(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

// num is a figure the API may answer null: an empty cell.
func num(v *float64) string {
	if v == nil {
		return ""
	}
	return flt(*v)
}
