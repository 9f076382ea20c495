package config

import (
	"strings"
	"testing"
)

func TestAFailureInsideTheLoaderIsAnErrorAtItsPosition(t *testing.T) {
	t.Parallel()
	var errs Errors
	at := Pos{File: "nines.yaml", Line: 7, Col: 3}
	guard(&errs, func() Pos { return at }, func() {
		errs.add(Pos{File: "nines.yaml", Line: 2, Col: 1}, "found before")
		var m map[string]int
		m["x"] = 1 // a nil map: the kind of mistake the guard exists for
	})
	if len(errs) != 2 || errs[0].Msg != "found before" || errs[1].Pos != at ||
		!strings.Contains(errs[1].Msg, "internal error: assignment to entry in nil map") {
		t.Errorf("errors = %v", errs)
	}
}
