package server

import (
	"math"
	"math/rand/v2"
	"runtime"
	"runtime/metrics"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/reefkv/reef/internal/command"
	"github.com/reefkv/reef/internal/config"
	"github.com/reefkv/reef/internal/dict"
	"github.com/reefkv/reef/internal/keyspace"
	"github.com/reefkv/reef/internal/repl"
	"github.com/reefkv/reef/internal/slot"
)

// maxmemory: Redis's performEvictions (evict.c). Before a command runs, a
// master over maxmemory evicts keys by its maxmemory-policy until it is
// under again; with noeviction, or when nothing is left to evict, commands
// flagged denyoom (and anything queued in MULTI) are refused with errOOM.
//
// Memory is the Go heap's object bytes (INFO's used_memory), sampled every
// few milliseconds, since reading it costs microseconds. Unlike Redis's
// allocator count, the heap also holds garbage the collector has not
// reclaimed yet, and counting it as data would evict live keys for it:
//   - the bytes an eviction frees (estimated as MEMORY USAGE does) are
//     subtracted from the sample until the next collection;
//   - when much has been allocated since the last collection (a quarter of
//     maxmemory), a collection is started, and commands get the previous
//     decision meanwhile instead of evicting live keys for garbage;
//   - a node refusing writes collects now and then (collectWhenStuck):
//     garbage left by deletions is otherwise only reclaimed when the heap
//     grows, which refused writes never make it do.
// As in Redis, the replication stream's bytes beyond repl-backlog-size
// (held until slow replicas read them) are left out of the comparison, or
// the DELs of evictions would fill it and cause more evictions.
// Keys are chosen as Redis does: for the LRU, LFU and TTL policies the best
// of maxmemory-samples sampled keys, kept in a pool of 16 candidates across
// evictions; a random key for the random policies. Replicas do not evict
// (replica-ignore-maxmemory): their master's evictions reach them as DELs.

// errOOM is Redis's shared.oomerr.
const errOOM = "OOM command not allowed when used memory > 'maxmemory'."

const (
	memSampleEvery = 5 * time.Millisecond
	evictPoolSize  = 16 // Redis's EVPOOL_SIZE
)

// evictCandidate is an entry of the eviction pool: a key and its score
// (higher is evicted first: idle time, 255 - LFU counter, or nearness of
// the expiry).
type evictCandidate struct {
	db    int
	slot  int
	key   string
	score uint64
}

type evictor struct {
	used  atomic.Int64 // heap object bytes at the last sample
	live  atomic.Int64 // heap bytes the last collection found live
	freed atomic.Int64 // bytes evicted since the last collection
	// lastOK is the last decision of an eviction pass, given to commands
	// that arrive while it cannot decide (a collection or another pass
	// running).
	lastOK atomic.Bool
	// collecting is set while a collection asked by performEvictions runs.
	collecting atomic.Bool
	// nextStuckGC (unix ns) and stuckWait pace the collections
	// collectWhenStuck starts.
	nextStuckGC, stuckWait atomic.Int64
	keys                   atomic.Int64 // evicted_keys

	lastGC atomic.Uint64 // collections counted at the last sample

	mu      sync.Mutex // one eviction at a time; guards the fields below
	pool    []evictCandidate
	nextDB  int // where the random policies look first
	rng     *rand.Rand
	stop    chan struct{}
	running bool
}

func newEvictor() *evictor {
	e := &evictor{rng: rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))}
	e.lastOK.Store(true)
	return e
}

// configureMaxmemory starts or stops the memory sampler for cfg's
// maxmemory. Called at start and when it changes. (The Go memory limit is
// left alone: with live data above it, as on a replica, which does not
// evict, the collector would run without end.)
func (s *Server) configureMaxmemory(cfg *config.Config) {
	e := s.evict
	e.mu.Lock()
	defer e.mu.Unlock()
	if cfg.MaxMemory <= 0 {
		if e.running {
			close(e.stop)
			e.running = false
		}
		return
	}
	e.sample()
	if !e.running {
		e.stop = make(chan struct{})
		e.running = true
		s.wg.Add(1)
		go s.sampleMemory(e.stop)
	}
}

// sampleMemory refreshes the heap sample until stop is closed or the
// server stops.
func (s *Server) sampleMemory(stop chan struct{}) {
	defer s.wg.Done()
	t := time.NewTicker(memSampleEvery)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-s.ctx.Done():
			return
		case <-t.C:
			s.evict.sample()
		}
	}
}

var evictSamples = []metrics.Sample{
	{Name: "/memory/classes/heap/objects:bytes"},
	{Name: "/gc/cycles/total:gc-cycles"},
	{Name: "/gc/heap/live:bytes"},
}

// sample refreshes the readings. The sampler and a finished collection may
// call it at once; each stores complete readings, and the last one wins.
func (e *evictor) sample() {
	ss := make([]metrics.Sample, len(evictSamples))
	copy(ss, evictSamples)
	metrics.Read(ss)
	if gc := ss[1].Value.Uint64(); gc != e.lastGC.Load() {
		// A collection ran: what was evicted before it is gone from
		// the heap now (approximately: evictions during the collection
		// are forgotten a little early).
		e.lastGC.Store(gc)
		e.freed.Store(0)
	}
	e.used.Store(int64(ss[0].Value.Uint64()))
	e.live.Store(int64(ss[2].Value.Uint64()))
}

// collect starts a collection unless one is running, and samples memory
// when it ends.
func (e *evictor) collect() {
	if !e.collecting.CompareAndSwap(false, true) {
		return
	}
	go func() {
		before := e.used.Load()
		runtime.GC()
		e.sample()
		// A collection that freed little (the memory is really in use)
		// doubles the wait before the next one collectWhenStuck starts,
		// up to half a minute; one that freed much resets it.
		wait := e.stuckWait.Load()
		if before-e.used.Load() < before/100 {
			wait = min(max(2*wait, int64(100*time.Millisecond)), int64(30*time.Second))
		} else {
			wait = int64(100 * time.Millisecond)
		}
		e.stuckWait.Store(wait)
		e.nextStuckGC.Store(time.Now().UnixNano() + wait)
		e.collecting.Store(false)
	}()
}

// collectWhenStuck is for a node refusing writes for memory: garbage left
// by deletions (FLUSHALL, DEL, evictions) is only reclaimed when the heap
// grows, which refused writes never make it do, so the node would refuse
// them for good. It collects, at most as often as stuckWait allows.
func (e *evictor) collectWhenStuck() {
	if time.Now().UnixNano() >= e.nextStuckGC.Load() {
		e.collect()
	}
}

// usedForEviction is the memory maxmemory is compared with.
func (e *evictor) usedForEviction() int64 {
	return max(e.used.Load()-e.freed.Load(), 0)
}

// performEvictions evicts keys until memory is under maxmemory. It reports
// false when memory stays over it (noeviction, or nothing to evict), in
// which case denyoom commands are refused. self is the client whose command
// is about to run (nil for none): its "evicted" events, if it listens to
// them, go among its replies (publishLocal).
func (s *Server) performEvictions(cfg *config.Config, self *Client) bool {
	e := s.evict
	if e.usedForEviction() <= cfg.MaxMemory {
		return true
	}
	notCounted := s.notCountedForEviction()
	if e.usedForEviction()-notCounted <= cfg.MaxMemory {
		return true
	}
	if (s.repl.IsReplica() && cfg.ReplicaIgnoreMaxmemory) || s.loading.Load() || s.clientsPaused() {
		// Redis's isSafeToPerformEvictions. While clients are paused the
		// dataset must stay as it is: a manual failover or SHUTDOWN is
		// waiting for replicas to reach an offset.
		return true
	}
	// Much allocated since the last collection: part of the excess is
	// likely garbage (temporary buffers, overwritten values). Collect it
	// first instead of evicting live keys for it.
	if e.used.Load()-e.live.Load() > max(cfg.MaxMemory/4, 4<<20) {
		e.collect()
	}
	if cfg.MaxMemoryPolicy == "noeviction" {
		e.collectWhenStuck()
		return false // the next command sees what the collection freed
	}
	// One eviction pass at a time, none during a collection: a command
	// arriving meanwhile gets the last pass's decision.
	if e.collecting.Load() || !e.mu.TryLock() {
		return e.lastOK.Load()
	}
	defer e.mu.Unlock()
	ok := s.evictPass(cfg, notCounted, self)
	e.lastOK.Store(ok)
	return ok
}

// evictPass evicts until memory is under maxmemory, for at most Redis's
// evictionTimeLimitUs (500 µs at the default tenacity of 10, unlimited at
// 100); past it the command runs anyway and the next one goes on evicting
// (Redis goes on in a timer). notCounted is left out of the memory
// compared. REQUIRES: e.mu held.
func (s *Server) evictPass(cfg *config.Config, notCounted int64, self *Client) bool {
	e := s.evict
	limit := time.Duration(math.MaxInt64)
	if t := cfg.MaxMemoryEvictionTenacity; t <= 10 {
		limit = 50 * time.Microsecond * time.Duration(t)
	} else if t < 100 {
		limit = time.Duration(500.0*math.Pow(1.15, float64(t-10))) * time.Microsecond
	}
	start := time.Now()
	defer func() {
		s.latency.AddIfNeeded(cfg.LatencyMonitorThreshold, "eviction-cycle", time.Since(start).Milliseconds())
	}()
	// The databases holding keys (Redis skips empty ones too); finding
	// out costs a bitmap scan each, so once per call.
	var dbs []int
	for db := 0; db < s.ks.Databases(); db++ {
		if s.ks.NextOccupied(db, 0) >= 0 {
			dbs = append(dbs, db)
		}
	}
	for n := 1; ; n++ {
		if e.usedForEviction()-notCounted <= cfg.MaxMemory {
			return true
		}
		c, ok := s.evictionCandidate(cfg, dbs)
		if !ok {
			e.collectWhenStuck()
			return false // nothing evictable: out of memory
		}
		e.freed.Add(s.evictKey(cfg, c, isVolatilePolicy(cfg.MaxMemoryPolicy), self))
		if n%16 == 0 && time.Since(start) > limit {
			return true
		}
	}
}

// evictKey deletes an evicted key as Redis's performEvictions does: the
// deletion is propagated (DEL, or UNLINK with lazyfree-lazy-eviction),
// WATCHers see it modified and an "evicted" event fires. It returns the
// estimated bytes freed, 0 when the key had gone meanwhile.
func (s *Server) evictKey(cfg *config.Config, c evictCandidate, volatile bool, self *Client) int64 {
	key := []byte(c.key)
	s.ks.Lock(c.slot)
	v := s.ks.Get(c.db, c.slot, key)
	// A pooled key may have gone, or lost its expiry (PERSIST, a SET),
	// since it was sampled: Redis skips such ghosts too.
	if v == nil || volatile && s.ks.ExpireAt(c.db, c.slot, key) < 0 {
		s.ks.Unlock(c.slot)
		return 0
	}
	freed := command.MemoryUsage(key, *v)
	s.ks.Delete(c.db, c.slot, key)
	s.evict.keys.Add(1)
	// The stream and WATCH bookkeeping want the slot locked, so that a
	// write to the same key on another core comes after the DEL.
	if !s.repl.IsReplica() && s.propagating() {
		del := []byte("DEL")
		if cfg.LazyfreeLazyEviction {
			del = []byte("UNLINK")
		}
		s.feedWrites(c.slot, []repl.Op{{DB: c.db, Argv: [][]byte{del, key}}})
	}
	s.KeyModified(c.db, key)
	s.ks.Unlock(c.slot)
	s.notify(self, command.NotifyEvicted, "evicted", c.db, key)
	return freed
}

// evictionCandidate picks the next key to evict under cfg's policy, from
// databases dbs.
func (s *Server) evictionCandidate(cfg *config.Config, dbs []int) (evictCandidate, bool) {
	e := s.evict
	policy := cfg.MaxMemoryPolicy
	volatile := isVolatilePolicy(policy)
	if policy == "allkeys-random" || policy == "volatile-random" {
		// Each pick starts at the next database, as Redis's next_db.
		e.nextDB++
		for i := range dbs {
			db := dbs[(e.nextDB+i)%len(dbs)]
			var c evictCandidate
			found := false
			s.sampleKeys(db, volatile, 1, nil, func(x evictCandidate) { c, found = x, true })
			if found {
				return c, true
			}
		}
		return evictCandidate{}, false
	}
	score := func(v *keyspace.Value, expireAt int64) uint64 { return s.evictionScore(cfg, v, expireAt) }
	for _, db := range dbs {
		s.sampleKeys(db, volatile, max(cfg.MaxMemorySamples, 1), score, e.offer)
	}
	// The best candidate (Redis walks its pool from the end; evictKey
	// skips one deleted since it was sampled).
	if len(e.pool) == 0 {
		return evictCandidate{}, false
	}
	c := e.pool[len(e.pool)-1]
	e.pool = e.pool[:len(e.pool)-1]
	return c, true
}

// offer puts a sampled candidate into the pool, kept sorted by score
// ascending, dropping the worst when full; a key already there is updated.
func (e *evictor) offer(c evictCandidate) {
	for i := range e.pool {
		// The slot first: an int, where comparing the keys reads them.
		if e.pool[i].slot == c.slot && e.pool[i].key == c.key && e.pool[i].db == c.db {
			e.pool = append(e.pool[:i], e.pool[i+1:]...)
			break
		}
	}
	i := 0
	for i < len(e.pool) && e.pool[i].score < c.score {
		i++
	}
	if len(e.pool) == evictPoolSize {
		if i == 0 {
			return // worse than everything in a full pool
		}
		copy(e.pool, e.pool[1:i]) // drop the worst, shift the lower part
		i--
		e.pool[i] = c
		return
	}
	e.pool = append(e.pool, evictCandidate{})
	copy(e.pool[i+1:], e.pool[i:])
	e.pool[i] = c
}

// evictionScore ranks a sampled key: the higher, the sooner evicted.
func (s *Server) evictionScore(cfg *config.Config, v *keyspace.Value, expireAt int64) uint64 {
	switch policy := cfg.MaxMemoryPolicy; policy {
	case "allkeys-lru", "volatile-lru":
		return uint64(command.IdleSeconds(s.LRUClock(), command.AccessField(s.ks, cfg, *v)))
	case "allkeys-lfu", "volatile-lfu":
		return 255 - uint64(command.LFUCounter(cfg, command.AccessField(s.ks, cfg, *v)))
	default: // volatile-ttl: the sooner the expiry, the higher
		return math.MaxUint64 - uint64(max(expireAt, 0))
	}
}

// sampleKeys hands n keys of database db (with an expiry when volatile)
// to fn, scored by score when set. Like Redis's dictGetSomeKeys it takes
// neighbouring entries, of a random occupied slot (found in the keyspace's
// bitmaps), from a random position, moving to other slots when one has
// fewer: one lock and a few cache lines per slot, not per key.
func (s *Server) sampleKeys(db int, volatile bool, n int, score func(*keyspace.Value, int64) uint64, fn func(evictCandidate)) {
	e := s.evict
	for tries := 0; n > 0 && tries < 16; tries++ {
		var sl int
		if volatile {
			sl = s.ks.NextVolatile(e.rng.IntN(slot.Count)) // any database's
		} else {
			sl = s.ks.NextOccupied(db, e.rng.IntN(slot.Count))
		}
		if sl < 0 {
			return
		}
		if s.cluster != nil && s.importingSlot(sl) {
			// Its keys are the source's until the handoff: deleting one
			// here would let a later forwarded INCR or APPEND start from
			// nothing.
			continue
		}
		s.ks.Lock(sl)
		if t := s.ks.Table(db, sl); t != nil {
			if volatile {
				n -= sampleTable(&t.Expires, n, e.rng, func(x *dict.Entry[int64]) {
					c := evictCandidate{db: db, slot: sl, key: x.Key}
					if v := t.Keys.Get(x.Key); v != nil && score != nil {
						c.score = score(v, x.Val)
					}
					fn(c)
				})
			} else {
				n -= sampleTable(&t.Keys, n, e.rng, func(x *dict.Entry[keyspace.Value]) {
					c := evictCandidate{db: db, slot: sl, key: x.Key}
					if score != nil {
						// Only volatile-ttl reads the expiry, and it
						// samples the expiry table (above).
						c.score = score(&x.Val, 0)
					}
					fn(c)
				})
			}
		}
		s.ks.Unlock(sl)
	}
}

// sampleTable hands up to n neighbouring entries of d, from a random
// position, to fn and returns how many it handed.
func sampleTable[V any](d *dict.Dict[V], n int, r *rand.Rand, fn func(*dict.Entry[V])) int {
	size := d.Len()
	if size == 0 {
		return 0
	}
	n = min(n, size)
	start := r.IntN(size)
	for i := 0; i < n; i++ {
		fn(d.At((start + i) % size))
	}
	return n
}

// deniedOnOOM reports whether spec is refused when memory stays over
// maxmemory, as in Redis's processCommand: denyoom commands, EXEC of a
// transaction holding one, and anything queued inside MULTI but EXEC,
// DISCARD, QUIT and RESET.
func (c *Client) deniedOnOOM(spec *command.Spec) bool {
	if c.commandFlags(spec)&command.FlagDenyOOM != 0 {
		return true
	}
	if c.multi == nil {
		return false
	}
	switch spec.Name {
	case "exec", "discard", "quit", "reset":
		return false
	}
	return true
}

// isVolatilePolicy reports the policies that evict only keys with an
// expiry.
func isVolatilePolicy(policy string) bool { return strings.HasPrefix(policy, "volatile-") }

// clientsPaused reports whether a pause holds clients back: CLIENT PAUSE,
// SHUTDOWN's wait for its replicas, or a manual failover.
func (s *Server) clientsPaused() bool {
	if s.pause.active.Load() || s.shutdownPause.active.Load() {
		return true
	}
	return s.cluster != nil && s.cluster.pausing.Load()
}

// notCountedForEviction is Redis's freeMemoryGetNotCountedMemory: the part
// of the replication stream beyond repl-backlog-size, which the replicas
// still have to read.
func (s *Server) notCountedForEviction() int64 {
	b := s.repl.Stream().BacklogInfo()
	if !b.Active || b.HistLen <= b.Size {
		return 0
	}
	return b.HistLen - b.Size
}
