package slo

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/nines-dev/nines/internal/config"
)

// Severities of burn-rate alerts.
const (
	Page   = "page"
	Ticket = "ticket"
)

// Rule is one multiwindow burn-rate condition: it fires when the burn rate is at least
// Threshold over both Long and Short.
type Rule struct {
	Severity  string
	Long      time.Duration
	Short     time.Duration
	Threshold float64
	// Configured is the threshold as written or as the workbook gives it, before nines lowered
	// it for a low objective; equal to Threshold otherwise.
	Configured float64
}

// Pair names the windows, as alerts and the API show them: "1h/5m".
func (r Rule) Pair() string {
	return config.FormatDuration(r.Long) + "/" + config.FormatDuration(r.Short)
}

// AlertRules are an SLO's burn-rate rules.
type AlertRules struct {
	Disabled  bool
	MinEvents float64
	Rules     []Rule
}

func (a AlertRules) longest() time.Duration {
	var l time.Duration
	for _, r := range a.Rules {
		l = max(l, r.Long)
	}
	return l
}

// WorkbookRules are the SRE workbook's recommendations for a 30-day SLO (chapter 5, table 5-8):
// page at 2% of the budget spent in 1 hour or 5% in 6 hours, ticket at 10% in 1 day or 10% in 3
// days, each with a short window of a twelfth of the long one.
var WorkbookRules = []Rule{
	{Severity: Page, Long: time.Hour, Short: 5 * time.Minute, Threshold: 14.4},
	{Severity: Page, Long: 6 * time.Hour, Short: 30 * time.Minute, Threshold: 6},
	{Severity: Ticket, Long: 24 * time.Hour, Short: 2 * time.Hour, Threshold: 3},
	{Severity: Ticket, Long: 3 * 24 * time.Hour, Short: 6 * time.Hour, Threshold: 1},
}

const workbookWindow = 30 * 24 * time.Hour

// DefaultMinEvents is the traffic a long window must hold before its pair may fire.
const DefaultMinEvents = 10

// rulesFor resolves an SLO's alerting: rules as written, or the workbook's scaled to the SLO's
// window (windows scale with it, so each rule still fires on the same share of the budget), and
// every threshold made reachable.
func rulesFor(d *Definition, c *config.SLOAlerts) AlertRules {
	out := AlertRules{Disabled: c.Disabled, MinEvents: DefaultMinEvents}
	if c.MinEvents != nil {
		out.MinEvents = *c.MinEvents
	}
	if len(c.Page)+len(c.Ticket) > 0 {
		for _, r := range c.Page {
			out.Rules = append(out.Rules, Rule{Severity: Page, Long: r.Long.D(), Short: r.Short.D(), Threshold: r.BurnRate})
		}
		for _, r := range c.Ticket {
			out.Rules = append(out.Rules, Rule{Severity: Ticket, Long: r.Long.D(), Short: r.Short.D(), Threshold: r.BurnRate})
		}
	} else {
		scale := float64(d.Window.MaxLength()) / float64(workbookWindow)
		if !d.Window.Rolling && d.Window.Calendar == config.CalendarMonth {
			scale = 1 // a calendar month is what the workbook's 30 days stand for
		}
		for _, r := range WorkbookRules {
			r.Long = scaleWindow(r.Long, scale)
			r.Short = scaleWindow(r.Short, scale)
			out.Rules = append(out.Rules, r)
		}
	}
	for i := range out.Rules {
		r := &out.Rules[i]
		r.Configured = r.Threshold
		r.Threshold = ReachableThreshold(r.Threshold, d.Budget())
	}
	return out
}

func scaleWindow(w time.Duration, scale float64) time.Duration {
	s := time.Duration(math.Round(float64(w)*scale/float64(time.Minute))) * time.Minute
	return max(s, time.Minute)
}

// ReachableThreshold lowers a threshold that no burn can reach. The highest possible burn rate
// is 1/budget (every event fails): with a 90% objective it is 10, so the workbook's 14.4× page
// could never fire. Such a threshold becomes half the maximum, which fires when half of the
// events fail over both windows. Reachable thresholds are kept as they are.
func ReachableThreshold(threshold, budget float64) float64 {
	maxBurn := 1 / budget
	if threshold < maxBurn {
		return threshold
	}
	return math.Round(maxBurn/2*1e6) / 1e6
}

// firing is the outcome of one rule at one evaluation.
type firing struct {
	Rule      Rule
	LongBurn  float64
	ShortBurn float64
	Fired     bool
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func ftoa(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

// summary is the alert text: which SLO, which windows, how fast.
func summary(d *Definition, f firing) string {
	var b strings.Builder
	fmt.Fprintf(&b, "SLO %s: error budget burning %s× over %s and %s× over %s (%s threshold %s×",
		d.ID, round2(f.LongBurn), config.FormatDuration(f.Rule.Long), round2(f.ShortBurn), config.FormatDuration(f.Rule.Short), f.Rule.Severity, round2(f.Rule.Threshold))
	if f.Rule.Threshold != f.Rule.Configured {
		fmt.Fprintf(&b, ", lowered from %s× for the %s%% objective", round2(f.Rule.Configured), ftoa(d.Objective*100))
	}
	b.WriteString(")")
	return b.String()
}

func round2(f float64) string { return strconv.FormatFloat(math.Round(f*100)/100, 'f', -1, 64) }
