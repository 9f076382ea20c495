package store

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// A backup of the embedded database is a gzipped tar archive holding MANIFEST.json, nines.db
// (a consistent snapshot) and, when nines keeps one, nines.key: without the key, the links,
// feeds and forms signed before the restore stop working (see Secret).
const (
	manifestName = "MANIFEST.json"
	dbName       = "nines.db"
	backupFormat = 1
)

// Manifest describes a backup archive.
type Manifest struct {
	Format  int               `json:"format"`
	Created time.Time         `json:"created"`
	Version string            `json:"nines_version"` // the nines that made it
	Schema  map[string]int    `json:"schema"`        // schema version of every component
	Files   map[string]string `json:"files"`         // name -> sha256
	// Key says where the key is: "file" (in the archive), "environment" (NINES_KEY, not in
	// the archive) or "separate" (left out on purpose: kept apart).
	Key string `json:"key"`
}

// BackupOptions says what to back up.
type BackupOptions struct {
	// DataDir holds nines.db.
	DataDir string
	// KeyFile is the key file to put in the archive; empty means DataDir's nines.key.
	KeyFile string
	// KeyFromEnv is set when nines runs with NINES_KEY: the archive then holds no key.
	KeyFromEnv bool
	// NoKey leaves the key file out, for who keeps it apart from the database's backups.
	NoKey bool
	// Version is the nines making the backup, recorded in the manifest.
	Version string
	// Now stamps the manifest.
	Now time.Time
}

// Backup writes a consistent snapshot of the SQLite database in opt.DataDir, and its key, to w
// as a gzipped tar archive. It runs beside a nines that serves: the snapshot is one read
// transaction (VACUUM INTO), so it holds every commit made before it began and none after,
// and it never stops the writer.
func Backup(ctx context.Context, opt BackupOptions, w io.Writer) (Manifest, error) {
	src := filepath.Join(opt.DataDir, dbName)
	if _, err := os.Stat(src); err != nil {
		return Manifest{}, fmt.Errorf("no database to back up: %w", err)
	}
	// What a backup killed midway left (a full-size copy of the database) goes first.
	if _, err := RemoveStale(opt.DataDir, backupTemp); err != nil {
		return Manifest{}, fmt.Errorf("backup: removing what an interrupted backup left: %w", err)
	}
	held, err := holdTemp(opt.DataDir, backupTemp, true)
	if err != nil {
		return Manifest{}, fmt.Errorf("backup: %w", err)
	}
	defer held.Close()
	tmpDir := held.Name()
	defer os.RemoveAll(tmpDir)
	snap := filepath.Join(tmpDir, dbName)
	// Not query_only: SQLite counts writing the copy against it. Nothing writes the source.
	conn, err := sql.Open("sqlite", "file:"+src+"?_pragma=busy_timeout(10000)")
	if err != nil {
		return Manifest{}, err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "VACUUM INTO ?", snap); err != nil {
		return Manifest{}, fmt.Errorf("snapshot of %s: %w", src, err)
	}
	schema, err := checkSnapshot(ctx, snap)
	if err != nil {
		return Manifest{}, err
	}
	m := Manifest{Format: backupFormat, Created: opt.Now.UTC(), Version: opt.Version, Schema: schema, Files: map[string]string{}}
	files := map[string]string{dbName: snap}
	switch {
	case opt.KeyFromEnv:
		m.Key = "environment"
	case opt.NoKey:
		m.Key = "separate"
	default:
		keyPath := opt.KeyFile
		if keyPath == "" {
			keyPath = filepath.Join(opt.DataDir, KeyFileName)
		}
		if _, err := ReadKey(keyPath); err != nil {
			return Manifest{}, fmt.Errorf("backup: the key file: %w", err)
		}
		m.Key, files[KeyFileName] = "file", keyPath
	}
	for name, path := range files {
		sum, err := fileSHA256(path)
		if err != nil {
			return Manifest{}, err
		}
		m.Files[name] = sum
	}
	return m, writeArchive(w, m, files)
}

// checkSnapshot checks a database file's integrity and reads its schema versions.
func checkSnapshot(ctx context.Context, path string) (map[string]int, error) {
	conn, err := sql.Open("sqlite", "file:"+path+"?_pragma=query_only(1)")
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	if err := integrity(ctx, conn); err != nil {
		return nil, fmt.Errorf("the database in the backup is damaged: %w", err)
	}
	rows, err := conn.QueryContext(ctx, "SELECT component, version FROM schema_migrations")
	if err != nil {
		return nil, fmt.Errorf("the database holds no nines schema: %w", err)
	}
	defer rows.Close()
	schema := map[string]int{}
	for rows.Next() {
		var c string
		var v int
		if err := rows.Scan(&c, &v); err != nil {
			return nil, err
		}
		schema[c] = v
	}
	return schema, rows.Err()
}

// integrity runs SQLite's integrity check and returns nil when it says "ok", else what it
// found (its first ten problems), on one line.
func integrity(ctx context.Context, conn *sql.DB) error {
	rows, err := conn.QueryContext(ctx, "PRAGMA integrity_check(10)")
	if err != nil {
		return fmt.Errorf("PRAGMA integrity_check could not run: %w", err)
	}
	defer rows.Close()
	var found []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			return fmt.Errorf("PRAGMA integrity_check: %w", err)
		}
		for _, l := range strings.Split(line, "\n") {
			if l = strings.TrimSpace(l); l != "" && l != "*** in database main ***" {
				found = append(found, l)
			}
		}
	}
	if len(found) == 1 && found[0] == "ok" && rows.Err() == nil {
		return nil
	}
	msg := "PRAGMA integrity_check says: " + strings.Join(found, "; ")
	if len(found) == 0 {
		msg = "PRAGMA integrity_check found problems"
	}
	if err := rows.Err(); err != nil {
		msg += fmt.Sprintf(" (and then stopped: %v)", err)
	}
	return errors.New(msg)
}

func writeArchive(w io.Writer, m Manifest, files map[string]string) error {
	zw := gzip.NewWriter(w)
	tw := tar.NewWriter(zw)
	manifest, _ := json.MarshalIndent(m, "", "  ")
	if err := tw.WriteHeader(&tar.Header{Name: manifestName, Mode: 0o600, Size: int64(len(manifest)), ModTime: m.Created}); err != nil {
		return err
	}
	if _, err := tw.Write(manifest); err != nil {
		return err
	}
	for _, name := range []string{dbName, KeyFileName} {
		path, ok := files[name]
		if !ok {
			continue
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		fi, err := f.Stat()
		if err == nil {
			err = tw.WriteHeader(&tar.Header{Name: name, Mode: 0o600, Size: fi.Size(), ModTime: m.Created})
		}
		if err == nil {
			_, err = io.Copy(tw, f)
		}
		f.Close()
		if err != nil {
			return fmt.Errorf("backup: %s: %w", name, err)
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return zw.Close()
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// RestoreOptions says where to restore.
type RestoreOptions struct {
	// DataDir receives nines.db and nines.key.
	DataDir string
	// Force replaces a database already there (never one in use).
	Force bool
}

// ErrInUse is returned by Restore for a data directory whose database a nines is using.
var ErrInUse = errors.New("the database is in use")

// Restore unpacks a backup archive into opt.DataDir. It refuses a directory whose database a
// running nines (or any nines command) has open, and one that holds a database already
// unless opt.Force. Every file is checked against the manifest, and the database for its
// integrity, before anything in the directory is replaced.
func Restore(ctx context.Context, r io.Reader, opt RestoreOptions) (_ Manifest, err error) {
	// A restore that fails leaves no trace: not the directory it made, nor the lock file.
	made := firstMissing(opt.DataDir)
	lockPath := filepath.Join(opt.DataDir, LockFileName)
	if made == "" {
		if _, err := os.Stat(lockPath); errors.Is(err, os.ErrNotExist) {
			made = lockPath
		}
	}
	if err := os.MkdirAll(opt.DataDir, 0o700); err != nil {
		return Manifest{}, fmt.Errorf("--data: %w", err)
	}
	lock, err := lockDir(opt.DataDir, true)
	if err != nil {
		if made != "" && made != lockPath {
			os.RemoveAll(made)
		}
		return Manifest{}, fmt.Errorf("%w: %v", ErrInUse, err)
	}
	if lock != nil {
		defer lock.Close()
	}
	defer func() {
		if err != nil && made != "" {
			os.RemoveAll(made) // under the lock: nothing else uses it meanwhile
		}
	}()
	dst := filepath.Join(opt.DataDir, dbName)
	if _, err := os.Stat(dst); err == nil && !opt.Force {
		return Manifest{}, fmt.Errorf("%s holds a database already; restore into an empty directory, or pass --force to replace it", opt.DataDir)
	}
	if err := removeStaleTemps(opt.DataDir); err != nil {
		return Manifest{}, fmt.Errorf("removing what an interrupted backup or restore left: %w", err)
	}
	held, err := holdTemp(opt.DataDir, restoreTemp, true)
	if err != nil {
		return Manifest{}, err
	}
	defer held.Close()
	tmpDir := held.Name()
	defer os.RemoveAll(tmpDir)
	m, err := unpack(r, tmpDir)
	if err != nil {
		return Manifest{}, fmt.Errorf("the backup archive: %w", err)
	}
	if _, err := checkSnapshot(ctx, filepath.Join(tmpDir, dbName)); err != nil {
		return Manifest{}, err
	}
	// The old database's WAL and index belong to it: left beside the restored file, SQLite
	// would replay them into it.
	for _, suffix := range []string{"-wal", "-shm"} {
		if err := os.Remove(dst + suffix); err != nil && !errors.Is(err, os.ErrNotExist) {
			return Manifest{}, err
		}
	}
	if err := os.Rename(filepath.Join(tmpDir, dbName), dst); err != nil {
		return Manifest{}, err
	}
	if _, ok := m.Files[KeyFileName]; ok {
		if err := os.Rename(filepath.Join(tmpDir, KeyFileName), filepath.Join(opt.DataDir, KeyFileName)); err != nil {
			return Manifest{}, err
		}
	}
	if d, err := os.Open(opt.DataDir); err == nil {
		d.Sync()
		d.Close()
	}
	return m, nil
}

// firstMissing is the outermost directory of path (path itself included) that does not exist
// yet, which MkdirAll would make; "" when path exists.
func firstMissing(path string) string {
	missing := ""
	for p := filepath.Clean(path); ; p = filepath.Dir(p) {
		if _, err := os.Lstat(p); err == nil || !errors.Is(err, os.ErrNotExist) {
			return missing
		}
		missing = p
		if filepath.Dir(p) == p {
			return missing
		}
	}
}

// unpack reads an archive into dir, checking each file against the manifest.
func unpack(r io.Reader, dir string) (Manifest, error) {
	zr, err := gzip.NewReader(r)
	if err != nil {
		return Manifest{}, fmt.Errorf("not a nines backup (gzip): %w", err)
	}
	tr := tar.NewReader(zr)
	var m Manifest
	sums := map[string]string{}
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return Manifest{}, err
		}
		switch h.Name {
		case manifestName:
			var buf bytes.Buffer
			if _, err := io.Copy(&buf, io.LimitReader(tr, 1<<20)); err != nil {
				return Manifest{}, err
			}
			if err := json.Unmarshal(buf.Bytes(), &m); err != nil {
				return Manifest{}, fmt.Errorf("%s: %w", manifestName, err)
			}
		case dbName, KeyFileName:
			if h.Typeflag != tar.TypeReg {
				return Manifest{}, fmt.Errorf("%s is not a regular file", h.Name)
			}
			f, err := os.OpenFile(filepath.Join(dir, h.Name), os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
			if err != nil {
				return Manifest{}, err
			}
			hash := sha256.New()
			_, err = io.Copy(io.MultiWriter(f, hash), tr)
			if err == nil {
				err = f.Sync()
			}
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return Manifest{}, fmt.Errorf("%s: %w", h.Name, err)
			}
			sums[h.Name] = hex.EncodeToString(hash.Sum(nil))
		default:
			return Manifest{}, fmt.Errorf("unexpected file %q", h.Name)
		}
	}
	if m.Format == 0 {
		return Manifest{}, fmt.Errorf("no %s: not a nines backup", manifestName)
	}
	if m.Format > backupFormat {
		return Manifest{}, fmt.Errorf("format %d is newer than this nines reads (%d): restore with the nines that made it (%s) or later", m.Format, backupFormat, m.Version)
	}
	for name, want := range m.Files {
		got, ok := sums[name]
		switch {
		case !ok:
			return Manifest{}, fmt.Errorf("%s is listed in the manifest but missing", name)
		case got != want:
			return Manifest{}, fmt.Errorf("%s: checksum %s, the manifest says %s: the archive is damaged", name, got[:12], want[:12])
		}
	}
	for name := range sums {
		if _, ok := m.Files[name]; !ok {
			return Manifest{}, fmt.Errorf("%s is not in the manifest", name)
		}
	}
	if _, ok := sums[dbName]; !ok {
		return Manifest{}, fmt.Errorf("no %s in the archive", dbName)
	}
	return m, nil
}

// String sums a manifest up for people.
func (m Manifest) String() string {
	var comps []string
	for c, v := range m.Schema {
		comps = append(comps, fmt.Sprintf("%s %d", c, v))
	}
	key := "the key file is in the archive"
	switch m.Key {
	case "environment":
		key = "the key is not in the archive (NINES_KEY): keep it with the backup"
	case "separate":
		key = "the key file is not in the archive: keep it apart, and put it back beside the database on restore"
	}
	return fmt.Sprintf("backup made %s by nines %s; %d schema components; %s", m.Created.Format(time.RFC3339), m.Version, len(comps), key)
}
