package store

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
)

// walSync makes SQLite commits durable. The writer runs with synchronous=NORMAL, so a commit
// writes its WAL frames without waiting for the disk; walSync then flushes the WAL file and only
// after that does anyone hear that the commit happened: Tx returns, TxThen calls back, and
// AfterCommit functions run. One flush covers every commit written before it started, so while
// the disk flushes one batch the writer already runs the next, and the flushes group themselves.
//
// This keeps the promise synchronous=FULL keeps (an answered commit survives power loss) without
// holding the writer while the disk works. What it gives up is only that a reader may see a
// commit a flush earlier than its writer is told; nothing acts on a commit before it is durable,
// since the work a commit wakes runs in AfterCommit. SQLite still syncs the WAL itself before each
// checkpoint and the database after it, so a commit checkpointed before its flush is durable
// through the database file.
type walSync struct {
	path string
	// f is the WAL file flushed last and seen what it was when opened (only the flushing
	// goroutine touches them).
	f    *os.File
	seen os.FileInfo

	mu        sync.Mutex
	cond      *sync.Cond
	committed uint64 // commits written to the WAL
	synced    uint64 // commits flushed to disk
	err       error  // sticky: after a failed flush, nothing written since can be called durable
	pending   []durableFunc
	closed    bool
	stopped   bool // the flushing goroutine has returned (after close): nothing is flushed now
	done      chan struct{}

	// Callbacks run on their own goroutine, in commit order: one that writes (and so waits for a
	// flush) must not hold up the flushing goroutine.
	callMu    sync.Mutex
	callCond  *sync.Cond
	calls     []func()
	callsDone chan struct{}
}

type durableFunc struct {
	seq uint64
	fn  func(error)
}

func startWALSync(path string) *walSync {
	w := &walSync{path: path, done: make(chan struct{}), callsDone: make(chan struct{})}
	w.cond = sync.NewCond(&w.mu)
	w.callCond = sync.NewCond(&w.callMu)
	go w.run()
	go w.dispatch()
	return w
}

// commit records a commit that has just been written and returns its place in line. If durable
// is not nil, it is called from the flushing goroutine once the commit is on disk.
func (w *walSync) commit(durable func(error)) uint64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.committed++
	if w.stopped {
		// Written after Close stopped the flushing: nobody will flush it, and its writer must
		// hear so rather than wait for ever.
		if durable != nil {
			go durable(errClosed)
		}
		return w.committed
	}
	if durable != nil {
		w.pending = append(w.pending, durableFunc{w.committed, durable})
	}
	w.cond.Broadcast()
	return w.committed
}

// errClosed is what a commit written while the database closed hears: it is in the WAL, but
// not known to be on disk.
var errClosed = errors.New("the database closed before this commit was flushed to disk")

// wait blocks until commit seq is durable, or the flushing has stopped without it.
func (w *walSync) wait(seq uint64) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	for w.synced < seq && w.err == nil && !w.stopped {
		w.cond.Wait()
	}
	switch {
	case w.err != nil:
		return w.err
	case w.synced < seq:
		return errClosed
	}
	return nil
}

func (w *walSync) run() {
	defer close(w.done)
	defer w.drop()
	for {
		w.mu.Lock()
		for w.synced == w.committed && !w.closed {
			w.cond.Wait()
		}
		if w.synced == w.committed {
			w.stopped = true
			w.cond.Broadcast()
			w.mu.Unlock()
			return
		}
		target := w.committed
		w.mu.Unlock()

		err := w.flush()

		w.mu.Lock()
		w.synced = target
		if err != nil && w.err == nil {
			w.err = fmt.Errorf("%w, so recent commits may not survive a power loss; restart nines: %w", errWALFlush, err)
		}
		var due []durableFunc
		keep := w.pending[:0]
		for _, p := range w.pending {
			if p.seq <= target {
				due = append(due, p)
			} else {
				keep = append(keep, p)
			}
		}
		w.pending = keep
		err = w.err
		w.cond.Broadcast()
		w.mu.Unlock()
		if len(due) > 0 {
			w.callMu.Lock()
			for _, p := range due {
				w.calls = append(w.calls, func() { p.fn(err) })
			}
			w.callCond.Signal()
			w.callMu.Unlock()
		}
	}
}

func (w *walSync) dispatch() {
	defer close(w.callsDone)
	for {
		w.callMu.Lock()
		for len(w.calls) == 0 {
			select {
			case <-w.done:
				w.callMu.Unlock()
				return
			default:
			}
			w.callCond.Wait()
		}
		calls := w.calls
		w.calls = nil
		w.callMu.Unlock()
		for _, f := range calls {
			f()
		}
	}
}

// close flushes what is left, runs the callbacks due, and stops.
func (w *walSync) close() {
	w.mu.Lock()
	w.closed = true
	w.cond.Broadcast()
	w.mu.Unlock()
	<-w.done
	w.callMu.Lock()
	w.callCond.Signal()
	w.callMu.Unlock()
	<-w.callsDone
}

// flush writes the WAL's data to disk, and the directory entry of a WAL file it has not
// flushed before. The file stays open from one flush to the next (opening it each time cost
// more than the flush itself); a stat of its path tells when SQLite has removed it or a new one
// has taken its place.
func (w *walSync) flush() error {
	fi, err := os.Stat(w.path)
	if errors.Is(err, fs.ErrNotExist) {
		// SQLite removes the WAL only after copying all of it into the database file and
		// syncing that: there is nothing left to flush.
		w.drop()
		return nil
	}
	if err != nil {
		return err
	}
	if w.f == nil || !os.SameFile(fi, w.seen) {
		w.drop()
		f, err := os.OpenFile(w.path, os.O_RDWR, 0)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		opened, err := f.Stat()
		if err == nil {
			// A new file: its directory entry must reach the disk too, or the file itself
			// could vanish with a power loss.
			err = syncDir(filepath.Dir(w.path))
		}
		if err != nil {
			f.Close()
			return err
		}
		w.f, w.seen = f, opened
	}
	return datasync(w.f)
}

// drop closes the WAL file kept open.
func (w *walSync) drop() {
	if w.f != nil {
		w.f.Close()
		w.f, w.seen = nil, nil
	}
}

// syncDir makes the entries of a directory (a file just created in it) durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
