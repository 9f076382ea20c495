package ui_test

import (
	"regexp"
	"testing"
	"time"

	"github.com/nines-dev/nines/internal/auth"
	"github.com/nines-dev/nines/internal/storetest"
	"github.com/nines-dev/nines/internal/web/webtest"
)

// Search results say each incident's severity as every page does ("SEV1 Critical").
func TestSearchResultsSayTheSEV(t *testing.T) {
	t.Parallel()
	s := webtest.StartSpine(t)
	s.Trigger("pool", "Connection pool exhausted on the primary")
	b := s.Browser(auth.Viewer)
	var body string
	storetest.Eventually(t, 10*time.Second, "the incident found by search", func() bool {
		_, body = b.Do("GET", "/search?q=pool+exhausted", nil, nil)
		return regexp.MustCompile(`<ol class="hits">`).MatchString(body)
	})
	hits := regexp.MustCompile(`(?s)<ol class="hits">.*?</ol>`).FindString(body)
	if !regexp.MustCompile(`SEV1 Critical`).MatchString(hits) {
		t.Errorf("the search result does not say the SEV:\n%s", hits)
	}
}
