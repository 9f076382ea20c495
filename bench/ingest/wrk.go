package main

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// wrkResult is what one wrk run reports.
type wrkResult struct {
	requests           int
	took               time.Duration
	p50, p99, p999     time.Duration
	errors, statusErrs int
	wrkCPU             time.Duration // CPU time wrk itself used
	serverCPU          time.Duration // CPU time the server used meanwhile
}

func (w wrkResult) rate() float64 { return float64(w.requests) / w.took.Seconds() }

// runWrk drives url with storm.lua for d and reads the script's RESULT line.
func runWrk(script, url, target string, run int, d time.Duration, o options) (wrkResult, error) {
	args := []string{"-t" + strconv.Itoa(o.threads), "-c" + strconv.Itoa(o.clients), "-d" + strconv.Itoa(int(d.Seconds())) + "s",
		"--timeout", "10s", "-s", script, url, "--", target, strconv.Itoa(run), strconv.FormatFloat(o.repeat, 'f', -1, 64),
		strconv.Itoa(o.hotKeys), routingKey}
	cmd := exec.Command("wrk", args...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return wrkResult{}, fmt.Errorf("wrk %s: %v: %s", strings.Join(args, " "), err, out)
	}
	wrkCPU := cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	for _, line := range strings.Split(string(out), "\n") {
		rest, ok := strings.CutPrefix(line, "RESULT ")
		if !ok {
			continue
		}
		v := map[string]int{}
		for _, f := range strings.Fields(rest) {
			k, val, _ := strings.Cut(f, "=")
			v[k], _ = strconv.Atoi(val)
		}
		r := wrkResult{requests: v["requests"], took: time.Duration(v["duration_us"]) * time.Microsecond,
			p50: time.Duration(v["p50_us"]) * time.Microsecond, p99: time.Duration(v["p99_us"]) * time.Microsecond,
			p999: time.Duration(v["p999_us"]) * time.Microsecond, errors: v["errors"], statusErrs: v["status_errors"], wrkCPU: wrkCPU}
		if r.errors > 0 || r.statusErrs > 0 {
			return r, fmt.Errorf("%s: %d transport errors and %d answers other than 2xx out of %d requests", target, r.errors, r.statusErrs, r.requests)
		}
		if r.requests == 0 {
			return r, fmt.Errorf("%s: no request answered", target)
		}
		return r, nil
	}
	return wrkResult{}, fmt.Errorf("wrk printed no RESULT line: %s", out)
}

// alertmanager is a private Alertmanager process. Between its rounds it is stopped (SIGSTOP),
// so that it takes no CPU from nines while nines is measured, and keeps the alerts it holds.
type alertmanager struct {
	cmd *exec.Cmd
	url string
}

const alertmanagerConfig = `route:
  receiver: blackhole
  group_by: [alertname]
receivers:
  - name: blackhole
`

func startAlertmanager(bin, dir string) (*alertmanager, error) {
	cfg := filepath.Join(dir, "alertmanager.yml")
	if err := os.WriteFile(cfg, []byte(alertmanagerConfig), 0o600); err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := l.Addr().String()
	l.Close()
	cmd := exec.Command(bin, "--config.file="+cfg, "--storage.path="+filepath.Join(dir, "am"),
		"--web.listen-address="+addr, "--cluster.listen-address=", "--log.level=warn")
	logf, err := os.Create(filepath.Join(dir, "alertmanager.log"))
	if err != nil {
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	am := &alertmanager{cmd: cmd, url: "http://" + addr}
	for i := 0; i < 200; i++ {
		resp, err := http.Get(am.url + "/-/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return am, nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	am.stop()
	return nil, fmt.Errorf("alertmanager did not become ready; see %s", logf.Name())
}

func (am *alertmanager) pause() { am.cmd.Process.Signal(syscall.SIGSTOP) }

// cpu is the CPU time the Alertmanager process has used.
func (am *alertmanager) cpu() time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", am.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	// The fields after the command name (which may hold spaces) start at its closing ')'.
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(utime+stime) * time.Second / 100 // USER_HZ
}
func (am *alertmanager) resume() { am.cmd.Process.Signal(syscall.SIGCONT) }
func (am *alertmanager) stop() {
	am.cmd.Process.Signal(syscall.SIGCONT)
	am.cmd.Process.Kill()
	am.cmd.Wait()
}

// compareWithAlertmanager measures, for each database, nines under wrk and storm.lua, and
// beside it (with -alertmanager) Alertmanager under the same script, and the bare-INSERT
// ceiling of the batches nines committed, in alternating rounds.
func compareWithAlertmanager(dbs string, o options) {
	if _, err := exec.LookPath("wrk"); err != nil {
		fmt.Fprintln(os.Stderr, "wrk is not installed (apt-get install -y wrk)")
		os.Exit(1)
	}
	dir, err := os.MkdirTemp("", "nines-bench-wrk-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer os.RemoveAll(dir)
	script := filepath.Join(dir, "storm.lua")
	if err := os.WriteFile(script, stormScript, 0o644); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("# wrk -t%d -c%d -s storm.lua: one alert per request, %.0f%% repeating one of %d keys; %v per target in %d rounds after %v warm-up; GOMAXPROCS=%d; %s\n",
		o.threads, o.clients, o.repeat*100, o.hotKeys, o.duration, o.rounds, o.warmup, runtime.GOMAXPROCS(0), time.Now().UTC().Format(time.RFC3339))
	fmt.Printf("%-9s %9s %8s %8s %8s %9s %9s %8s %8s %7s %10s %8s %9s %9s %9s\n", "database", "nines/s", "p50", "p99", "p99.9", "ev/commit",
		"alertmgr/s", "p50", "p99", "ratio", "ceiling/s", "of ceil.", "cpu µs/ev", "am µs/req", "cpu ratio")
	for _, name := range strings.Split(dbs, ",") {
		if err := compareOne(strings.TrimSpace(name), script, dir, o); err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
			os.Exit(1)
		}
	}
}

func compareOne(name, script, dir string, o options) error {
	ctx := context.Background()
	r, err := startNines(name, o)
	if err != nil {
		return err
	}
	defer r.close()
	var am *alertmanager
	if o.alertmanager != "" {
		amDir := filepath.Join(dir, "am-"+name)
		if err := os.MkdirAll(amDir, 0o700); err != nil {
			return err
		}
		if am, err = startAlertmanager(o.alertmanager, amDir); err != nil {
			return err
		}
		defer am.stop()
		am.pause()
	}
	ninesURL := "http://" + r.addr
	run := 0
	round := o.duration / time.Duration(o.rounds)
	if round < time.Second {
		round = time.Second
	}
	load0 := loadAvg()
	var nines, alert []wrkResult
	var cpu, ceilingTook time.Duration
	var commits, ceilingRows int
	for i := 0; i < o.rounds; i++ {
		// Alertmanager first, then nines, then the ceiling of what nines committed: the three
		// see the same minute of a machine whose other load comes and goes.
		if am != nil {
			am.resume()
			if i == 0 && o.warmup > 0 {
				run++
				if _, err := runWrk(script, am.url, "alertmanager", run, o.warmup, o); err != nil {
					return err
				}
			}
			run++
			cpu0 := am.cpu()
			res, err := runWrk(script, am.url, "alertmanager", run, round, o)
			res.serverCPU = am.cpu() - cpu0
			am.pause()
			if err != nil {
				return err
			}
			alert = append(alert, res)
		}
		if i == 0 && o.warmup > 0 {
			run++
			if _, err := runWrk(script, ninesURL, "nines", run, o.warmup, o); err != nil {
				return err
			}
		}
		var prof *os.File
		if i == 0 && o.profile != "" {
			if prof, err = os.Create(o.profile + "." + name); err != nil {
				return err
			}
			pprof.StartCPUProfile(prof)
		}
		r.takeBatches()
		r.measuring.Store(true)
		run++
		cpu0 := cpuTime()
		res, err := runWrk(script, ninesURL, "nines", run, round, o)
		res.serverCPU = cpuTime() - cpu0
		cpu += res.serverCPU
		r.measuring.Store(false)
		if prof != nil {
			pprof.StopCPUProfile()
			prof.Close()
			if f, err := os.Create(o.profile + "." + name + ".allocs"); err == nil {
				pprof.Lookup("allocs").WriteTo(f, 0)
				f.Close()
			}
		}
		if err != nil {
			return err
		}
		nines = append(nines, res)
		batches := r.takeBatches()
		commits += len(batches)
		n, d, err := measureCeiling(ctx, r.db, batches, bodySize(o))
		if err != nil {
			return fmt.Errorf("ceiling: %w", err)
		}
		ceilingRows += n
		ceilingTook += d
		line := fmt.Sprintf("# %s round %d: load %s; nines %.0f/s p99 %s, CPU per request %s + wrk %s", name, i+1, loadAvg(), res.rate(), ms(res.p99),
			perReq(res.serverCPU, res.requests), perReq(res.wrkCPU, res.requests))
		if am != nil {
			a := alert[len(alert)-1]
			line += fmt.Sprintf("; alertmanager %.0f/s p99 %s, CPU per request %s + wrk %s; ratio %.2f", a.rate(), ms(a.p99),
				perReq(a.serverCPU, a.requests), perReq(a.wrkCPU, a.requests), res.rate()/a.rate())
		}
		fmt.Println(line)
	}
	fmt.Printf("# %s: load average %s before, %s after (the machine is shared)\n", name, load0, loadAvg())
	r.walSize()
	nr, nres := total(nines)
	ceiling := float64(ceilingRows) / ceilingTook.Seconds()
	// The CPU ratio compares what one request costs each server with wrk's share of it: the
	// rate ratio a machine with nothing else running would show, were both bound by CPU.
	amRate, amP50, amP99, ratio, amCPU, cpuRatio := "-", "-", "-", "-", "-", "-"
	if len(alert) > 0 {
		ar, ares := total(alert)
		amRate, amP50, amP99 = strconv.FormatFloat(ar, 'f', 0, 64), ms(ares.p50), ms(ares.p99)
		ratio = strconv.FormatFloat(nr/ar, 'f', 2, 64)
		amPer, ninesPer := cpuPer(alert), cpuPer(nines)
		amCPU = strconv.FormatFloat(amPer[0], 'f', 0, 64)
		cpuRatio = strconv.FormatFloat((amPer[0]+amPer[1])/(ninesPer[0]+ninesPer[1]), 'f', 2, 64)
	}
	fmt.Printf("%-9s %9.0f %8s %8s %8s %9.1f %9s %8s %8s %7s %10.0f %7.0f%% %9.0f %9s %9s\n", name, nr, ms(nres.p50), ms(nres.p99), ms(nres.p999),
		float64(nres.requests)/float64(max(commits, 1)), amRate, amP50, amP99, ratio, ceiling, 100*nr/ceiling,
		float64(cpu.Microseconds())/float64(nres.requests), amCPU, cpuRatio)
	return nil
}

// cpuPer is the server's and wrk's CPU time per request over all rounds, in µs.
func cpuPer(rs []wrkResult) [2]float64 {
	var server, load time.Duration
	n := 0
	for _, r := range rs {
		server += r.serverCPU
		load += r.wrkCPU
		n += r.requests
	}
	return [2]float64{float64(server.Microseconds()) / float64(max(n, 1)), float64(load.Microseconds()) / float64(max(n, 1))}
}

func perReq(cpu time.Duration, n int) string {
	return strconv.FormatFloat(float64(cpu.Microseconds())/float64(max(n, 1)), 'f', 0, 64) + "µs"
}

// bodySize is the size of a typical event body, which the ceiling's rows take.
func bodySize(o options) int {
	var b bytes.Buffer
	eventBody(&b, 0, 0, 0, rand.New(rand.NewPCG(1, 1)), o)
	return b.Len()
}

// total is the rate over all rounds and the median round's latency percentiles (wrk reports
// percentiles per run, which cannot be merged).
func total(rs []wrkResult) (float64, wrkResult) {
	var sum wrkResult
	for _, r := range rs {
		sum.requests += r.requests
		sum.took += r.took
	}
	median := func(f func(wrkResult) time.Duration) time.Duration {
		v := make([]time.Duration, len(rs))
		for i, r := range rs {
			v[i] = f(r)
		}
		slices.Sort(v)
		return v[len(v)/2]
	}
	sum.p50 = median(func(r wrkResult) time.Duration { return r.p50 })
	sum.p99 = median(func(r wrkResult) time.Duration { return r.p99 })
	sum.p999 = median(func(r wrkResult) time.Duration { return r.p999 })
	return sum.rate(), sum
}
