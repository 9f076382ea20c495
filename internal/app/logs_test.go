package app

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"testing"
)

// BenchmarkTimelineLogOfANewAlert is what logging costs each new alert on the ingest path
// (decoding its timeline data, the line itself), to weigh against the ingest budget.
func BenchmarkTimelineLogOfANewAlert(b *testing.B) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	data := `{"action":"trigger","alert_id":81234,"dedup_key":"unique-17-4411","severity":"error","source":"e2e","summary":"checkout unique-17-4411 failing"}`
	b.ReportAllocs()
	for b.Loop() {
		var d logged
		json.Unmarshal([]byte(data), &d)
		log.Log(context.Background(), slog.LevelInfo, "alert.triggered", d.attrs(1234)...)
	}
}
