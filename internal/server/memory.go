package server

import (
	"runtime/debug"
	"runtime/metrics"
	"sync/atomic"
	"time"
)

// Returning freed heap to the OS.
//
// Go keeps the pages a collection frees for reuse up to the next heap goal
// (twice the live heap by default), and its background scavenger only
// returns memory above that goal; garbage left by a burst of growth is not
// even collected until the heap grows again. After filling a big
// collection (dict and listpack resizes, large pipelines) the process then
// keeps RSS near twice its data indefinitely, where Redis's jemalloc
// purges dirty pages within seconds. So when the server is quiet and the
// heap holds much more than the last collection found live, the cron
// collects and hands the free pages back (as MEMORY PURGE does), at most
// once every few seconds.

const (
	releaseMinFree  = 8 << 20         // below this much reclaimable heap, keep it
	releaseInterval = 5 * time.Second // at most one forced release per interval
)

var memSamples = []metrics.Sample{
	{Name: "/memory/classes/heap/free:bytes"},
	{Name: "/memory/classes/heap/objects:bytes"},
	{Name: "/gc/heap/live:bytes"},
}

// quietInput is the number of bytes read from clients per cron period
// under which the server counts as quiet (a few big pipelined commands
// are as busy as many small ones).
const quietInput = 256 << 10

var (
	lastRelease atomic.Int64 // unix ns of the last forced release
	lastInput   atomic.Int64 // netInput at the previous check
)

// releaseFreeHeap collects and returns free heap pages to the OS when the
// server is quiet and the heap (objects, dead ones included, plus free
// pages) exceeds the live heap by a quarter and releaseMinFree. Called from the
// cron; it blocks only the cron goroutine (debug.FreeOSMemory collects).
func (s *Server) releaseFreeHeap(now time.Time) {
	in := s.stats.netInput.Load()
	busy := in-lastInput.Swap(in) > quietInput
	if busy || now.UnixNano()-lastRelease.Load() < int64(releaseInterval) {
		return
	}
	samples := make([]metrics.Sample, len(memSamples))
	copy(samples, memSamples)
	metrics.Read(samples)
	for _, v := range samples {
		if v.Value.Kind() != metrics.KindUint64 {
			return
		}
	}
	free, objects, live := samples[0].Value.Uint64(), samples[1].Value.Uint64(), samples[2].Value.Uint64()
	if held := free + objects; held < live+max(releaseMinFree, live/4) {
		return
	}
	lastRelease.Store(now.UnixNano())
	debug.FreeOSMemory()
}
