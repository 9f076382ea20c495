// Package severity is how bad something is, on the two scales nines speaks: an alert's
// severity as the PagerDuty Events API names it (critical, error, warning, info), and an
// incident's SEV level (SEV1, the most severe, to SEV5). Incidents, config and reports read
// both scales from here, so they cannot disagree.
package severity

import (
	"fmt"
	"strings"
)

// Alert severities, the highest first.
const (
	Critical = "critical"
	Error    = "error"
	Warning  = "warning"
	Info     = "info"
)

// Alert are the alert severities, the highest first.
var Alert = []string{Critical, Error, Warning, Info}

// Rank orders alert severities: critical is 4, info is 1, anything else 0.
func Rank(s string) int {
	for i, a := range Alert {
		if a == s {
			return len(Alert) - i
		}
	}
	return 0
}

// RankSQL is Rank as an SQL expression over column, for queries that compare severities.
func RankSQL(column string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "(CASE %s", column)
	for _, a := range Alert {
		fmt.Fprintf(&b, " WHEN '%s' THEN %d", a, Rank(a))
	}
	b.WriteString(" ELSE 0 END)")
	return b.String()
}

// Levels are the SEV levels, the most severe first.
var Levels = []string{"SEV1", "SEV2", "SEV3", "SEV4", "SEV5"}

// LevelNames are the levels' names unless the config renames them.
var LevelNames = map[string]string{"SEV1": "Critical", "SEV2": "Major", "SEV3": "Minor", "SEV4": "Low", "SEV5": "Cosmetic"}

// ValidLevel reports whether level is SEV1..SEV5.
func ValidLevel(level string) bool { return LevelNames[level] != "" }

// LevelFor is the SEV level an incident of an alert severity starts at, unless the config
// maps it otherwise: critical is SEV1, info SEV4, anything else SEV5.
func LevelFor(alertSeverity string) string {
	if r := Rank(alertSeverity); r > 0 {
		return Levels[len(Alert)-r]
	}
	return Levels[len(Levels)-1]
}

// AlertFor is the alert severity an incident declared at level is filed under, so lists and
// filters that speak alert severities still place it: SEV1 is critical, SEV4 and SEV5 info.
func AlertFor(level string) string {
	for i, l := range Levels {
		if l == level && i < len(Alert) {
			return Alert[i]
		}
	}
	return Info
}
