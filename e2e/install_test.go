package e2e

import (
	"bufio"
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"debug/elf"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// repoRoot is the checkout the tests run from.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// checkStatic fails unless the ELF file at path asks for no dynamic loader and no shared
// library: it runs on an empty base image.
func checkStatic(t *testing.T, path string) {
	t.Helper()
	f, err := elf.Open(path)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Errorf("%s asks for a dynamic loader: it is not static", path)
		}
	}
	if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
		t.Errorf("%s needs shared libraries %v", path, libs)
	}
}

// The release script builds a static binary with the version and the commit stamped in.
func TestTheReleaseScriptStampsVersionAndCommit(t *testing.T) {
	out := t.TempDir()
	cmd := exec.Command("./scripts/release")
	cmd.Dir = repoRoot(t)
	cmd.Env = append(os.Environ(), "TARGETS=linux/amd64", "OUT="+out, "VERSION=v9.8.7-test", "COMMIT=0123456789abcdef0123456789abcdef01234567")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("scripts/release: %v\n%s", err, b)
	}
	bin := filepath.Join(out, "nines-v9.8.7-test-linux-amd64")
	checkStatic(t, bin)
	got, err := exec.Command(bin, "version").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"nines v9.8.7-test\n", "commit 0123456789abcdef0123456789abcdef01234567\n"} {
		if !strings.Contains(string(got), want) {
			t.Errorf("nines version printed %q; want it to contain %q", got, want)
		}
	}
	sums, err := os.ReadFile(filepath.Join(out, "SHA256SUMS"))
	if err != nil || !strings.Contains(string(sums), "nines-v9.8.7-test-linux-amd64") {
		t.Errorf("SHA256SUMS: %v %q", err, sums)
	}
	// As docs/deploy.md says: checked from inside the directory, where its names are.
	check := exec.Command("sha256sum", "-c", "SHA256SUMS")
	check.Dir = out
	if b, err := check.CombinedOutput(); err != nil || !strings.Contains(string(b), "nines-v9.8.7-test-linux-amd64: OK") {
		t.Errorf("(cd dist && sha256sum -c SHA256SUMS): %v\n%s", err, b)
	}
	// Every platform a release ships is in the script's default list.
	script, _ := os.ReadFile(filepath.Join(repoRoot(t), "scripts/release"))
	for _, p := range []string{"linux/amd64", "linux/arm64", "darwin/amd64", "darwin/arm64"} {
		if !strings.Contains(string(script), p) {
			t.Errorf("scripts/release does not build %s by default", p)
		}
	}
}

// dockerfile is a Dockerfile read as its instructions, with line continuations joined.
type dockerfile struct {
	stages [][]string // each stage's instructions, FROM first
}

func readDockerfile(t *testing.T, path string) dockerfile {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var d dockerfile
	var cur strings.Builder
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if cur.Len() == 0 && (line == "" || strings.HasPrefix(line, "#")) {
			continue
		}
		if rest, ok := strings.CutSuffix(line, "\\"); ok {
			cur.WriteString(rest + " ")
			continue
		}
		cur.WriteString(line)
		ins := cur.String()
		cur.Reset()
		if strings.HasPrefix(strings.ToUpper(ins), "FROM ") {
			d.stages = append(d.stages, nil)
		}
		if len(d.stages) == 0 {
			t.Fatalf("Dockerfile: %q before the first FROM", ins)
		}
		d.stages[len(d.stages)-1] = append(d.stages[len(d.stages)-1], ins)
	}
	return d
}

// find returns the instructions of a stage with the given keyword.
func (d dockerfile) find(stage int, keyword string) []string {
	var out []string
	for _, ins := range d.stages[stage] {
		if strings.HasPrefix(strings.ToUpper(ins), keyword+" ") {
			out = append(out, strings.TrimSpace(ins[len(keyword):]))
		}
	}
	return out
}

// Docker cannot run here, so the Dockerfile is checked for its shape, and what it builds is
// built with its own command and run as the image would run it: as uid 65532, in a root file
// system holding nothing but the binary, the CA bundle, the config and the data volume.
func TestTheDockerfileBuildsAStaticBinaryThatRunsUnprivilegedOnAnEmptyImage(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to chroot and to run as another user") // CI and every machine of the project run as root
	}
	root := repoRoot(t)
	d := readDockerfile(t, filepath.Join(root, "Dockerfile"))
	if len(d.stages) != 2 {
		t.Fatalf("Dockerfile has %d stages; want 2 (build, then the image)", len(d.stages))
	}
	final := 1
	if from := d.find(final, "FROM"); len(from) != 1 || from[0] != "scratch" {
		t.Errorf("the image is FROM %v; want scratch (a static binary needs nothing)", from)
	}
	if u := d.find(final, "USER"); len(u) != 1 || u[0] != "65532:65532" {
		t.Errorf("USER %v; want 65532:65532, not root", u)
	}
	if v := d.find(final, "VOLUME"); len(v) != 1 || !strings.Contains(v[0], "/var/lib/nines") {
		t.Errorf("VOLUME %v; want the data directory /var/lib/nines", v)
	}
	if h := d.find(final, "HEALTHCHECK"); len(h) != 1 || !strings.Contains(h[0], `"/usr/local/bin/nines", "health"`) {
		t.Errorf("HEALTHCHECK %v; want it to run nines health", h)
	}
	env := map[string]string{}
	for _, e := range d.find(final, "ENV") {
		for _, kv := range strings.Fields(e) {
			if k, v, ok := strings.Cut(kv, "="); ok {
				env[k] = v
			}
		}
	}
	if env["NINES_DATA"] != "/var/lib/nines" || env["NINES_CONFIG"] == "" || env["NINES_LISTEN"] == "" {
		t.Errorf("ENV %v; want NINES_DATA=/var/lib/nines, NINES_CONFIG and NINES_LISTEN", env)
	}

	// The build stage's own go build command.
	var build string
	for _, r := range d.find(0, "RUN") {
		if strings.Contains(r, "go build") {
			build = r
		}
	}
	if !strings.Contains(build, "CGO_ENABLED=0") || !strings.Contains(build, "-o /out/nines") {
		t.Fatalf("the build stage's go build %q: want CGO_ENABLED=0 and -o /out/nines", build)
	}
	out := t.TempDir()
	cmd := exec.Command("sh", "-c", strings.ReplaceAll(build, "/out/", out+"/"))
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "VERSION=v1.0.0-image", "COMMIT=feedface")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", build, err, b)
	}
	checkStatic(t, filepath.Join(out, "nines"))

	// The image's file system: what the final stage copies, and nothing else.
	fs := t.TempDir()
	os.Chmod(fs, 0o755)
	for _, dir := range []string{"usr/local/bin", "etc/ssl/certs", "etc/nines", "var/lib/nines"} {
		if err := os.MkdirAll(filepath.Join(fs, dir), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	copyFile(t, filepath.Join(out, "nines"), filepath.Join(fs, "usr/local/bin/nines"), 0o755)
	copyFile(t, "/etc/ssl/certs/ca-certificates.crt", filepath.Join(fs, "etc/ssl/certs/ca-certificates.crt"), 0o644)
	os.WriteFile(filepath.Join(fs, "etc/nines/nines.yaml"), []byte(baseConfig+"schedules:\n  - id: ops\n    time_zone: Europe/Berlin\n    layers: [{name: primary, rotation: {length: 1w, handoff: \"2026-01-05T09:00\"}, users: [ann]}]\nusers:\n  - {id: ann}\n"), 0o644)
	os.Chown(filepath.Join(fs, "var/lib/nines"), 65532, 65532)
	os.Chmod(filepath.Join(fs, "var/lib/nines"), 0o700)

	addr := freeAddr(t)
	imageEnv := []string{"NINES_DATA=" + env["NINES_DATA"], "NINES_CONFIG=" + env["NINES_CONFIG"], "NINES_LISTEN=" + addr}
	inImage := func(args ...string) *exec.Cmd {
		c := exec.Command("/usr/local/bin/nines", args...)
		c.Path = "/usr/local/bin/nines"
		c.Dir = "/"
		c.Env = imageEnv
		c.SysProcAttr = &syscall.SysProcAttr{Chroot: fs, Credential: &syscall.Credential{Uid: 65532, Gid: 65532}, Pdeathsig: syscall.SIGKILL}
		return c
	}
	v, err := inImage("version").CombinedOutput()
	if err != nil || !strings.Contains(string(v), "nines v1.0.0-image\ncommit feedface\n") {
		t.Fatalf("nines version in the image: %v %q", err, v)
	}
	serve := inImage("serve") // the image's CMD
	var log lockedBuffer
	serve.Stdout, serve.Stderr = &log, &log
	if err := serve.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { serve.Process.Kill(); serve.Wait() }()
	// The HEALTHCHECK: fails until nines is ready, then passes.
	eventually(t, 20*time.Second, func() string {
		if b, err := inImage("health").CombinedOutput(); err != nil {
			return "nines health in the image: " + err.Error() + ": " + string(b) + "\n" + log.String()
		}
		return ""
	})
	for _, f := range []string{"nines.db", "nines.key"} {
		fi, err := os.Stat(filepath.Join(fs, "var/lib/nines", f))
		if err != nil {
			t.Errorf("the volume holds no %s: %v", f, err)
			continue
		}
		if st := fi.Sys().(*syscall.Stat_t); st.Uid != 65532 {
			t.Errorf("%s belongs to uid %d; want 65532", f, st.Uid)
		}
	}
	serve.Process.Signal(syscall.SIGTERM)
	if err := serve.Wait(); err != nil {
		t.Errorf("nines serve in the image did not stop cleanly on SIGTERM: %v\n%s", err, log.String())
	}
	if strings.Contains(log.String(), "level=ERROR") {
		t.Errorf("errors in the log of nines in the image:\n%s", log.String())
	}
	// With nothing listening, the health check fails.
	if b, err := inImage("health").CombinedOutput(); err == nil {
		t.Errorf("nines health passed with nines stopped: %s", b)
	}
}

func copyFile(t *testing.T, from, to string, mode os.FileMode) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, mode); err != nil {
		t.Fatal(err)
	}
}

// The systemd unit passes systemd-analyze verify, with no warning at all.
func TestTheSystemdUnitVerifies(t *testing.T) {
	if _, err := exec.LookPath("systemd-analyze"); err != nil {
		t.Fatal("systemd-analyze is not installed (Debian package systemd; ./scripts/test installs it)")
	}
	unit, err := os.ReadFile(filepath.Join(repoRoot(t), "deploy/nines.service"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"ExecReload=/bin/kill -HUP $MAINPID", "User=nines", "StateDirectory=nines", "NoNewPrivileges=yes", "Restart=always"} {
		if !strings.Contains(string(unit), want) {
			t.Errorf("deploy/nines.service lacks %q", want)
		}
	}
	// verify checks that ExecStart names an executable: the binary under test stands in for
	// /usr/local/bin/nines.
	path := filepath.Join(t.TempDir(), "nines.service")
	os.WriteFile(path, bytes.ReplaceAll(unit, []byte("/usr/local/bin/nines"), []byte(ninesBin)), 0o644)
	out, err := exec.Command("systemd-analyze", "verify", path).CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Errorf("systemd-analyze verify deploy/nines.service: %v\n%s", err, out)
	}
}

// testCA issues certificates for 127.0.0.1.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pool *x509.CertPool
}

func newTestCA(t *testing.T) *testCA {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "nines test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &testCA{cert: cert, key: key, pool: pool}
}

// issue writes a certificate for 127.0.0.1 with the given serial, and its key, as PEM files.
func (ca *testCA) issue(t *testing.T, serial int64, certPath, keyPath string) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "nines"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(key)
	os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
	os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
}

// servedSerial is the serial of the certificate a new TLS connection to addr gets.
func servedSerial(t *testing.T, addr string, pool *x509.CertPool) int64 {
	t.Helper()
	conn, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: pool})
	if err != nil {
		t.Fatalf("TLS handshake with nines: %v", err)
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0].SerialNumber.Int64()
}

// newTLSServer prepares a nines that serves HTTPS itself (server.tls) with a certificate of
// serial 1001 from ca, and a client that trusts ca.
func newTLSServer(t *testing.T) (s *server, ca *testCA, certPath, keyPath string) {
	t.Helper()
	ca = newTestCA(t)
	s = newServer(t, "")
	certPath, keyPath = filepath.Join(s.dir, "tls.crt"), filepath.Join(s.dir, "tls.key")
	ca.issue(t, 1001, certPath, keyPath)
	s.writeConfig(baseConfig + "server:\n  tls: {cert: " + certPath + ", key: " + keyPath + "}\n")
	s.https = true
	s.client = &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{ForceAttemptHTTP2: true, TLSClientConfig: &tls.Config{RootCAs: ca.pool}}}
	return s, ca, certPath, keyPath
}

// With server.tls nines serves HTTPS itself, and a renewed certificate is served after SIGHUP
// without a restart; a broken file at reload leaves the certificate in force.
func TestBuiltInTLSServesHTTPSAndReloadsTheCertificateOnSIGHUP(t *testing.T) {
	s, ca, certPath, keyPath := newTLSServer(t)
	s.start()

	if got := servedSerial(t, s.addr, ca.pool); got != 1001 {
		t.Fatalf("served certificate serial %d; want 1001", got)
	}
	resp, err := s.client.Get(s.url("/healthz"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.ProtoMajor != 2 {
		t.Errorf("HTTPS answered over %s; want HTTP/2 offered", resp.Proto)
	}
	if resp, err := http.Get("http://" + s.addr + "/healthz"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == 200 {
			t.Errorf("plain HTTP was served on the TLS port")
		}
	}
	// The health check of a container asks on loopback, where no certificate names the host.
	if out, err := exec.Command(ninesBin, "health", "--url", s.url("/readyz")).CombinedOutput(); err != nil {
		t.Errorf("nines health over HTTPS on loopback: %v %s", err, out)
	}
	if !strings.Contains(s.log.String(), "nines listening on https://") {
		t.Errorf("nines did not say it listens on https://:\n%s", s.log.String())
	}

	// A renewal (certbot writes new files at the same paths), then SIGHUP.
	ca.issue(t, 1002, certPath, keyPath)
	s.cmd.Process.Signal(syscall.SIGHUP)
	eventually(t, 10*time.Second, func() string {
		if got := servedSerial(t, s.addr, ca.pool); got != 1002 {
			return "after SIGHUP nines still serves the old certificate"
		}
		return ""
	})

	viewer := s.token("viewer") // before the key breaks: the command reads the config too
	// A half-written key: refused, logged, and the certificate in force stays; so does the
	// rest of the config, even a change made in the same file at the same time.
	os.WriteFile(keyPath, []byte("-----BEGIN EC PRIVATE KEY-----\ngarbage\n"), 0o600)
	s.writeConfig(baseConfig + "  - id: search\nserver:\n  tls: {cert: " + certPath + ", key: " + keyPath + "}\n")
	s.cmd.Process.Signal(syscall.SIGHUP)
	eventually(t, 10*time.Second, func() string {
		if !regexp.MustCompile(`TLS certificate not reloaded`).MatchString(s.log.String()) {
			return "nines did not log that the broken certificate was refused"
		}
		return ""
	})
	if got := servedSerial(t, s.addr, ca.pool); got != 1002 {
		t.Errorf("after a broken reload nines serves serial %d; want 1002 kept", got)
	}
	if !strings.Contains(s.log.String(), "config reload refused") {
		t.Errorf("nines did not log that the config with the broken key was refused:\n%s", s.log.String())
	}
	var svcs struct {
		Services []struct{ ID string } `json:"services"`
	}
	req, _ := http.NewRequest("GET", s.url("/api/v1/services"), nil)
	req.Header.Set("Authorization", "Bearer "+viewer)
	resp, err = s.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	json.NewDecoder(resp.Body).Decode(&svcs)
	resp.Body.Close()
	if len(svcs.Services) != 2 {
		t.Errorf("services after the refused reload: %+v; want checkout and payments only (the search service came with the broken key)", svcs.Services)
	}
}
