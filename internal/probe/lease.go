package probe

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"time"

	"github.com/nines-dev/nines/internal/store"
)

// On several nodes (PostgreSQL), one node at a time holds the probe lease: it runs the local
// probes and decides every probe monitor's state, so each monitor is checked once and its
// quorum is counted in one place. Agent results that reach another node wait in probe_inbox
// for the holder. The holder renews the lease every third of LeaseTTL; when it dies, another
// node takes over within LeaseTTL, loading the states the holder saved. On SQLite there is one
// node, which always holds the lease.

// LeaseTTL is how long the probe lease lasts without renewal.
const LeaseTTL = 15 * time.Second

func newNodeID() string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Leading reports whether this node holds the probe lease.
func (m *Monitors) Leading() bool { return m.leader.Load() }

// claimLease takes or renews the lease; it reports whether this node holds it.
func (m *Monitors) claimLease(ctx context.Context) (bool, error) {
	now := m.clock.Now()
	res, err := m.db.Exec(ctx, `INSERT INTO probe_lease (name, holder, until_at) VALUES ('probes', ?, ?)
		ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, until_at = excluded.until_at
		WHERE probe_lease.holder = excluded.holder OR probe_lease.until_at < ?`,
		m.node, now.Add(LeaseTTL).UnixMilli(), now.UnixMilli())
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// releaseLease lets another node take over at once on a clean shutdown.
func (m *Monitors) releaseLease() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	m.db.Exec(ctx, `UPDATE probe_lease SET until_at = 0 WHERE name = 'probes' AND holder = ?`, m.node)
}

// lease keeps claiming the lease until ctx is done, starting and stopping the local probes as
// it is won and lost. Off the lease, the node follows the holder's saved states. Every second
// the holder takes agent results from the inbox.
func (m *Monitors) lease(ctx context.Context) {
	defer m.releaseLease()
	var lastClaim time.Time
	for {
		if now := m.clock.Now(); now.Sub(lastClaim) >= LeaseTTL/3 {
			lastClaim = now
			m.renew(ctx)
		}
		// A pause made on another node reaches this one within a second.
		if err := m.syncPauses(ctx); err != nil && ctx.Err() == nil {
			m.log.Error("read the pauses of monitors", "err", err)
		}
		if m.Leading() {
			if err := m.drainInbox(ctx); err != nil && ctx.Err() == nil {
				m.log.Error("take agent results from the inbox", "err", err)
			}
			m.sweep(ctx)
		}
		t := m.clock.NewTimer(time.Second)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C():
		}
		t.Stop()
	}
}

func (m *Monitors) renew(ctx context.Context) {
	held, err := m.claimLease(ctx)
	if err != nil {
		if ctx.Err() == nil {
			m.log.Error("claim the probe lease", "err", err)
		}
		held = false
	}
	was := m.leader.Swap(held)
	switch {
	case held && !was:
		// Take over where the last holder left off: the saved states carry when each
		// location last reported, so a silent one stays silent.
		if err := m.load(ctx); err != nil && ctx.Err() == nil {
			m.log.Error("load monitor states", "err", err)
		}
		m.sched.Set(m.jobs(m.live.Get()))
		m.log.Info("holding the probe lease: running the probes", "node", m.node)
	case !held && was:
		m.sched.Set(nil)
		m.log.Info("lost the probe lease: another node runs the probes", "node", m.node)
	case !held:
		if err := m.load(ctx); err != nil && ctx.Err() == nil {
			m.log.Error("load monitor states", "err", err)
		}
	default:
		// Other nodes answer the API from what the holder saves, and a node that starts or
		// takes over counts each location's silence from the time saved here.
		if err := m.saveChecked(ctx); err != nil && ctx.Err() == nil {
			m.log.Error("save monitor states", "err", err)
		}
	}
}

// inboxResult is an agent's result waiting for the lease holder, with when it reached nines:
// its freshness counts from then, not from when the holder takes it.
type inboxResult struct {
	Result
	ReceivedAt int64 `json:"received_at"` // unix ms, by the clock of the node that took it
}

// Accept takes results from an agent: the lease holder folds them in now, another node leaves
// them in the inbox for the holder.
func (m *Monitors) Accept(ctx context.Context, rs []Result) error {
	if m.Leading() {
		for _, r := range rs {
			if err := m.Report(ctx, r); err != nil {
				return err
			}
		}
		return nil
	}
	now := m.clock.Now().UnixMilli()
	return m.db.Tx(ctx, func(tx *store.Tx) error {
		for _, r := range rs {
			b, _ := json.Marshal(inboxResult{Result: r, ReceivedAt: now})
			if _, err := tx.Exec(ctx, `INSERT INTO probe_inbox (result) VALUES (?)`, string(b)); err != nil {
				return err
			}
		}
		return nil
	})
}

func (m *Monitors) drainInbox(ctx context.Context) error {
	for {
		rows, err := m.db.Query(ctx, `SELECT id, result FROM probe_inbox ORDER BY id LIMIT 1000`)
		if err != nil {
			return err
		}
		var last int64
		var rs []inboxResult
		for rows.Next() {
			var text string
			if err := rows.Scan(&last, &text); err != nil {
				rows.Close()
				return err
			}
			var r inboxResult
			if json.Unmarshal([]byte(text), &r) == nil {
				rs = append(rs, r)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if last == 0 {
			return nil
		}
		for _, r := range rs {
			received := m.clock.Now()
			if r.ReceivedAt > 0 {
				received = time.UnixMilli(r.ReceivedAt)
			}
			if err := m.report(ctx, r.Result, received); err != nil {
				// A monitor removed since: the result means nothing now.
				m.log.Warn("dropping an agent result", "monitor", r.MonitorID, "err", err)
			}
		}
		if _, err := m.db.Exec(ctx, `DELETE FROM probe_inbox WHERE id <= ?`, last); err != nil {
			return err
		}
	}
}

// saveChecked writes the states checked since they were last saved, in one transaction, so
// nodes off the lease show fresh views and a node that starts or takes over knows when each
// location last reported (at most a renewal, 5 s, behind).
func (m *Monitors) saveChecked(ctx context.Context) error {
	m.mu.Lock()
	var dirty []*state
	for _, st := range m.states {
		if st.LastCheckedAt != nil && st.LastCheckedAt.After(st.savedAt) {
			dirty = append(dirty, st)
		}
	}
	m.mu.Unlock()
	if len(dirty) == 0 {
		return nil
	}
	return m.saveStates(ctx, dirty)
}
