package severity

import "testing"

func TestSeverityRankOrdersCriticalFirst(t *testing.T) {
	order := []string{Critical, Error, Warning, Info, "bogus"}
	for i := 1; i < len(order); i++ {
		if Rank(order[i-1]) <= Rank(order[i]) {
			t.Errorf("%s does not outrank %s", order[i-1], order[i])
		}
	}
}

func TestTheScalesMapOntoEachOther(t *testing.T) {
	for _, tc := range []struct{ alert, level, back string }{
		{Critical, "SEV1", Critical},
		{Error, "SEV2", Error},
		{Warning, "SEV3", Warning},
		{Info, "SEV4", Info},
		{"page", "SEV5", Info},
	} {
		if got := LevelFor(tc.alert); got != tc.level {
			t.Errorf("LevelFor(%q) = %s, want %s", tc.alert, got, tc.level)
		}
		if got := AlertFor(tc.level); got != tc.back {
			t.Errorf("AlertFor(%s) = %q, want %q", tc.level, got, tc.back)
		}
	}
}

func TestRankSQLSaysWhatRankSays(t *testing.T) {
	const want = "(CASE severity WHEN 'critical' THEN 4 WHEN 'error' THEN 3 WHEN 'warning' THEN 2 WHEN 'info' THEN 1 ELSE 0 END)"
	if got := RankSQL("severity"); got != want {
		t.Errorf("RankSQL = %s\nwant %s", got, want)
	}
}

func TestOnlySEV1ToSEV5AreLevels(t *testing.T) {
	for level, ok := range map[string]bool{"SEV1": true, "SEV5": true, "SEV0": false, "SEV6": false, "sev1": false, "": false} {
		if ValidLevel(level) != ok {
			t.Errorf("ValidLevel(%q) = %v", level, !ok)
		}
	}
}
