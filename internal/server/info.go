package server

import (
	"fmt"
	"os"
	"runtime"
	"runtime/metrics"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unsafe"

	"github.com/reefkv/reef/internal/command"
	"github.com/reefkv/reef/internal/config"
	"github.com/reefkv/reef/internal/dict"
	"github.com/reefkv/reef/internal/keyspace"
	"github.com/reefkv/reef/internal/resp"
)

// infoSections are INFO's default sections in Redis's order.
var infoSections = []string{"server", "clients", "memory", "persistence", "stats", "replication", "cpu", "modules", "errorstats", "cluster", "keyspace"}

func infoCommand(ctx *command.Ctx) {
	s := clientOf(ctx).srv
	want := map[string]bool{}
	all := false
	if len(ctx.Args) == 1 {
		want["default"] = true
	}
	for _, a := range ctx.Args[1:] {
		want[strings.ToLower(string(a))] = true
	}
	if want["default"] {
		for _, sec := range infoSections {
			want[sec] = true
		}
	}
	if want["all"] || want["everything"] {
		all = true
		for _, sec := range infoSections {
			want[sec] = true
		}
		want["commandstats"] = true
		want["latencystats"] = true
	}
	_ = all
	var b strings.Builder
	order := append([]string{}, infoSections[:7]...)
	order = append(order, "modules", "commandstats", "errorstats", "latencystats", "cluster", "keyspace")
	for _, sec := range order {
		if !want[sec] {
			continue
		}
		if b.Len() > 0 {
			b.WriteString("\r\n")
		}
		s.infoSection(&b, sec)
	}
	ctx.Out = resp.AppendVerbatim(ctx.Out, ctx.Proto, "txt", []byte(b.String()))
}

func field(b *strings.Builder, name string, v any) {
	b.WriteString(name)
	b.WriteByte(':')
	fmt.Fprint(b, v)
	b.WriteString("\r\n")
}

// humanBytes formats like Redis's bytesToHuman.
func humanBytes(n int64) string {
	d := float64(n)
	switch {
	case n < 1024:
		return strconv.FormatInt(n, 10) + "B"
	case n < 1024*1024:
		return fmt.Sprintf("%.2fK", d/1024)
	case n < 1024*1024*1024:
		return fmt.Sprintf("%.2fM", d/(1024*1024))
	case n < 1024*1024*1024*1024:
		return fmt.Sprintf("%.2fG", d/(1024*1024*1024))
	default:
		return fmt.Sprintf("%.2fT", d/(1024*1024*1024*1024))
	}
}

// memoryUsed returns the bytes the Go heap holds (Redis's used_memory).
func memoryUsed() int64 {
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(sample)
	return int64(sample[0].Value.Uint64())
}

// memoryRSS returns the process's resident set size.
func memoryRSS() int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0
	}
	pages, _ := strconv.ParseInt(f[1], 10, 64)
	return pages * int64(os.Getpagesize())
}

// anonHugePages returns the bytes of transparent huge pages the process
// maps (the AnonHugePages lines of /proc/self/smaps), which LATENCY DOCTOR
// warns about as Redis does.
func anonHugePages() int64 {
	b, err := os.ReadFile("/proc/self/smaps")
	if err != nil {
		return 0
	}
	var kb int64
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "AnonHugePages:"); ok {
			if f := strings.Fields(rest); len(f) > 0 {
				n, _ := strconv.ParseInt(f[0], 10, 64)
				kb += n
			}
		}
	}
	return kb * 1024
}

func (s *Server) infoSection(b *strings.Builder, sec string) {
	cfg := s.cfg.Get()
	now := time.Now()
	switch sec {
	case "server":
		b.WriteString("# Server\r\n")
		field(b, "redis_version", command.RedisVersion)
		field(b, "redis_git_sha1", "00000000")
		field(b, "redis_git_dirty", 0)
		field(b, "redis_build_id", "reef-"+Version)
		field(b, "redis_mode", s.mode())
		field(b, "reef_version", Version)
		var uts syscall.Utsname
		syscall.Uname(&uts)
		field(b, "os", utsString(uts.Sysname[:])+" "+utsString(uts.Release[:])+" "+utsString(uts.Machine[:]))
		field(b, "arch_bits", 64)
		field(b, "monotonic_clock", "POSIX clock_gettime")
		field(b, "multiplexing_api", "epoll")
		field(b, "atomicvar_api", "c11-builtin")
		field(b, "gcc_version", "0.0.0")
		field(b, "go_version", runtime.Version())
		field(b, "reef_gomaxprocs", runtime.GOMAXPROCS(0))          // sized to the load (procs.go)
		field(b, "reef_io_uring", config.YesNo(s.batchedReplies())) // batchwrite.go
		field(b, "process_id", os.Getpid())
		field(b, "process_supervised", "no")
		field(b, "run_id", s.runID)
		field(b, "tcp_port", cfg.Port)
		field(b, "server_time_usec", now.UnixMicro())
		up := int64(now.Sub(s.startTime).Seconds())
		field(b, "uptime_in_seconds", up)
		field(b, "uptime_in_days", up/86400)
		field(b, "hz", cfg.Hz)
		field(b, "configured_hz", cfg.Hz)
		field(b, "lru_clock", s.lruClock.Load())
		exe, _ := os.Executable()
		field(b, "executable", exe)
		field(b, "config_file", cfg.ConfigFile)
		field(b, "io_threads_active", 0)
	case "clients":
		b.WriteString("# Clients\r\n")
		field(b, "connected_clients", s.numClients.Load())
		field(b, "cluster_connections", s.clusterConnections())
		field(b, "maxclients", cfg.MaxClients)
		field(b, "client_recent_max_input_buffer", 0)
		field(b, "client_recent_max_output_buffer", 0)
		field(b, "blocked_clients", s.blocked.clients.Load())
		field(b, "tracking_clients", 0)
		field(b, "clients_in_timeout_table", s.blocked.timed.Load())
	case "memory":
		mem := s.memoryFigures()
		used := mem.used
		rss := memoryRSS()
		heap := heapStats()
		b.WriteString("# Memory\r\n")
		field(b, "used_memory", used)
		field(b, "used_memory_human", humanBytes(used))
		field(b, "used_memory_rss", rss)
		field(b, "used_memory_rss_human", humanBytes(rss))
		field(b, "used_memory_peak", mem.peak)
		field(b, "used_memory_peak_human", humanBytes(mem.peak))
		field(b, "used_memory_peak_perc", fmt.Sprintf("%.2f%%", mem.peakPerc()))
		field(b, "used_memory_overhead", mem.overhead)
		field(b, "used_memory_startup", mem.startup)
		field(b, "used_memory_dataset", mem.dataset())
		field(b, "used_memory_dataset_perc", fmt.Sprintf("%.2f%%", mem.datasetPerc()))
		field(b, "allocator_allocated", heap.allocated)
		field(b, "allocator_active", heap.active)
		field(b, "allocator_resident", heap.resident)
		var si syscall.Sysinfo_t
		syscall.Sysinfo(&si)
		total := int64(si.Totalram) * int64(si.Unit)
		field(b, "total_system_memory", total)
		field(b, "total_system_memory_human", humanBytes(total))
		// Reef has no scripting engine: its memory figures are zero.
		for _, f := range []string{"used_memory_lua", "used_memory_vm_eval"} {
			field(b, f, 0)
		}
		field(b, "used_memory_lua_human", "0B")
		for _, f := range []string{"used_memory_scripts_eval", "number_of_cached_scripts", "number_of_functions",
			"number_of_libraries", "used_memory_vm_functions", "used_memory_vm_total"} {
			field(b, f, 0)
		}
		field(b, "used_memory_vm_total_human", "0B")
		field(b, "used_memory_functions", 0)
		field(b, "used_memory_scripts", 0)
		field(b, "used_memory_scripts_human", "0B")
		field(b, "maxmemory", cfg.MaxMemory)
		field(b, "maxmemory_human", humanBytes(cfg.MaxMemory))
		field(b, "maxmemory_policy", cfg.MaxMemoryPolicy)
		field(b, "allocator_frag_ratio", ratio2(heap.active, heap.allocated))
		field(b, "allocator_frag_bytes", heap.active-heap.allocated)
		field(b, "allocator_rss_ratio", ratio2(heap.resident, heap.active))
		field(b, "allocator_rss_bytes", heap.resident-heap.active)
		field(b, "rss_overhead_ratio", ratio2(rss, heap.resident))
		field(b, "rss_overhead_bytes", rss-heap.resident)
		field(b, "mem_fragmentation_ratio", ratio2(rss, used))
		field(b, "mem_fragmentation_bytes", rss-used)
		field(b, "mem_not_counted_for_evict", mem.clientsReplicas)
		field(b, "mem_replication_backlog", mem.replBacklog)
		field(b, "mem_total_replication_buffers", mem.replBacklog+mem.clientsReplicas)
		field(b, "mem_clients_slaves", mem.clientsReplicas)
		field(b, "mem_clients_normal", 0)
		field(b, "mem_cluster_links", mem.clusterLinks)
		field(b, "mem_aof_buffer", 0)
		field(b, "mem_allocator", "go-"+runtime.Version())
		field(b, "active_defrag_running", 0)
		field(b, "lazyfree_pending_objects", 0)
		field(b, "lazyfreed_objects", 0)
	case "persistence":
		s.infoPersistence(b, cfg)
	case "stats":
		hits, misses := s.ks.HitsMisses()
		b.WriteString("# Stats\r\n")
		field(b, "total_connections_received", s.stats.totalConnections.Load())
		field(b, "total_commands_processed", s.stats.totalCommands.Load())
		field(b, "instantaneous_ops_per_sec", 0)
		field(b, "total_net_input_bytes", s.stats.netInput.Load())
		field(b, "total_net_output_bytes", s.stats.netOutput.Load())
		field(b, "total_net_repl_input_bytes", 0)
		field(b, "total_net_repl_output_bytes", 0)
		for _, f := range []string{"instantaneous_input_kbps", "instantaneous_output_kbps", "instantaneous_input_repl_kbps", "instantaneous_output_repl_kbps"} {
			field(b, f, "0.00")
		}
		field(b, "rejected_connections", s.stats.rejectedConnections.Load())
		syncFull, syncOK, syncErr := s.repl.SyncStats()
		field(b, "sync_full", syncFull)
		field(b, "sync_partial_ok", syncOK)
		field(b, "sync_partial_err", syncErr)
		field(b, "expired_keys", s.stats.expiredKeys.Load())
		field(b, "expired_stale_perc", fmt.Sprintf("%.2f", float64(s.stats.expiredStalePerc.Load())/100))
		field(b, "expired_time_cap_reached_count", s.stats.expiredTimeCapReached.Load())
		field(b, "expire_cycle_cpu_milliseconds", s.stats.expireCycleMicros.Load()/1000)
		field(b, "evicted_keys", s.evict.keys.Load())
		field(b, "evicted_clients", 0)
		field(b, "total_eviction_exceeded_time", 0)
		field(b, "current_eviction_exceeded_time", 0)
		field(b, "keyspace_hits", hits)
		field(b, "keyspace_misses", misses)
		field(b, "pubsub_channels", s.pubsub.nchannels.Load())
		field(b, "pubsub_patterns", s.pubsub.npatterns.Load())
		field(b, "pubsubshard_channels", s.pubsub.nshard.Load())
		field(b, "latest_fork_usec", 0)
		field(b, "total_forks", 0)
		field(b, "migrate_cached_sockets", 0)
		for _, f := range []string{"slave_expires_tracked_keys", "active_defrag_hits", "active_defrag_misses",
			"active_defrag_key_hits", "active_defrag_key_misses", "total_active_defrag_time",
			"current_active_defrag_time", "tracking_total_keys", "tracking_total_items", "tracking_total_prefixes",
			"unexpected_error_replies"} {
			field(b, f, 0)
		}
		field(b, "total_error_replies", s.stats.totalErrorReplies.Load())
		field(b, "dump_payload_sanitizations", 0)
		field(b, "total_reads_processed", s.stats.io.reads.Load())
		field(b, "total_writes_processed", s.stats.io.writes.Load())
		field(b, "io_threaded_reads_processed", 0)
		field(b, "io_threaded_writes_processed", 0)
		field(b, "reply_buffer_shrinks", 0)
		field(b, "reply_buffer_expands", 0)
	case "replication":
		s.infoReplication(b, cfg)
	case "cpu":
		var ru syscall.Rusage
		syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
		b.WriteString("# CPU\r\n")
		field(b, "used_cpu_sys", fmt.Sprintf("%.6f", tvSeconds(ru.Stime)))
		field(b, "used_cpu_user", fmt.Sprintf("%.6f", tvSeconds(ru.Utime)))
		field(b, "used_cpu_sys_children", "0.000000")
		field(b, "used_cpu_user_children", "0.000000")
		// Reef has no main thread: these are the whole process's figures.
		field(b, "used_cpu_sys_main_thread", fmt.Sprintf("%.6f", tvSeconds(ru.Stime)))
		field(b, "used_cpu_user_main_thread", fmt.Sprintf("%.6f", tvSeconds(ru.Utime)))
	case "modules":
		b.WriteString("# Modules\r\n")
	case "commandstats":
		b.WriteString("# Commandstats\r\n")
		var lines []string
		var walk func(sp *command.Spec)
		walk = func(sp *command.Spec) {
			calls := sp.Stats.Calls.Load()
			rejected := sp.Stats.RejectedCalls.Load()
			failed := sp.Stats.FailedCalls.Load()
			if calls > 0 || rejected > 0 || failed > 0 {
				usec := sp.Stats.Usec.Load()
				per := 0.0
				if calls > 0 {
					per = float64(usec) / float64(calls)
				}
				lines = append(lines, fmt.Sprintf("cmdstat_%s:calls=%d,usec=%d,usec_per_call=%.2f,rejected_calls=%d,failed_calls=%d\r\n",
					sp.Name, calls, usec, per, rejected, failed))
			}
			for _, sub := range sp.Subs {
				walk(sub)
			}
		}
		for _, sp := range s.table.All() {
			walk(sp)
		}
		sort.Strings(lines)
		for _, l := range lines {
			b.WriteString(l)
		}
	case "errorstats":
		b.WriteString("# Errorstats\r\n")
		for _, l := range s.errStats.snapshot() {
			b.WriteString(l)
			b.WriteString("\r\n")
		}
	case "latencystats":
		b.WriteString("# Latencystats\r\n")
		s.writeLatencyStats(b, cfg.LatencyTrackingInfoPercentiles)
	case "cluster":
		b.WriteString("# Cluster\r\n")
		field(b, "cluster_enabled", boolInt(cfg.ClusterEnabled))
	case "keyspace":
		b.WriteString("# Keyspace\r\n")
		for db := 0; db < s.ks.Databases(); db++ {
			n := s.ks.Size(db)
			if n == 0 {
				continue
			}
			fmt.Fprintf(b, "db%d:keys=%d,expires=%d,avg_ttl=%d\r\n", db, n, s.ks.VolatileSize(db), s.avgTTL[db].Load())
		}
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func tvSeconds(tv syscall.Timeval) float64 {
	return float64(tv.Sec) + float64(tv.Usec)/1e6
}

func utsString(b []int8) string {
	var out []byte
	for _, c := range b {
		if c == 0 {
			break
		}
		out = append(out, byte(c))
	}
	return string(out)
}

// memoryFigures is Redis's getMemoryOverheadData for Reef: where the heap
// goes, for INFO memory and MEMORY STATS alike.
type memoryFigures struct {
	used, peak, startup int64
	// The replication stream is one buffer shared by the backlog and the
	// replicas, as Redis 7.0's: the backlog's part is up to
	// repl-backlog-size, the replicas' what lies beyond.
	replBacklog, clientsReplicas int64
	clusterLinks                 int64
	dbs                          []dbOverhead // the databases holding keys
	keys                         int64
	overhead                     int64 // startup, replication, links and the tables
}

// dbOverhead is what one database's key and expiry tables take beyond
// the keys and values themselves.
type dbOverhead struct {
	db            int
	main, expires int64
}

// Per-key overhead of the keyspace tables: a table entry and its share of
// the index (command.MemoryUsage counts the same for a key). An estimate
// from the counts, so that INFO costs no walk of the tables.
const (
	keyEntryOverhead    = int64(unsafe.Sizeof(dict.Entry[keyspace.Value]{})) + 11
	expiryEntryOverhead = int64(unsafe.Sizeof(dict.Entry[int64]{})) + 11
)

func (s *Server) memoryFigures() memoryFigures {
	f := memoryFigures{used: memoryUsed(), startup: s.startupMem}
	f.peak = s.notePeak(f.used)
	f.clientsReplicas = s.notCountedForEviction()
	if bl := s.repl.Stream().BacklogInfo(); bl.Active {
		f.replBacklog = bl.HistLen - f.clientsReplicas
	}
	f.clusterLinks = s.clusterLinksMemory()
	f.overhead = f.startup + f.replBacklog + f.clientsReplicas + f.clusterLinks
	for db := 0; db < s.ks.Databases(); db++ {
		n := s.ks.Size(db)
		if n == 0 {
			continue
		}
		o := dbOverhead{db: db, main: n * keyEntryOverhead, expires: s.ks.VolatileSize(db) * expiryEntryOverhead}
		f.dbs = append(f.dbs, o)
		f.keys += n
		f.overhead += o.main + o.expires
	}
	return f
}

// dataset is the memory neither overhead nor startup: keys and values.
func (f memoryFigures) dataset() int64 { return max(f.used-f.overhead, 0) }

// netUsage is the memory used beyond the startup baseline, at least 1.
func (f memoryFigures) netUsage() int64 { return max(f.used-f.startup, 1) }

// The percentages are single-precision floats in Redis (struct
// redisMemOverhead), which shows in MEMORY STATS's %.17g digits.
func (f memoryFigures) datasetPerc() float64 {
	return float64(float32(f.dataset()) * 100 / float32(f.netUsage()))
}

func (f memoryFigures) peakPerc() float64 {
	return float64(float32(f.used) * 100 / float32(max(f.peak, 1)))
}

// notePeak records and returns the peak of used memory.
func (s *Server) notePeak(used int64) int64 {
	for {
		p := s.memPeak.Load()
		if used <= p {
			return p
		}
		if s.memPeak.CompareAndSwap(p, used) {
			return used
		}
	}
}

// ratio2 formats a/b with two decimals, as Redis's %.2f ratios.
func ratio2(a, b int64) string {
	if b <= 0 {
		return "0.00"
	}
	return fmt.Sprintf("%.2f", float64(a)/float64(b))
}

type heapFigures struct{ allocated, active, resident int64 }

// heapStats maps Go's heap to jemalloc's allocated/active/resident.
func heapStats() heapFigures {
	samples := []metrics.Sample{
		{Name: "/memory/classes/heap/objects:bytes"},
		{Name: "/memory/classes/heap/unused:bytes"},
		{Name: "/memory/classes/heap/free:bytes"},
	}
	metrics.Read(samples)
	objects := int64(samples[0].Value.Uint64())
	unused := int64(samples[1].Value.Uint64())
	free := int64(samples[2].Value.Uint64())
	return heapFigures{allocated: objects, active: objects + unused, resident: objects + unused + free}
}

// writeLatencyStats writes Redis's latency_percentiles_usec_<cmd> lines for
// every command with recorded calls, sorted by name.
func (s *Server) writeLatencyStats(b *strings.Builder, percentiles []float64) {
	var lines []string
	var walk func(sp *command.Spec)
	walk = func(sp *command.Spec) {
		if h := sp.Stats.Latency.Load(); h != nil && h.Total() > 0 {
			var l strings.Builder
			l.WriteString("latency_percentiles_usec_" + sp.Name + ":")
			for i, p := range percentiles {
				if i > 0 {
					l.WriteByte(',')
				}
				label := strings.TrimRight(strings.TrimRight(strconv.FormatFloat(p, 'f', 6, 64), "0"), ".")
				fmt.Fprintf(&l, "p%s=%.3f", label, float64(h.ValueAt(p))/1000)
			}
			l.WriteString("\r\n")
			lines = append(lines, l.String())
		}
		for _, sub := range sp.Subs {
			walk(sub)
		}
	}
	for _, sp := range s.table.All() {
		walk(sp)
	}
	sort.Strings(lines)
	for _, l := range lines {
		b.WriteString(l)
	}
}
