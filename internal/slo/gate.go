package slo

import (
	"context"
	"fmt"
	"strings"
)

// Gate is the release decision for a service: ship while every SLO has error budget left, slow
// down once any has spent it.
type Gate struct {
	ServiceID string    `json:"service_id"`
	Decision  string    `json:"decision"` // "ship" or "slow_down"
	Ship      bool      `json:"ship"`
	Reason    string    `json:"reason"`
	SLOs      []GateSLO `json:"slos"`
}

// GateSLO is one SLO's part in the decision.
type GateSLO struct {
	ID                   string  `json:"id"`
	Name                 string  `json:"name"`
	Objective            float64 `json:"objective"`
	Window               string  `json:"window"`
	SLIValue             float64 `json:"sli_value"`
	ErrorBudgetRemaining float64 `json:"error_budget_remaining"`
	Ship                 bool    `json:"ship"`
}

// Decisions.
const (
	Ship     = "ship"
	SlowDown = "slow_down"
)

// Gate decides for a service, from figures computed now.
func (e *Engine) Gate(ctx context.Context, serviceID string) (Gate, error) {
	sts, err := e.Statuses(ctx, serviceID)
	if err != nil {
		return Gate{}, err
	}
	g := Gate{ServiceID: serviceID, Decision: Ship, Ship: true, SLOs: []GateSLO{}}
	var spent []string
	for _, st := range sts {
		ok := st.ErrorBudgetRemaining > 0
		g.SLOs = append(g.SLOs, GateSLO{ID: st.ID, Name: st.Name, Objective: st.Objective, Window: st.Window,
			SLIValue: st.SLIValue, ErrorBudgetRemaining: st.ErrorBudgetRemaining, Ship: ok})
		if !ok {
			spent = append(spent, fmt.Sprintf("%s has %s of its error budget left (SLI %s against %s over %s)",
				st.ID, percent(st.ErrorBudgetRemaining), percent(st.SLIValue), percent(st.Objective), st.Window))
		}
	}
	switch {
	case len(spent) > 0:
		g.Decision, g.Ship = SlowDown, false
		g.Reason = "slow down: " + strings.Join(spent, "; ")
	case len(sts) == 0:
		g.Reason = "ship: the service has no SLOs to hold a release back"
	default:
		g.Reason = fmt.Sprintf("ship: all %d SLOs have error budget left", len(sts))
	}
	return g, nil
}

// percent writes a fraction as a percentage with enough digits to tell 99.9 from 99.99.
func percent(f float64) string {
	s := fmt.Sprintf("%.4f", f*100)
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	return s + "%"
}
