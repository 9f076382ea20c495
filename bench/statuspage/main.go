// Command statuspage measures a status page under load: it starts nines, as serve wires it, on
// loopback with a page of 100 components and 90 days of incident history, then drives it with
// wrk, first /healthz (the ceiling: the cheapest route of the same process) and then the page.
//
//	go run ./bench/statuspage -duration 15s -connections 64
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"runtime/pprof"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/nines-dev/nines/internal/app"
	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/internal/config"
	"github.com/nines-dev/nines/internal/incident"
	"github.com/nines-dev/nines/internal/store"
)

func main() {
	duration := flag.Duration("duration", 15*time.Second, "how long each wrk run lasts")
	conns := flag.Int("connections", 64, "concurrent connections")
	threads := flag.Int("threads", 1, "wrk threads")
	components := flag.Int("components", 100, "components on the page")
	perComponent := flag.Int("incidents", 10, "incidents per component over the 90 days")
	rounds := flag.Int("rounds", 3, "rounds; each round runs every target once, so a shared machine's load falls on all alike")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the server to this file")
	flag.Parse()

	dir, err := os.MkdirTemp("", "nines-bench-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	ctx := context.Background()
	db, err := store.Open(ctx, store.Options{DataDir: dir})
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Migrate(ctx, app.Schemas()); err != nil {
		log.Fatal(err)
	}
	var yml strings.Builder
	yml.WriteString("services:\n")
	for i := 0; i < *components; i++ {
		fmt.Fprintf(&yml, "  - {id: svc-%03d, name: Service %03d}\n", i, i)
	}
	yml.WriteString("status_pages:\n  - id: bench\n    title: Bench Status\n    components:\n")
	for i := 0; i < *components; i++ {
		fmt.Fprintf(&yml, "      - {name: Component %03d, service: svc-%03d, group: Group %d}\n", i, i, i/10)
	}
	cfg, err := config.Parse("bench.yaml", []byte(yml.String()))
	if err != nil {
		log.Fatal(err)
	}
	// 90 days of history: incidents of every severity spread over the components, lasting 5
	// minutes to 4 hours.
	clk := clock.NewFake(time.Now().UTC().AddDate(0, 0, -90))
	incs := incident.New(db, clk, nil)
	rng := rand.New(rand.NewPCG(1, 2))
	sevs := []string{incident.Critical, incident.Error, incident.Warning, incident.Info}
	type opened struct {
		id  int64
		end time.Time
	}
	var open []opened
	n := 0
	const step = 8 * time.Hour
	perStep := float64(*components**perComponent) / float64(90*24*time.Hour/step)
	var owed float64
	for clk.Now().Before(time.Now().UTC().Add(-time.Hour)) {
		owed += perStep
		err := db.Tx(ctx, func(tx *store.Tx) error {
			for ; owed >= 1; owed-- {
				inc, err := incs.Open(ctx, tx, incident.OpenParams{ServiceID: fmt.Sprintf("svc-%03d", rng.IntN(*components)), Severity: sevs[rng.IntN(4)],
					Title: "Bench incident", At: clk.Now(), Actor: incident.Actor{Name: "bench", Source: "bench"}})
				if err != nil {
					return err
				}
				open = append(open, opened{inc.ID, clk.Now().Add(time.Duration(rng.IntN(240)+5) * time.Minute)})
				n++
			}
			return nil
		})
		if err != nil {
			log.Fatal(err)
		}
		clk.Advance(step)
		keep := open[:0]
		for _, o := range open {
			if o.end.Before(clk.Now()) {
				if _, err := incs.Resolve(ctx, o.id, incident.Actor{Name: "bench", Source: "bench"}); err != nil {
					log.Fatal(err)
				}
				continue
			}
			keep = append(keep, o)
		}
		open = keep
	}
	// One critical incident open now, as during the outage that brings the spike.
	real := clock.Real{}
	incsNow := incident.New(db, real, nil)
	db.Tx(ctx, func(tx *store.Tx) error {
		_, err := incsNow.Open(ctx, tx, incident.OpenParams{ServiceID: "svc-007", Severity: incident.Critical, Title: "Checkout down", At: real.Now(),
			Actor: incident.Actor{Name: "bench", Source: "bench"}})
		return err
	})

	nines, err := app.New(ctx, config.NewLive(cfg), db, real, slog.New(slog.NewTextHandler(io.Discard, nil)), app.Options{Version: "bench"})
	if err != nil {
		log.Fatal(err)
	}
	nines.Start()
	defer nines.Stop()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	go http.Serve(ln, nines.Web.Handler())
	base := "http://" + ln.Addr().String()
	page := base + "/status/bench"
	resp, err := http.Get(page)
	if err != nil {
		log.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "Major outage") {
		log.Fatalf("the page is not right: %d", resp.StatusCode)
	}
	req, _ := http.NewRequest("GET", page, nil)
	req.Header.Set("Accept-Encoding", "gzip")
	resp, err = (&http.Client{Transport: &http.Transport{DisableCompression: true}}).Do(req)
	if err != nil {
		log.Fatal(err)
	}
	zipped, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Printf("%d components, %d incidents over 90 days; page %d bytes, %d gzipped (%s)\n", *components, n, len(body), len(zipped), page)

	runs := []struct{ name, url, header string }{
		{"/healthz (ceiling)", base + "/healthz", ""},
		{"status page HTML, gzip", page, "Accept-Encoding: gzip"},
		{"status page HTML, identity", page, ""},
		{"summary.json, gzip", page + "/api/v2/summary.json", "Accept-Encoding: gzip"},
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			log.Fatal(err)
		}
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	// Runs alternate between targets, and each target's figure is its median round, so a
	// change of load on a shared machine does not favour whichever ran first.
	rps := make([][]float64, len(runs))
	p99 := make([][]time.Duration, len(runs))
	for round := 0; round < *rounds; round++ {
		for i, r := range runs {
			v, l, err := wrk(r.url, r.header, *duration, *conns, *threads)
			if err != nil {
				log.Fatal(err)
			}
			rps[i], p99[i] = append(rps[i], v), append(p99[i], l)
		}
	}
	ceiling := median(rps[0])
	fmt.Printf("%d rounds of %v per target, %d connections, wrk -t%d; medians:\n", *rounds, *duration, *conns, *threads)
	for i, r := range runs {
		v := median(rps[i])
		fmt.Printf("%-30s %10.0f req/s   p99 %-8v  %.2fx ceiling\n", r.name, v, medianDuration(p99[i]), v/ceiling)
	}
}

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	return s[len(s)/2]
}

func medianDuration(v []time.Duration) time.Duration {
	s := append([]time.Duration(nil), v...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2].Round(10 * time.Microsecond)
}

var (
	rpsRE = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)
	p99RE = regexp.MustCompile(`\s99%\s+(\S+)`)
)

func wrk(url, header string, d time.Duration, conns, threads int) (float64, time.Duration, error) {
	args := []string{"-t" + strconv.Itoa(threads), "-c" + strconv.Itoa(conns), "-d" + strconv.Itoa(int(d.Seconds())) + "s", "--latency"}
	if header != "" {
		args = append(args, "-H", header)
	}
	out, err := exec.Command("wrk", append(args, url)...).CombinedOutput()
	if err != nil {
		return 0, 0, fmt.Errorf("wrk (apt-get install wrk): %v: %s", err, out)
	}
	m, l := rpsRE.FindSubmatch(out), p99RE.FindSubmatch(out)
	if m == nil || l == nil {
		return 0, 0, fmt.Errorf("cannot read wrk's output: %s", out)
	}
	rps, _ := strconv.ParseFloat(string(m[1]), 64)
	if strings.Contains(string(out), "Non-2xx") || strings.Contains(string(out), "Socket errors") {
		return 0, 0, fmt.Errorf("errors under load: %s", out)
	}
	lat, err := time.ParseDuration(strings.Replace(string(l[1]), "us", "µs", 1))
	if err != nil {
		return 0, 0, fmt.Errorf("wrk's p99 %q: %v", l[1], err)
	}
	return rps, lat, nil
}
