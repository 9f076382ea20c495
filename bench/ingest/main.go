// Command ingest measures nines' ingest path end to end: Events API v2 triggers posted over HTTP
// on loopback by concurrent clients, through nines as `nines serve` wires it (handlers, the
// group-committing alert pipeline and every hook a new incident runs), into a durable database:
// SQLite, whose WAL is flushed to disk before any answer, or a private PostgreSQL with fsync=on.
// Beside it, in the same run and the same database, it measures a ceiling: the same number of
// bare single-row INSERTs of the same size, committed in transactions of exactly the sizes the
// pipeline committed, so the ratio shows what dedup, incidents, the timeline and HTTP cost on top
// of the storage engine's durable writes.
//
// With -load wrk the requests come from wrk running storm.lua instead of the command's own
// clients, and with -alertmanager the same script drives a real Prometheus Alertmanager (which
// keeps alerts in memory only) in rounds alternating with nines', so the two rates compare on
// the same machine under the same load.
//
//	go run ./bench/ingest -db sqlite,postgres -clients 32 -duration 40s -rounds 4
//	go run ./bench/ingest -load wrk -alertmanager /usr/bin/prometheus-alertmanager -db sqlite,postgres
package main

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	_ "embed"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/nines-dev/nines/internal/app"
	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/internal/config"
	"github.com/nines-dev/nines/internal/store"
)

const routingKey = "bench0routing0key0events0v20001a"

const benchConfig = `services:
  - id: checkout
    integrations:
      - type: events_v2
        key: ` + routingKey + `
`

//go:embed storm.lua
var stormScript []byte

type options struct {
	load         string // client or wrk
	alertmanager string // path to an Alertmanager binary to measure beside nines
	threads      int    // wrk threads
	clients      int
	duration     time.Duration
	warmup       time.Duration
	repeat       float64
	hotKeys      int
	profile      string
	pgURL        string
	rounds       int
}

func main() {
	var o options
	dbs := flag.String("db", "sqlite,postgres", "databases to measure: sqlite, postgres, or both separated by a comma")
	flag.StringVar(&o.load, "load", "client", "load generator: client (the command's own HTTP/1.1 clients) or wrk (wrk running storm.lua)")
	flag.StringVar(&o.alertmanager, "alertmanager", "", "Alertmanager binary to measure beside nines under the same wrk script (implies -load wrk)")
	flag.IntVar(&o.threads, "threads", 2, "wrk threads (with -load wrk)")
	flag.IntVar(&o.clients, "clients", 32, "concurrent HTTP clients, each with one request outstanding (wrk connections with -load wrk)")
	flag.DurationVar(&o.duration, "duration", 20*time.Second, "measured time per database")
	flag.DurationVar(&o.warmup, "warmup", 3*time.Second, "unmeasured time before measuring")
	flag.Float64Var(&o.repeat, "repeat", 0.5, "share of events that repeat a dedup key already sent")
	flag.IntVar(&o.hotKeys, "hot-keys", 1000, "number of dedup keys the repeats are drawn from")
	flag.StringVar(&o.profile, "cpuprofile", "", "write a CPU profile of the first measured round to FILE.<db> (with -load wrk, and the allocations up to then to FILE.<db>.allocs)")
	flag.IntVar(&o.rounds, "rounds", 4, "rounds of pipeline then ceiling the measured time is split into")
	flag.StringVar(&o.pgURL, "pg", "", "PostgreSQL server URL to use instead of starting a private one (it must run with fsync=on)")
	flag.Parse()
	if o.alertmanager != "" {
		o.load = "wrk"
	}
	if o.load != "client" && o.load != "wrk" {
		fmt.Fprintf(os.Stderr, "-load: %q is neither client nor wrk\n", o.load)
		os.Exit(2)
	}
	if o.load == "wrk" {
		compareWithAlertmanager(*dbs, o)
		return
	}

	fmt.Printf("# %d clients, %.0f%% repeated dedup keys, %v measured in %d rounds after %v warm-up, GOMAXPROCS=%d, %s\n",
		o.clients, o.repeat*100, o.duration, o.rounds, o.warmup, runtime.GOMAXPROCS(0), time.Now().UTC().Format(time.RFC3339))
	fmt.Printf("%-9s %10s %8s %8s %8s %10s %12s %7s %9s\n", "database", "events/s", "p50", "p99", "p99.9", "ev/commit", "ceiling/s", "ratio",
		"cpu µs/ev")
	for _, name := range strings.Split(*dbs, ",") {
		if err := runOne(strings.TrimSpace(name), o); err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
			os.Exit(1)
		}
	}
}

// rig is nines running in this process on one database, as nines serve wires it.
type rig struct {
	name string
	dir  string
	db   *store.DB
	addr string
	// measuring makes Committed record batch sizes.
	measuring atomic.Bool
	mu        sync.Mutex
	batches   []int // events per commit while measuring
	stop      []func()
}

// takeBatches returns the batch sizes recorded since the last call.
func (r *rig) takeBatches() []int {
	r.mu.Lock()
	defer r.mu.Unlock()
	b := r.batches
	r.batches = nil
	return b
}

func (r *rig) close() {
	for i := len(r.stop) - 1; i >= 0; i-- {
		r.stop[i]()
	}
}

// startNines opens a fresh database of the named kind and serves nines on it on loopback.
func startNines(name string, o options) (*rig, error) {
	ctx := context.Background()
	r := &rig{name: name}
	dir, err := os.MkdirTemp("", "nines-bench-")
	if err != nil {
		return nil, err
	}
	r.dir = dir
	r.stop = append(r.stop, func() { os.RemoveAll(dir) })
	fail := func(err error) (*rig, error) {
		r.close()
		return nil, err
	}
	var opt store.Options
	switch name {
	case "sqlite":
		opt.DataDir = dir
	case "postgres":
		opt.Key = []byte("nines-bench-key-0123456789abcdef0123456789") // a throwaway database's
		opt.URL = o.pgURL
		if opt.URL == "" {
			url, stop, err := startPostgres(dir)
			if err != nil {
				return fail(err)
			}
			r.stop = append(r.stop, stop)
			opt.URL = url
		}
	default:
		return fail(fmt.Errorf("unknown database %q (want sqlite or postgres)", name))
	}
	db, err := store.Open(ctx, opt)
	if err != nil {
		return fail(err)
	}
	r.db = db
	r.stop = append(r.stop, func() { db.Close() })
	if db.Dialect == store.Postgres {
		if err := dropAll(ctx, db); err != nil {
			return fail(err)
		}
	}
	// The same schemas and the same wiring as nines serve (internal/app), so every hook a
	// commit runs in production (escalation, status pages, ...) runs here too.
	if _, err := db.Migrate(ctx, app.Schemas()); err != nil {
		return fail(err)
	}
	cfg, err := config.Parse("bench.yaml", []byte(benchConfig))
	if err != nil {
		return fail(err)
	}
	a, err := app.New(ctx, config.NewLive(cfg), db, clock.Real{}, slog.New(slog.NewTextHandler(io.Discard, nil)), app.Options{Version: "bench"})
	if err != nil {
		return fail(err)
	}
	a.Pipeline.Committed = func(events int, took time.Duration) {
		if r.measuring.Load() {
			r.mu.Lock()
			r.batches = append(r.batches, events)
			r.mu.Unlock()
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fail(err)
	}
	r.addr = ln.Addr().String()
	httpSrv := &http.Server{Handler: a.Web.Handler(), ReadHeaderTimeout: 10 * time.Second}
	a.Start()
	go httpSrv.Serve(ln)
	r.stop = append(r.stop, func() {
		httpSrv.Shutdown(ctx)
		a.Stop()
	})
	return r, nil
}

// walSize says how large SQLite's WAL is at the end of a run.
func (r *rig) walSize() {
	if fi, err := os.Stat(filepath.Join(r.dir, "nines.db-wal")); err == nil {
		fmt.Printf("# %s: WAL %.1f MB at the end of the run\n", r.name, float64(fi.Size())/(1<<20))
	}
}

func runOne(name string, o options) error {
	ctx := context.Background()
	r, err := startNines(name, o)
	if err != nil {
		return err
	}
	defer r.close()

	// Rounds alternate the pipeline and its ceiling, so that both see the same share of a
	// machine whose other load comes and goes.
	load0 := loadAvg()
	var all []time.Duration
	var took, cpu, ceilingTook time.Duration
	var commits, ceilingRows, rowSize int
	for round := 0; round < o.rounds; round++ {
		warmup := time.Duration(0)
		if round == 0 {
			warmup = o.warmup
		}
		profile := ""
		if round == 0 && o.profile != "" {
			profile = o.profile + "." + name
		}
		res := drive(r.addr, o, round, warmup, o.duration/time.Duration(o.rounds), profile, &r.measuring)
		if res.err != nil {
			return res.err
		}
		all = append(all, res.lat...)
		took += res.took
		cpu += res.cpu
		batches := r.takeBatches()
		commits += len(batches)
		rowSize = res.bodySize
		n, d, err := measureCeiling(ctx, r.db, batches, res.bodySize)
		if err != nil {
			return fmt.Errorf("ceiling: %w", err)
		}
		ceilingRows += n
		ceilingTook += d
	}
	fmt.Printf("# %s: load average %s before, %s after (the machine is shared); ceiling rows of %d bytes\n", name, load0, loadAvg(), rowSize)
	r.walSize()
	if len(all) == 0 {
		return fmt.Errorf("no request finished while measuring")
	}
	slices.Sort(all)
	q := func(p float64) time.Duration { return all[int(p*float64(len(all)-1))] }
	rate := float64(len(all)) / took.Seconds()
	ceiling := float64(ceilingRows) / ceilingTook.Seconds()
	fmt.Printf("%-9s %10.0f %8s %8s %8s %10.1f %12.0f %6.0f%% %9.0f\n", name, rate, ms(q(0.5)), ms(q(0.99)), ms(q(0.999)),
		float64(len(all))/float64(max(commits, 1)), ceiling, 100*rate/ceiling, float64(cpu.Microseconds())/float64(len(all)))
	return nil
}

type result struct {
	lat      []time.Duration // of every request answered while measuring
	took     time.Duration
	bodySize int
	cpu      time.Duration // CPU time of this process (server and clients) while measuring
	err      error
}

// drive runs the clients for warm-up plus duration and measures the second part.
func drive(addr string, o options, round int, warmup, duration time.Duration, profile string, measuring *atomic.Bool) result {
	var stop, measure atomic.Bool
	var firstErr atomic.Value
	lat := make([][]time.Duration, o.clients)
	var bodySize atomic.Int64
	var wg sync.WaitGroup
	for c := 0; c < o.clients; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			conn, err := dialHTTP(addr)
			if err != nil {
				firstErr.CompareAndSwap(nil, err)
				return
			}
			defer conn.Close()
			rng := rand.New(rand.NewPCG(uint64(c), uint64(round)))
			var body, req bytes.Buffer
			mine := make([]time.Duration, 0, 1<<16)
			for n := 0; !stop.Load(); n++ {
				body.Reset()
				eventBody(&body, round, c, n, rng, o)
				bodySize.Store(int64(body.Len()))
				req.Reset()
				req.WriteString("POST /v2/enqueue HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\nContent-Length: ")
				req.WriteString(strconv.Itoa(body.Len()))
				req.WriteString("\r\n\r\n")
				req.Write(body.Bytes())
				start := time.Now()
				status, err := conn.roundTrip(req.Bytes())
				if err != nil {
					firstErr.CompareAndSwap(nil, err)
					return
				}
				if status != http.StatusAccepted {
					firstErr.CompareAndSwap(nil, fmt.Errorf("answer %d", status))
					return
				}
				if measure.Load() {
					mine = append(mine, time.Since(start))
				}
			}
			lat[c] = mine
		}(c)
	}
	time.Sleep(warmup)
	var f *os.File
	if profile != "" {
		var err error
		if f, err = os.Create(profile); err == nil {
			pprof.StartCPUProfile(f)
		}
	}
	measuring.Store(true)
	measure.Store(true)
	start, cpu0 := time.Now(), cpuTime()
	time.Sleep(duration)
	measure.Store(false)
	measuring.Store(false)
	took, cpu := time.Since(start), cpuTime()-cpu0
	if f != nil {
		pprof.StopCPUProfile()
		f.Close()
	}
	stop.Store(true)
	wg.Wait()
	if err, _ := firstErr.Load().(error); err != nil {
		return result{err: err}
	}
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	return result{lat: all, took: took, bodySize: int(bodySize.Load()), cpu: cpu}
}

// httpConn is one client's keep-alive connection. The clients share the two cores with the
// server, so they speak just enough HTTP/1.1 to send a request and read the answer's status and
// body, leaving the CPU to the server rather than to a general-purpose client.
type httpConn struct {
	net.Conn
	r *bufio.Reader
}

func dialHTTP(addr string) (*httpConn, error) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	return &httpConn{Conn: c, r: bufio.NewReaderSize(c, 4096)}, nil
}

// roundTrip writes one request and reads its answer, returning the status code.
func (c *httpConn) roundTrip(req []byte) (int, error) {
	if _, err := c.Write(req); err != nil {
		return 0, err
	}
	line, err := c.r.ReadSlice('\n')
	if err != nil {
		return 0, err
	}
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.1 ")) {
		return 0, fmt.Errorf("bad status line %q", line)
	}
	status, err := strconv.Atoi(string(line[9:12]))
	if err != nil {
		return 0, fmt.Errorf("bad status line %q", line)
	}
	length := -1
	for {
		line, err := c.r.ReadSlice('\n')
		if err != nil {
			return 0, err
		}
		if len(bytes.TrimSpace(line)) == 0 {
			break
		}
		if k, v, ok := bytes.Cut(line, []byte(":")); ok && bytes.EqualFold(k, []byte("Content-Length")) {
			length, err = strconv.Atoi(string(bytes.TrimSpace(v)))
			if err != nil {
				return 0, fmt.Errorf("bad Content-Length %q", v)
			}
		}
	}
	if length < 0 {
		return 0, fmt.Errorf("answer %d without a Content-Length", status)
	}
	_, err = c.r.Discard(length)
	return status, err
}

// eventBody writes a trigger like a busy exporter's: half the time for a new dedup key, half
// the time for one of a set of keys that keep firing.
func eventBody(buf *bytes.Buffer, round, client, n int, rng *rand.Rand, o options) {
	var key string
	if rng.Float64() < o.repeat {
		key = "hot-" + strconv.Itoa(rng.IntN(o.hotKeys))
	} else {
		key = "r" + strconv.Itoa(round) + "c" + strconv.Itoa(client) + "-" + strconv.Itoa(n)
	}
	fmt.Fprintf(buf, `{"routing_key":%q,"event_action":"trigger","dedup_key":%q,"payload":{"summary":"High 5xx rate on checkout-api (%s)",`+
		`"source":"checkout-api-%d.prod","severity":"error","component":"checkout-api","group":"prod-eu",`+
		`"custom_details":{"error_rate":0.124,"threshold":0.05,"region":"eu-west-1"}}}`, routingKey, key, key, client)
}

// measureCeiling writes the same number of rows, each the size of an event body, as single-row
// INSERT statements committed in transactions of the sizes the pipeline committed, through the
// same writer connection with the same durability, and overlapping the flush of one transaction
// with the next as the pipeline does (at most two waiting for the disk). It returns the rows
// written and the time taken until the last one was durable.
func measureCeiling(ctx context.Context, db *store.DB, batches []int, size int) (int, time.Duration, error) {
	if _, err := db.Exec(ctx, `CREATE TABLE IF NOT EXISTS bench_ceiling (id `+idType(db)+`, body TEXT NOT NULL)`); err != nil {
		return 0, 0, err
	}
	body := strings.Repeat("x", size)
	total := 0
	unanswered := make(chan struct{}, 2)
	var flushErr atomic.Value
	start := time.Now()
	for _, n := range batches {
		unanswered <- struct{}{}
		err := db.TxThen(ctx, func(tx *store.Tx) error {
			for i := 0; i < n; i++ {
				if _, err := tx.Exec(ctx, `INSERT INTO bench_ceiling (body) VALUES (?)`, body); err != nil {
					return err
				}
			}
			return nil
		}, func(err error) {
			if err != nil {
				flushErr.CompareAndSwap(nil, err)
			}
			<-unanswered
		})
		if err != nil {
			return 0, 0, err
		}
		total += n
	}
	unanswered <- struct{}{}
	unanswered <- struct{}{}
	if err, _ := flushErr.Load().(error); err != nil {
		return 0, 0, err
	}
	return total, time.Since(start), nil
}

func idType(db *store.DB) string {
	if db.Dialect == store.Postgres {
		return "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"
	}
	return "INTEGER PRIMARY KEY AUTOINCREMENT"
}

// dropAll empties a PostgreSQL database given with -pg, so every run starts from nothing.
func dropAll(ctx context.Context, db *store.DB) error {
	_, err := db.Exec(ctx, `DROP SCHEMA public CASCADE; CREATE SCHEMA public`)
	return err
}

// startPostgres runs a private PostgreSQL server with its durable defaults (fsync=on,
// synchronous_commit=on), as the postgres user when running as root.
func startPostgres(dir string) (string, func(), error) {
	bins, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.Sort(bins)
	if len(bins) == 0 {
		return "", nil, fmt.Errorf("no PostgreSQL server binaries under /usr/lib/postgresql (apt-get install postgresql), or pass -pg URL")
	}
	bin := bins[len(bins)-1]
	attr := &syscall.SysProcAttr{Pdeathsig: syscall.SIGQUIT}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return "", nil, err
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		attr.Credential = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		os.Chown(dir, uid, gid)
	}
	data := filepath.Join(dir, "pg")
	initdb := exec.Command(filepath.Join(bin, "initdb"), "-D", data, "-U", "nines", "--auth=trust", "-E", "UTF8")
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: attr.Credential}
	if out, err := initdb.CombinedOutput(); err != nil {
		return "", nil, fmt.Errorf("initdb: %v: %s", err, out)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	pg := exec.Command(filepath.Join(bin, "postgres"), "-D", data, "-c", "listen_addresses=127.0.0.1",
		"-c", fmt.Sprintf("port=%d", port), "-c", "unix_socket_directories="+dir,
		"-c", "fsync=on", "-c", "synchronous_commit=on", "-c", "full_page_writes=on")
	pg.SysProcAttr = attr
	logf, _ := os.Create(filepath.Join(dir, "pg.log"))
	pg.Stdout, pg.Stderr = logf, logf
	if err := pg.Start(); err != nil {
		return "", nil, err
	}
	stop := func() {
		pg.Process.Signal(syscall.SIGINT)
		pg.Wait()
	}
	url := fmt.Sprintf("postgres://nines@127.0.0.1:%d/postgres?sslmode=disable", port)
	for i := 0; i < 300; i++ {
		db, err := sql.Open("pgx", url)
		if err == nil {
			err = db.Ping()
			db.Close()
		}
		if err == nil {
			return url, stop, nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	stop()
	return "", nil, fmt.Errorf("postgres did not start; see %s", filepath.Join(dir, "pg.log"))
}

// loadAvg is the one-minute load average, which shows how much else ran during a measurement.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return strings.Fields(string(b))[0]
}

// cpuTime is the user and system CPU time this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func ms(d time.Duration) string {
	return strconv.FormatFloat(float64(d.Microseconds())/1000, 'f', 2, 64) + "ms"
}
