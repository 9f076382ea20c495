package httpx

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// bodied is r as the route table hands it on: with a place to keep its body.
func bodied(r *http.Request) *http.Request {
	r, _ = WithBody(r, nil)
	return r
}

// FuzzBodyValuesSeeWhatHandlersRead: whatever the body, the scope check finds every target a
// handler decoding it would act on, and hands the handler the body unchanged.
func FuzzBodyValuesSeeWhatHandlersRead(f *testing.F) {
	for _, seed := range []string{
		`{"service": "a"}`, `{"SERVICE": "a"}`, `{"service": "a", "Service": "b"}`, `{"service": "a"} }`, `{"service": "a"}]`,
		`{"results": [{"monitor_id": "m"}, {"MONITOR_ID": "n"}]}`, `{"results": {"monitor_id": "m"}}`, `{"ſervice": "a"}`,
		`service=a&service=b`, `{"service": "\u0061"}`, ``, `[`, `{"teams": ["x", "y"]}`,
		`{"change_id": 42}`, `{"change_id": "42"}`, `{"change_id": 4.2e1}`, `{"Change_ID": 7, "change_id": 9}`,
	} {
		f.Add([]byte(seed), true)
		f.Add([]byte(seed), false)
	}
	f.Fuzz(func(t *testing.T, body []byte, form bool) {
		w := httptest.NewRecorder()
		r := bodied(httptest.NewRequest("POST", "/x", bytes.NewReader(body)))
		if form {
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		services, err := bodyValues(w, r, "service")
		if err != nil {
			return
		}
		if rest, _ := io.ReadAll(r.Body); !bytes.Equal(rest, body) {
			t.Fatalf("the handler gets %q, not the body %q", rest, body)
		}
		var one struct {
			Service string `json:"service"`
		}
		if json.NewDecoder(bytes.NewReader(body)).Decode(&one) == nil && one.Service != "" && !slices.Contains(services, one.Service) {
			t.Fatalf("a handler acts on service %q; the scope check saw %q", one.Service, services)
		}
		if form {
			r2 := httptest.NewRequest("POST", "/x", bytes.NewReader(body))
			r2.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if r2.ParseForm() == nil {
				for _, v := range r2.PostForm["service"] {
					if !slices.Contains(services, v) {
						t.Fatalf("a form handler acts on service %q; the scope check saw %q", v, services)
					}
				}
			}
			// The handler reads the form the scope check parsed.
			if err := ReadForm(w, r, MaxBody); err == nil {
				for _, v := range r.PostForm["service"] {
					if !slices.Contains(services, v) {
						t.Fatalf("the handler reads service %q; the scope check saw %q", v, services)
					}
				}
			}
		}
		// Ids a handler reads as numbers are seen as the same number.
		r4 := bodied(httptest.NewRequest("POST", "/x", bytes.NewReader(body)))
		ids, _ := bodyValues(w, r4, "change_id")
		var cause struct {
			ChangeID int64 `json:"change_id"`
		}
		if json.NewDecoder(bytes.NewReader(body)).Decode(&cause) == nil && cause.ChangeID != 0 &&
			!slices.ContainsFunc(ids, func(v string) bool { n, err := strconv.ParseInt(v, 10, 64); return err == nil && n == cause.ChangeID }) {
			t.Fatalf("a handler acts on change %d; the scope check saw %q", cause.ChangeID, ids)
		}
		r3 := bodied(httptest.NewRequest("POST", "/x", bytes.NewReader(body)))
		monitors, _ := bodyValues(w, r3, "results.monitor_id")
		var batch struct {
			Results []struct {
				MonitorID string `json:"monitor_id"`
			} `json:"results"`
		}
		if json.NewDecoder(bytes.NewReader(body)).Decode(&batch) == nil {
			for _, res := range batch.Results {
				if res.MonitorID != "" && !slices.Contains(monitors, res.MonitorID) {
					t.Fatalf("a handler acts on monitor %q; the scope check saw %q", res.MonitorID, strings.Join(monitors, ","))
				}
			}
		}
	})
}
