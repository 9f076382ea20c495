package incident

import (
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/nines-dev/nines/internal/invalid"
	"github.com/nines-dev/nines/internal/store"
)

// MaxBulk is the most incidents one bulk acknowledge or resolve acts on.
const MaxBulk = 1000

// Outcome is what a bulk acknowledge or resolve did to one incident.
type Outcome string

// The outcomes of a bulk action, one per incident asked for.
const (
	OutcomeAcknowledged        Outcome = "acknowledged"
	OutcomeResolved            Outcome = "resolved"
	OutcomeAlreadyAcknowledged Outcome = "already_acknowledged"
	OutcomeAlreadyResolved     Outcome = "already_resolved"
	OutcomeNotFound            Outcome = "not_found"
	OutcomeForbidden           Outcome = "forbidden"
)

// Outcomes lists every outcome in the order a summary says them.
var Outcomes = []Outcome{OutcomeAcknowledged, OutcomeResolved, OutcomeAlreadyAcknowledged, OutcomeAlreadyResolved, OutcomeNotFound, OutcomeForbidden}

// Text is the outcome as a person reads it: "already acknowledged".
func (o Outcome) Text() string {
	if o == OutcomeForbidden {
		return "left alone: another team's"
	}
	return strings.ReplaceAll(string(o), "_", " ")
}

// BulkResult is the outcome of a bulk action for one incident.
type BulkResult struct {
	ID      int64   `json:"id"`
	Outcome Outcome `json:"outcome"`
	// State is the incident's state after the action; empty when it was not found or is
	// out of the caller's reach.
	State State `json:"state,omitempty"`
}

// Bulk acknowledges or resolves (to) each incident of ids, at most MaxBulk of them, in one
// transaction, as a does one at a time: the same rules, the same timeline entries, the same
// hooks (escalation stops, alerts resolve). may says whether the caller may act on an
// incident; one it may not is reported forbidden and left as it is. An incident already in
// the state asked for, or resolved when acknowledging, is reported as such and left as it is.
// Ids are taken once each, in the order given.
func (s *Service) Bulk(ctx context.Context, ids []int64, to State, a Actor, may func(Incident) bool) ([]BulkResult, error) {
	if to != Acknowledged && to != Resolved {
		return nil, invalid.Field("action", "%q is not acknowledge or resolve", to)
	}
	if len(ids) == 0 {
		return nil, invalid.Field("ids", "name at least one incident")
	}
	var uniq []int64
	for _, id := range ids {
		if !slices.Contains(uniq, id) {
			uniq = append(uniq, id)
		}
	}
	if len(uniq) > MaxBulk {
		return nil, invalid.Field("ids", "%d incidents; at most %d at once", len(uniq), MaxBulk)
	}
	// Rows are changed in id order, so two bulk actions over the same incidents on two nodes
	// take their locks in the same order and never wait on each other in a circle.
	order := slices.Clone(uniq)
	slices.Sort(order)
	var out map[int64]BulkResult
	err := s.db.Tx(ctx, func(tx *store.Tx) error {
		out = make(map[int64]BulkResult, len(order))
		now := s.Now()
		for _, id := range order {
			inc, err := s.GetTx(ctx, tx, id)
			if errors.Is(err, ErrNotFound) {
				out[id] = BulkResult{ID: id, Outcome: OutcomeNotFound}
				continue
			} else if err != nil {
				return err
			}
			if may != nil && !may(inc) {
				out[id] = BulkResult{ID: id, Outcome: OutcomeForbidden}
				continue
			}
			switch {
			case inc.State == Resolved:
				out[id] = BulkResult{ID: id, Outcome: OutcomeAlreadyResolved, State: inc.State}
				continue
			case inc.State == to:
				out[id] = BulkResult{ID: id, Outcome: OutcomeAlreadyAcknowledged, State: inc.State}
				continue
			}
			if inc, _, err = s.Transition(ctx, tx, id, to, now, a, nil); err != nil {
				return err
			}
			o := OutcomeAcknowledged
			if to == Resolved {
				o = OutcomeResolved
			}
			out[id] = BulkResult{ID: id, Outcome: o, State: inc.State}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	res := make([]BulkResult, len(uniq))
	for i, id := range uniq {
		res[i] = out[id]
	}
	return res, nil
}
