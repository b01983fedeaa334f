package server

import (
	"bytes"
	"strconv"
	"time"

	"github.com/reefkv/reef/internal/cluster/state"
	"github.com/reefkv/reef/internal/command"
	"github.com/reefkv/reef/internal/config"
	"github.com/reefkv/reef/internal/resp"
	"github.com/reefkv/reef/internal/slot"
)

// Cluster routing: Redis's getNodeByQuery and clusterRedirectClient.
//
// process() routes a command before queueing or running it, against one
// atomic snapshot of the slot map (no lock, no allocation on the hot
// path). Because commands run in parallel, the map can change between that
// check and the moment the command holds its slot locks; and in a
// migrating or importing slot the answer depends on which keys exist, which
// only the slot lock makes stable. So call() (and EXEC) route again, with
// the slots locked, when the map changed or a slot was open: a command
// never runs in a slot this node stopped serving.

// redirect is getNodeByQuery's error code (Redis's CLUSTER_REDIR_*).
type redirect uint8

const (
	redirNone        redirect = iota // run here
	redirCrossSlot                   // -CROSSSLOT
	redirUnstable                    // -TRYAGAIN
	redirDownState                   // -CLUSTERDOWN The cluster is down
	redirDownROState                 // -CLUSTERDOWN ... only accepts read commands
	redirDownUnbound                 // -CLUSTERDOWN Hash slot not served
	redirMoved                       // -MOVED
	redirAsk                         // -ASK
)

// route is the outcome of getNodeByQuery.
type route struct {
	code redirect
	slot int
	node uint16 // MOVED/ASK target, an index into the slot map's Nodes
	open bool   // the slot is migrating or importing here
	// keyed: the command has keys, all in slot (when code is redirNone).
	keyed bool
}

// routeScan accumulates what getNodeByQuery learns from the keys.
type routeScan struct {
	first        []byte
	slot         int
	owner        uint16
	migrating    bool
	importing    bool
	multipleKeys bool
	missing      int
	existing     int
}

// isExec reports whether spec is EXEC, which routing treats as the
// transaction of its queued commands.
func isExec(spec *command.Spec) bool { return spec.Name == "exec" }

// isPubsubShard reports the sharded pub/sub commands, whose channels are
// routed like keys.
func isPubsubShard(spec *command.Spec) bool {
	switch spec.Name {
	case "ssubscribe", "sunsubscribe", "spublish":
		return true
	}
	return false
}

// needsRouting reports whether cluster routing applies to spec: commands
// with keys (key specs or movable keys) and EXEC.
func needsRouting(spec *command.Spec) bool {
	return len(spec.KeySpecs) > 0 || spec.Flags&command.FlagMovableKeys != 0 || isExec(spec)
}

// clusterRoute is processCommand's cluster step: it reports whether the
// command may run (or be queued) here, and otherwise replies the
// redirection and flags the transaction (EXEC discards it). REQUIRES:
// cluster mode.
func (c *Client) clusterRoute(spec *command.Spec, args [][]byte, cfg *config.Config) bool {
	c.routedMap = nil
	// Our master's replication stream is obeyed without redirection.
	if c.ctx.FromMaster || !needsRouting(spec) {
		return true
	}
	exec := isExec(spec)
	var queue []queuedCommand
	if exec {
		if c.multi == nil {
			return true // EXEC without MULTI: the handler replies the error
		}
		queue = c.multi.queue
	}
	sm := c.srv.cluster.d.SlotMap()
	r := c.getNodeByQuery(sm, cfg, spec, args, queue, false)
	if r.code == redirNone {
		c.routedMap = sm
		c.routedOpen = r.open
		c.routedSlot = -1
		if r.keyed && !exec {
			c.routedSlot = r.slot // lockKeys locks it without hashing again
		}
		return true
	}
	if exec {
		c.discardMulti()
		c.srv.unwatchAll(c)
	}
	c.redirect(spec, redirectText(sm, r))
	return false
}

// redirect replies a redirection as Redis's clusterRedirectClient: the
// error as is (also for EXEC, which the caller discarded), counted in
// rejected_calls and errorstats; inside MULTI it flags the transaction.
func (c *Client) redirect(spec *command.Spec, msg string) {
	spec.Stats.RejectedCalls.Add(1)
	if c.multi != nil {
		c.multi.aborted = true
	}
	c.srv.countError(msg)
	c.reply(func() { c.ctx.Out = resp.AppendError(c.ctx.Out, msg) })
}

// clusterRecheck routes again with the command's slots locked (see the
// file comment). It reports false after releasing the slots and replying
// the redirection. REQUIRES: c.slots locked by lockKeys.
func (c *Client) clusterRecheck(spec *command.Spec, args [][]byte, cfg *config.Config) bool {
	prev := c.routedMap
	c.routedMap = nil
	sm := c.srv.cluster.d.SlotMap()
	if sm == prev && !c.routedOpen {
		return true
	}
	r := c.getNodeByQuery(sm, cfg, spec, args, nil, true)
	if r.code == redirNone {
		return true
	}
	c.srv.ks.UnlockSlots(c.slots)
	c.redirect(spec, redirectText(sm, r))
	return false
}

// clusterRecheckExec is clusterRecheck for EXEC, with every slot of the
// queued commands locked. It returns the redirection error text, or "".
func (c *Client) clusterRecheckExec(cfg *config.Config, spec *command.Spec, queue []queuedCommand) string {
	prev := c.routedMap
	c.routedMap = nil
	if prev == nil {
		return ""
	}
	sm := c.srv.cluster.d.SlotMap()
	if sm == prev && !c.routedOpen {
		return ""
	}
	r := c.getNodeByQuery(sm, cfg, spec, nil, queue, true)
	if r.code == redirNone {
		return ""
	}
	return redirectText(sm, r)
}

// getNodeByQuery is Redis's function of that name: spec with args, or
// EXEC's queue, against the slot map sm. locked says whether the slots of
// the keys are locked already (key existence is checked in open slots).
func (c *Client) getNodeByQuery(sm *state.SlotMap, cfg *config.Config, spec *command.Spec, args [][]byte, queue []queuedCommand, locked bool) route {
	var q routeScan
	q.owner = state.NoOwner
	pubsubShard := isPubsubShard(spec)
	exec := isExec(spec)
	anyWrite := false
	if exec {
		for i := range queue {
			qc := &queue[i]
			if code := c.scanKeys(sm, &q, qc.spec, qc.args, false, locked); code != redirNone {
				return route{code: code}
			}
			if qc.spec.Flags&command.FlagWrite != 0 {
				anyWrite = true
			}
		}
	} else if code := c.scanKeys(sm, &q, spec, args, pubsubShard, locked); code != redirNone {
		return route{code: code}
	}
	// No key at all: run here, whatever the cluster state.
	if q.first == nil {
		return route{}
	}
	open := q.migrating || q.importing
	if !sm.OK {
		switch {
		case pubsubShard:
			if !cfg.ClusterAllowPubsubshardWhenDown {
				return route{code: redirDownState}
			}
		case !cfg.ClusterAllowReadsWhenDown:
			return route{code: redirDownState}
		case spec.Flags&command.FlagWrite != 0:
			return route{code: redirDownROState}
		}
	}
	// MIGRATE works on the local node while the slot is open.
	if open && spec.Name == "migrate" {
		return route{slot: q.slot, open: true, keyed: true}
	}
	// Migrating and some keys are gone: ASK, or TRYAGAIN if some remain.
	if q.migrating && q.missing > 0 {
		if q.existing > 0 {
			return route{code: redirUnstable}
		}
		return route{code: redirAsk, slot: q.slot, node: sm.Migrating[q.slot]}
	}
	// Importing, and the client asked: serve it, unless a multi-key
	// request lacks some keys.
	if q.importing && (c.asking || spec.Flags&command.FlagAsking != 0) {
		if q.multipleKeys && q.missing > 0 {
			return route{code: redirUnstable}
		}
		return route{slot: q.slot, open: true, keyed: true}
	}
	// READONLY reads (and sharded pub/sub) on a replica of the owner.
	write := spec.Flags&command.FlagWrite != 0 || (exec && anyWrite)
	if (c.readonly || pubsubShard) && !write && sm.IsReplica() && sm.Master == q.owner {
		return route{slot: q.slot, open: open, keyed: true}
	}
	if q.owner != sm.Me {
		return route{code: redirMoved, slot: q.slot, node: q.owner}
	}
	// A master that has not heard from a majority of the masters lately
	// enough takes no write (the write lease, docs/FAILOVER.md), and
	// serves no read either, since a replica may have been promoted in its
	// place and taken newer writes: unless reads are allowed while the
	// cluster is down, which accepts stale reads. (Sharded pub/sub reads
	// no data.)
	readLease := !pubsubShard && !cfg.ClusterAllowReadsWhenDown
	if (write || readLease) && !c.srv.cluster.writable(c.recentClock()) {
		return route{code: redirDownState}
	}
	return route{slot: q.slot, open: open, keyed: true}
}

// scanKeys feeds one command's keys to q: the first key fixes the slot and
// its owner, other keys must share the slot, and in an open slot each key's
// existence in DB 0 is counted.
func (c *Client) scanKeys(sm *state.SlotMap, q *routeScan, spec *command.Spec, args [][]byte, pubsubShard, locked bool) redirect {
	keys, _ := spec.KeyPositions(args, c.keyPos[:0])
	c.keyPos = keys
	for _, pos := range keys {
		key := args[pos]
		ks := c.batch.slotOf(key)
		if q.first == nil {
			q.first, q.slot = key, ks
			q.owner = sm.Owners[ks]
			if q.owner == state.NoOwner {
				return redirDownUnbound
			}
			if q.owner == sm.Me && len(sm.Migrating) > 0 && sm.MigratingTo(ks) != nil {
				q.migrating = true
			} else if len(sm.Importing) > 0 && sm.ImportingFrom(ks) != nil {
				q.importing = true
			}
		} else if !bytes.Equal(q.first, key) {
			if ks != q.slot {
				return redirCrossSlot
			}
			q.multipleKeys = true
		}
		if (q.migrating || q.importing) && !pubsubShard {
			if c.keyExists(ks, key, locked) {
				q.existing++
			} else {
				q.missing++
			}
		}
	}
	return redirNone
}

// keyExists looks key up in DB 0 without side effects (no expiry, no
// statistics); a logically expired key is missing.
func (c *Client) keyExists(sl int, key []byte, locked bool) bool {
	ks := c.srv.ks
	now := c.ctx.Now // the command's time, when call() routes again
	if !locked {
		now = time.Now().UnixMilli()
		ks.Lock(sl)
		defer ks.Unlock(sl)
	}
	if ks.Get(0, sl, key) == nil {
		return false
	}
	when := ks.ExpireAt(0, sl, key)
	return when < 0 || when > now
}

// redirectText is clusterRedirectClient's error reply for r.
func redirectText(sm *state.SlotMap, r route) string {
	switch r.code {
	case redirCrossSlot:
		return "CROSSSLOT Keys in request don't hash to the same slot"
	case redirUnstable:
		return "TRYAGAIN Multiple keys request during rehashing of slot"
	case redirDownState:
		return "CLUSTERDOWN The cluster is down"
	case redirDownROState:
		return "CLUSTERDOWN The cluster is down and only accepts read commands"
	case redirDownUnbound:
		return "CLUSTERDOWN Hash slot not served"
	case redirMoved:
		return "MOVED " + strconv.Itoa(r.slot) + " " + sm.Nodes[r.node].Addr()
	case redirAsk:
		return "ASK " + strconv.Itoa(r.slot) + " " + sm.Nodes[r.node].Addr()
	}
	return ""
}

// ClusterBlockedRedirect is Redis's clusterRedirectBlockedClientIfNeeded
// for a client blocked on key (its first blocked key) in DB 0: the error
// to unblock it with ("CLUSTERDOWN The cluster is down", "MOVED ...",
// "CLUSTERDOWN Hash slot not served"), or "" to keep it blocked. readonly
// is the client's READONLY flag. The blocking code calls it about once a
// second per blocked client, and when the cluster state changes.
func (s *Server) ClusterBlockedRedirect(key []byte, readonly bool) string {
	if s.cluster == nil {
		return ""
	}
	sm := s.cluster.d.SlotMap()
	if !sm.OK {
		return "CLUSTERDOWN The cluster is down"
	}
	sl := slot.Of(key)
	owner := sm.Owners[sl]
	if owner == sm.Me || sm.ImportingFrom(sl) != nil {
		return ""
	}
	if readonly && sm.IsReplica() && sm.Master == owner {
		return ""
	}
	if owner == state.NoOwner {
		return "CLUSTERDOWN Hash slot not served"
	}
	return "MOVED " + strconv.Itoa(sl) + " " + sm.Nodes[owner].Addr()
}
