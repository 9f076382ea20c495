package web

import (
	"os"
	"strings"
	"testing"
)

func TestEveryResponseAPIRouteIsDocumented(t *testing.T) {
	doc, err := os.ReadFile("../../docs/api.md")
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{}
	for _, rt := range s.responseRoutes() {
		if !rt.API {
			continue
		}
		if h := "### " + rt.Method + " " + rt.Pattern + "\n"; !strings.Contains(string(doc), h) {
			t.Errorf("docs/api.md has no heading %q", strings.TrimSpace(h))
		}
	}
}
