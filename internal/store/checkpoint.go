package store

import (
	"database/sql"
	"sync/atomic"
	"time"
)

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
	dirty  atomic.Bool
	quit   chan struct{}
	done   chan struct{}
}

func startCheckpointer(db, writer *sql.DB) *checkpointer {
	db.SetMaxOpenConns(1)
	c := &checkpointer{db: db, writer: writer, quit: make(chan struct{}), done: make(chan struct{})}
	go c.run()
	return c
}

// committed tells the checkpointer there is something new in the WAL.
func (c *checkpointer) committed() { c.dirty.Store(true) }

func (c *checkpointer) run() {
	defer close(c.done)
	t := time.NewTicker(checkpointInterval)
	defer t.Stop()
	for {
		select {
		case <-c.quit:
			return
		case <-t.C:
		}
		if !c.dirty.Swap(false) {
			continue
		}
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

func (c *checkpointer) stop() error {
	close(c.quit)
	<-c.done
	return c.db.Close()
}
