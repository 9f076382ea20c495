package ui_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/nines-dev/nines/internal/auth"
	"github.com/nines-dev/nines/internal/web/webtest"
)

// A deploy recorded without a summary (nines deploy --service checkout --version v2.3.1) is told
// once as a deploy: "Deploy checkout v2.3.1 by vm", not "Deploy Deployed ...".
func TestADeployIsToldOnceOnTheTimeline(t *testing.T) {
	t.Parallel()
	s := webtest.StartSpine(t)
	id := s.Trigger("dep", "Checkout down")
	if r := s.Post("/api/v1/changes", `{"service": "checkout", "version": "v2.3.1", "source": "vm"}`, auth.Responder); r.Status/100 != 2 {
		t.Fatalf("deploy: %d %s", r.Status, r.Body)
	}
	r := s.Get(fmt.Sprintf("/api/v1/incidents/%d/timeline", id), auth.Viewer)
	if r.Status != http.StatusOK {
		t.Fatalf("timeline: %d", r.Status)
	}
	if !strings.Contains(r.Body, `"text":"Deploy checkout v2.3.1 by vm."`) || strings.Contains(r.Body, "Deploy Deployed") {
		t.Errorf("the deploy's sentence:\n%s", r.Body)
	}
}
