package store

import (
	"database/sql"
	"os"
	"sync/atomic"
	"time"
)

// WALSizeLimit is the size the SQLite WAL file is brought back to. The WAL is reused from its
// start once all of it is in the database, so its file keeps the largest size a burst gave it
// (a storm the checkpointer could not keep up with while a long read held an old snapshot)
// unless truncated: each time it starts over it is cut to this (journal_size_limit), and once
// the writer is idle a WAL longer than this is copied into the database and truncated whole.
const WALSizeLimit = 64 << 20

// idleTicks is how many checkpoint intervals without a commit make the writer idle.
const idleTicks = 5

// checkpointInterval is how often the WAL is copied into the database file while writes come
// in. Between checkpoints the WAL grows by what was committed in that time: ingest at full speed
// writes some 16 KiB of WAL per event (every index page an event touches is written whole), so
// a tenth of a second keeps it to some 20 MB; reads slow down as it grows.
const checkpointInterval = 100 * time.Millisecond

// restartFrames is the WAL length (in 4 KiB pages) past which the checkpointer makes the WAL
// start over; it is SQLite's own auto-checkpoint threshold.
const restartFrames = 1000

// checkpointer copies the SQLite WAL into the database file beside the writer, so commits do not
// pay for it. SQLite's auto-checkpoint would run it inside the commit that crosses the
// threshold, holding up every request of that batch for the copy and an fsync of the database.
//
// A PASSIVE checkpoint on the checkpointer's own connection neither waits for nor blocks the
// writer, but under sustained writes it never catches up with the end of the WAL, and the WAL
// only starts over once all of it has been copied. So once the WAL is long, a second PASSIVE
// checkpoint runs on the writer connection, between two transactions: nothing is appended
// meanwhile, the few frames the first one left are copied, and the next commit starts the WAL
// from its beginning again.
//
// Durability is unchanged: a commit is durable once its WAL frames are on disk, which walSync
// sees to before anyone hears of the commit.
type checkpointer struct {
	db     *sql.DB // its own connection
	writer *sql.DB
	wal    string // the WAL file's path
	dirty  atomic.Bool
	quit   chan struct{}
	done   chan struct{}
}

func startCheckpointer(db, writer *sql.DB, wal string) *checkpointer {
	db.SetMaxOpenConns(1)
	c := &checkpointer{db: db, writer: writer, wal: wal, quit: make(chan struct{}), done: make(chan struct{})}
	go c.run()
	return c
}

// committed tells the checkpointer there is something new in the WAL.
func (c *checkpointer) committed() { c.dirty.Store(true) }

func (c *checkpointer) run() {
	defer close(c.done)
	t := time.NewTicker(checkpointInterval)
	defer t.Stop()
	idle := 0
	for {
		select {
		case <-c.quit:
			return
		case <-t.C:
		}
		if !c.dirty.Swap(false) {
			if idle++; idle == idleTicks {
				c.shrink()
			}
			continue
		}
		idle = 0
		// A checkpoint that could not finish (a reader holds an old snapshot) is retried at the
		// next tick.
		var busy, logFrames, copied int
		if err := c.db.QueryRow("PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &logFrames, &copied); err != nil || copied < logFrames {
			c.dirty.Store(true)
		}
		if logFrames >= restartFrames {
			c.writer.QueryRow("PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &logFrames, &copied)
		}
	}
}

// shrink truncates a WAL grown past WALSizeLimit, once the writer is idle. A TRUNCATE
// checkpoint waits for readers of old snapshots and holds writers meanwhile, so it runs on the
// checkpointer's connection, whose busy timeout is short: when anything is in its way it gives
// up at once and is tried again after the next idle spell.
func (c *checkpointer) shrink() {
	if fi, err := os.Stat(c.wal); err != nil || fi.Size() <= WALSizeLimit {
		return
	}
	var busy, logFrames, copied int
	if err := c.db.QueryRow("PRAGMA wal_checkpoint(TRUNCATE)").Scan(&busy, &logFrames, &copied); err != nil || busy != 0 {
		c.dirty.Store(true) // the next idle spell tries again
	}
}

func (c *checkpointer) stop() error {
	close(c.quit)
	<-c.done
	return c.db.Close()
}
