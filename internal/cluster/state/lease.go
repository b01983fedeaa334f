package state

import (
	"math"
	"slices"
)

// The write lease: a master serves writes only while it has heard from a
// majority of the slot masters recently enough that none of them can have
// elected a replacement for it yet.
//
// Redis's minority rule (cluster_state turns fail when fewer than a
// majority of slot masters are reachable) depends on this node's own PFAIL
// flags, which come about node-timeout after a cut, at a tick, at the same
// time as the other side's; a master cut off by a partition can therefore
// still take writes for a moment after the majority promoted its replica,
// and one resumed after a stall (SIGSTOP, a long pause) takes writes until
// its next cron notices. The lease closes both: the router checks it with
// the real clock on every write.
//
// The majority marks me PFAIL no sooner than node-timeout after the last
// packet of mine that reached it, which in a healthy cluster is at most one
// ping interval before the cut (every node pings me, and answers my pings,
// that often); FAIL and the election delay come after that. A lease of
// node-timeout minus one ping interval, counted from the last packet I got
// from each of the masters forming my majority, therefore ends before any
// of them can vote a replica in, in a symmetric cut. (An asymmetric one,
// where I still hear them, also delivers the new master's claim to me.)
//
// After a stall of the whole process (the driver runs a watchdog goroutine
// that ticks every 50 ms; a fsync blocking the driver is not a stall),
// packets that waited in socket buffers are processed with a fresh time
// stamp; no packet renews the lease until node-timeout/2 after the stall
// (stallGrace), by which time fresh answers (and the cluster's new
// configuration, if it changed) have arrived. Until the driver has taken the stall into
// account, the router refuses writes (driver.Driver.Writable).

// advance moves the clock to now.
func (m *Machine) advance(now int64) { m.now = now }

// StallThreshold is how long (ms) the process may not run at all before
// the driver reports a stall (NoteStall): a quarter of the node timeout,
// at least 300 ms. A shorter stall cannot have let the other masters
// replace this node before it resumed.
func StallThreshold(nodeTimeout int64) int64 { return max(nodeTimeout/4, 300) }

// NoteStall tells the machine that the whole process did not run until
// now (the driver's watchdog saw a gap longer than StallThreshold): the
// packets that waited meanwhile in socket buffers, processed from now on,
// do not renew the write lease for stallGrace.
func (m *Machine) NoteStall(now int64) {
	m.advance(now)
	m.stalledAt = now
	m.logf(LevelWarning, "The process did not run for a while: writes wait for fresh contact with the majority of masters.")
	m.computeLease(true)
}

// stallGrace is how long after a stall the packets I process do not renew
// the lease: node-timeout/2, between 300 ms and 2 s. That is time for my
// links to be dialed again at the next ticks and for my PINGs, which still
// claim my old slots, to be answered by UPDATEs (or for the new master's
// own PINGs to arrive) if the cluster replaced me meanwhile.
func (m *Machine) stallGrace() int64 { return min(max(m.cfg.NodeTimeout/2, 300), 2000) }

// leaseMillis is how long contact with a majority lets me take writes.
func (m *Machine) leaseMillis() int64 { return m.cfg.NodeTimeout - m.pingInterval() }

// WritableUntil returns the time (ms) until which this node may take
// writes for the slots it serves, as of the last Ready: math.MaxInt64 when
// no other master serves slots, 0 when it has not heard from a majority of
// the masters since it started or since its last stall. It is computed
// the same way whatever this node's role (the router applies it only to
// // writes for slots its slot map says are mine). The value can only be
// conservative: it is a deadline computed from packets already received,
// recomputed on every change of the slot map and otherwise on inputs at
// most every 10 ms (and at least at every tick).
func (m *Machine) WritableUntil() int64 { return m.writable }

// RefreshLease recomputes WritableUntil if it is due (Ready does it too);
// the driver calls it after every input, Ready or not.
func (m *Machine) RefreshLease() { m.computeLease(false) }

// computeLease recomputes WritableUntil (at most every 10 ms unless the
// slot map changed or force is set).
func (m *Machine) computeLease(force bool) {
	if !force && m.version == m.leaseVersion && m.now-m.leaseComputed < 10 && m.now >= m.leaseComputed {
		return
	}
	m.leaseVersion, m.leaseComputed = m.version, m.now
	// Whatever my role: the router reads the lease and the slot map
	// separately, so a lease computed as a replica must not let a write
	// through a map that still shows me as the owner.
	me := m.myself
	var recv []int64
	fresh := m.stalledAt + m.stallGrace()
	for _, n := range m.nodes {
		if n == me || !n.isMaster() || n.numSlots == 0 {
			continue
		}
		t := n.dataRecv
		if m.stalledAt != 0 && t < fresh {
			t = 0
		}
		recv = append(recv, t)
	}
	// A majority of the size = len(recv)+1 slot masters, myself included.
	need := (len(recv) + 1) / 2
	if need == 0 {
		m.writable = math.MaxInt64
		return
	}
	slices.Sort(recv)
	contact := recv[len(recv)-need]
	if contact == 0 {
		m.writable = 0
		return
	}
	m.writable = contact + m.leaseMillis()
}

// ServesSlot reports whether this node is a master that owns slot s in its
// own view (tests: with StateOK and WritableUntil, whether it would take a
// write for s).
func (m *Machine) ServesSlot(s int) bool {
	return m.myself.isMaster() && m.slots[s] == m.myself
}
