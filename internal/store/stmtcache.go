package store

import (
	"context"
	"database/sql"
	"strings"
	"sync"
)

// maxCachedStmts bounds the statement cache: queries built at run time (IN lists of varying
// length) would otherwise grow it without end.
const maxCachedStmts = 512

// stmtCache keeps the writer's statements prepared on SQLite, where preparing (parsing and
// planning) costs more than running most of the statements a write transaction makes. It can
// only prepare while the single writer connection is free, so a transaction that meets a new
// query runs it unprepared and leaves it for prepareMissed, called after the transaction ends.
type stmtCache struct {
	mu     sync.RWMutex
	m      map[string]*sql.Stmt
	closed bool
}

func (c *stmtCache) get(query string) (*sql.Stmt, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	st, ok := c.m[query]
	return st, ok
}

// prepareMissed prepares queries on db. It holds no lock while preparing, which may wait for
// the writer connection: a transaction holding it must still be able to read the cache.
func (c *stmtCache) prepareMissed(ctx context.Context, db *sql.DB, queries []string) {
	for _, q := range queries {
		c.mu.RLock()
		_, have := c.m[q]
		skip := have || c.closed || len(c.m) >= maxCachedStmts
		c.mu.RUnlock()
		if skip || !cacheable(q) {
			continue
		}
		// A query that does not prepare on its own stays unprepared: it ran fine inside the
		// transaction, and will again.
		st, err := db.PrepareContext(context.WithoutCancel(ctx), q)
		if err != nil {
			continue
		}
		c.mu.Lock()
		if _, have := c.m[q]; have || c.closed {
			st.Close()
		} else {
			if c.m == nil {
				c.m = map[string]*sql.Stmt{}
			}
			c.m[q] = st
		}
		c.mu.Unlock()
	}
}

func (c *stmtCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, st := range c.m {
		st.Close()
	}
	c.m, c.closed = nil, true
}

// cacheable reports whether a query is worth keeping prepared: the statements transactions
// repeat, not the schema changes a migration runs once.
func cacheable(q string) bool {
	q = strings.TrimLeft(q, " \t\r\n(")
	if len(q) < 6 {
		return false
	}
	switch strings.ToUpper(q[:6]) {
	case "SELECT", "INSERT", "UPDATE", "DELETE", "SAVEPO", "RELEAS", "ROLLBA":
		return true
	}
	return strings.HasPrefix(strings.ToUpper(q), "WITH")
}
