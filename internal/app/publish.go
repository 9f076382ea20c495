package app

import (
	"context"
	"errors"
	"fmt"

	"github.com/nines-dev/nines/internal/incident"
	"github.com/nines-dev/nines/internal/postmortem"
	"github.com/nines-dev/nines/internal/statuspage"
)

// reportPublisher takes a postmortem's public report to the status pages. It lives here so
// that neither package needs the other.
type reportPublisher struct{ pages *statuspage.Service }

var _ postmortem.Publisher = reportPublisher{}

// PublishPostmortem implements postmortem.Publisher.
func (p reportPublisher) PublishPostmortem(ctx context.Context, r postmortem.PublicReport, a incident.Actor) ([]string, error) {
	ids, err := p.pages.PublishPostmortem(ctx, statuspage.Report{IncidentID: r.IncidentID, ServiceID: r.ServiceID, Title: r.Title,
		Summary: r.Summary, Affected: r.Affected, WhatHappened: r.WhatHappened, Prevention: r.Prevention,
		StartedAt: r.StartedAt, EndedAt: r.EndedAt, Actor: a})
	if errors.Is(err, statuspage.ErrNoPage) {
		return nil, fmt.Errorf("%w: %v", postmortem.ErrNoStatusPage, err)
	}
	return ids, err
}
