package server

import (
	"time"

	"github.com/reefkv/reef/internal/clock"
	"github.com/reefkv/reef/internal/slot"
)

// startBackground starts the server cron: Redis's serverCron duties that
// Reef needs (LRU clock, active expiry, client timeouts) at hz per second.
func (s *Server) startBackground() {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.cron()
	}()
}

func (s *Server) cron() {
	hz := s.cfg.Get().Hz
	t := newCronTicker(hz)
	defer func() { t.stop() }()
	var cursor int
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-t.c:
		}
		s.updateLRUClock()
		if newHz := s.cfg.Get().Hz; newHz != hz {
			hz = newHz
			t.stop()
			t = newCronTicker(hz)
		}
		if s.activeExpire.Load() && !s.IsReplica() {
			cursor = s.activeExpireCycle(cursor, hz)
		}
		s.loopClientsTimeout()
		s.migrationCron(time.Now())
		// Ready keys left by writers that did not serve them (the master
		// link, self-locking commands) are served here at the latest.
		s.drainPendingReady()
		s.releaseFreeHeap(time.Now())
		s.procs.tick(time.Now(), s.stats.totalCommands.Load())
	}
}

// cronTicker paces the cron: at Redis's default hz of 10 it is the
// process's pulse, so that an idle node wakes up once per period for the
// cron and the cluster's tick together (clock.Pulse); at any other hz, a
// ticker of its own.
type cronTicker struct {
	c    <-chan time.Time
	stop func()
}

func newCronTicker(hz int) cronTicker {
	period := time.Second / time.Duration(hz)
	if period == clock.PulsePeriod {
		c, cancel := clock.Pulse()
		return cronTicker{c, cancel}
	}
	t := time.NewTicker(period)
	return cronTicker{t.C, t.Stop}
}

// Active expiry constants from Redis's expire.c, scaled by
// active-expire-effort.
const (
	expireKeysPerLoop     = 20 // keys sampled per slot per round
	expireAcceptableStale = 10 // percent of stale keys that ends a slot's rounds
	expireSlowCycleCPU    = 25 // percent of each cron period the cycle may use
)

// activeExpireCycle samples volatile keys slot by slot, deleting expired
// ones, starting where the previous cycle stopped and stopping when its time
// budget is spent, like Redis's slow expire cycle. Each slot is locked only
// while it is sampled, so clients on other slots never wait for it.
func (s *Server) activeExpireCycle(cursor, hz int) int {
	cfg := s.cfg.Get()
	effort := cfg.ActiveExpireEffort - 1
	perLoop := expireKeysPerLoop + expireKeysPerLoop/4*effort
	stale := expireAcceptableStale - effort
	budget := time.Second / time.Duration(hz) * time.Duration(expireSlowCycleCPU+2*effort) / 100
	start := time.Now()
	deadline := start.Add(budget)
	var totalSampled, totalExpired int
	dbs := s.ks.Databases()
	// TTLs of the sampled keys that live on, per database, for INFO
	// keyspace's avg_ttl.
	ttlSum := make([]int64, dbs)
	ttlCount := make([]int64, dbs)
	defer func() {
		for db := range ttlCount {
			if ttlCount[db] > 0 {
				s.noteAvgTTL(db, ttlSum[db]/ttlCount[db])
			}
		}
		elapsed := time.Since(start)
		s.stats.expireCycleMicros.Add(elapsed.Microseconds())
		s.latency.AddIfNeeded(cfg.LatencyMonitorThreshold, "expire-cycle", elapsed.Milliseconds())
		if totalSampled > 0 {
			// Like Redis, a running average of the stale ratio.
			cur := int64(totalExpired * 10000 / totalSampled)
			s.stats.expiredStalePerc.Store((cur + s.stats.expiredStalePerc.Load()*95) / 96)
		}
	}()
	// Only the slots with expiries are visited (found in a bitmap, without
	// touching the others' shards), each at most once per cycle.
	processed := 0
	for visited := 0; visited < slot.Count; visited++ {
		next := s.ks.NextVolatile(cursor)
		if next < 0 {
			break
		}
		if next < cursor {
			visited += slot.Count - cursor + next // wrapped around
		} else {
			visited += next - cursor
		}
		if visited >= slot.Count {
			break
		}
		sl := next
		cursor = (next + 1) % slot.Count
		if s.importingSlot(sl) {
			continue
		}
		for db := 0; db < dbs; db++ {
			if s.ks.Count(db, sl) == 0 {
				continue
			}
			for {
				sampled, expired, sum, n := s.expireSlotSample(db, sl, perLoop)
				ttlSum[db] += sum
				ttlCount[db] += n
				totalSampled += sampled
				totalExpired += expired
				if sampled == 0 || expired*100/sampled <= stale {
					break
				}
				if time.Now().After(deadline) {
					s.stats.expiredTimeCapReached.Add(1)
					return cursor
				}
			}
		}
		if processed++; processed%64 == 0 && time.Now().After(deadline) {
			s.stats.expiredTimeCapReached.Add(1)
			break
		}
	}
	return cursor
}

// expireSlotSample samples up to n volatile keys of one slot and deletes the
// expired ones.
func (s *Server) expireSlotSample(db, sl, n int) (sampled, expired int, ttlSum, ttlCount int64) {
	s.ks.Lock(sl)
	defer s.ks.Unlock(sl)
	t := s.ks.Table(db, sl)
	if t == nil || t.Expires.Len() == 0 {
		return 0, 0, 0, 0
	}
	now := time.Now().UnixMilli()
	if n > t.Expires.Len() {
		n = t.Expires.Len()
	}
	for i := 0; i < n; i++ {
		e := t.Expires.Random(nil)
		if e == nil {
			break
		}
		sampled++
		if e.Val < now {
			key := []byte(e.Key)
			s.ks.Delete(db, sl, key)
			s.KeyExpired(db, key)
			s.KeyModified(db, key)
			expired++
		} else {
			ttlSum += e.Val - now
			ttlCount++
		}
	}
	return sampled, expired, ttlSum, ttlCount
}

// noteAvgTTL folds a cycle's average TTL of database db into the running
// estimate INFO keyspace shows, with Redis's weights (2% new, 98% old).
func (s *Server) noteAvgTTL(db int, avg int64) {
	p := &s.avgTTL[db]
	old := p.Load()
	if old == 0 {
		old = avg
	}
	p.Store(old/50*49 + avg/50)
}

// loopClientsTimeout closes event-loop clients idle for longer than the
// timeout directive. Go-mode clients get a read deadline instead (client.go).
// Like Redis's clientsCronHandleTimeout, it spares subscribers, monitors
// and clients that wait on something (those are in Go mode anyway).
func (s *Server) loopClientsTimeout() {
	timeout := int64(s.cfg.Get().Timeout) * 1000
	if timeout <= 0 || len(s.loops) == 0 {
		return
	}
	now := s.coarseMs.Load()
	s.clientsMu.Lock()
	var idle []*Client
	for _, c := range s.clients {
		if now-c.lastSeen.Load() > timeout && c.cc.raw() && c.subsCount.Load() == 0 {
			idle = append(idle, c)
		}
	}
	s.clientsMu.Unlock()
	for _, c := range idle {
		if !s.monitors.has(c) {
			c.kill()
		}
	}
}
