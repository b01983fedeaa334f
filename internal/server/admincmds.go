package server

import (
	"errors"
	"fmt"
	"math"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/reefkv/reef/internal/cluster/state"
	"github.com/reefkv/reef/internal/command"
	"github.com/reefkv/reef/internal/config"
	"github.com/reefkv/reef/internal/keyspace"
	"github.com/reefkv/reef/internal/latency"
	"github.com/reefkv/reef/internal/logging"
	"github.com/reefkv/reef/internal/rconv"
	"github.com/reefkv/reef/internal/rdb"
	"github.com/reefkv/reef/internal/repl"
	"github.com/reefkv/reef/internal/resp"
	"github.com/reefkv/reef/internal/slot"
	"github.com/reefkv/reef/internal/types"
)

// registerConfigHooks applies runtime configuration changes that need more
// than reading the new snapshot.
func (s *Server) registerConfigHooks() {
	s.cfg.SetWarnLog(func(msg string) { s.log.Warn(msg) })
	s.cfg.OnApply([]string{"maxmemory"}, func(old, new *config.Config) error {
		s.configureMaxmemory(new)
		if new.MaxMemory > 0 {
			// Redis's updateMaxmemory: warn, and evict at once.
			if used := s.evict.usedForEviction(); new.MaxMemory < used {
				s.log.Warn(fmt.Sprintf("WARNING: the new maxmemory value set via CONFIG SET (%d) is smaller than the current memory usage (%d). This will result in key eviction and/or the inability to accept new write commands depending on the maxmemory-policy.", new.MaxMemory, used))
			}
			s.performEvictions(new, nil)
		}
		return nil
	})
	s.cfg.OnApply([]string{"maxclients"}, func(old, new *config.Config) error {
		// Redis's updateMaxclients: the open-files limit must allow it.
		fit := fitMaxclients(new.MaxClients)
		for _, w := range fit.warnings {
			s.log.Warn(w)
		}
		if fit.maxclients != new.MaxClients {
			return fmt.Errorf("The operating system is not able to handle the specified number of clients, try with %d", fit.maxclients)
		}
		return nil
	})
	s.cfg.OnApply([]string{"loglevel"}, func(old, new *config.Config) error {
		s.logOut.SetLevel(logging.ParseLevel(new.LogLevel))
		return nil
	})
	s.cfg.OnResetStat(func() {
		s.stats.totalConnections.Store(0)
		s.stats.totalCommands.Store(0)
		s.stats.rejectedConnections.Store(0)
		s.stats.netInput.Store(0)
		s.stats.netOutput.Store(0)
		s.stats.io.reads.Store(0)
		s.stats.io.writes.Store(0)
		s.stats.expiredKeys.Store(0)
		s.stats.totalErrorReplies.Store(0)
		s.ks.ResetHitsMisses()
		s.errStats.reset()
		for _, sp := range s.table.All() {
			resetSpecStats(sp)
		}
	})
}

func resetSpecStats(sp *command.Spec) {
	sp.Stats.Calls.Store(0)
	sp.Stats.Usec.Store(0)
	sp.Stats.RejectedCalls.Store(0)
	sp.Stats.FailedCalls.Store(0)
	sp.Stats.Latency.Store(nil)
	for _, sub := range sp.Subs {
		resetSpecStats(sub)
	}
}

func configGet(ctx *command.Ctx) {
	pairs := clientOf(ctx).srv.cfg.GetPatterns(ctx.Args[2:])
	ctx.MapLen(len(pairs))
	for _, p := range pairs {
		ctx.BulkString(p[0])
		ctx.BulkString(p[1])
	}
}

func configSet(ctx *command.Ctx) {
	c := clientOf(ctx)
	if msg := c.srv.cfg.SetWith(ctx.Args[2:], config.SetContext{Local: isLocal(c.conn)}); msg != "" {
		ctx.Err(msg)
		return
	}
	ctx.OK()
}

func configResetstat(ctx *command.Ctx) {
	clientOf(ctx).srv.cfg.ResetStat()
	ctx.OK()
}

func configRewrite(ctx *command.Ctx) {
	s := clientOf(ctx).srv
	if err := s.cfg.Rewrite(); err != nil {
		s.log.Warn("CONFIG REWRITE failed: " + err.Error())
		ctx.Err(err.Error())
		return
	}
	s.log.Info("CONFIG REWRITE executed with success.")
	ctx.OK()
}

func configHelp(ctx *command.Ctx) {
	command.HelpReply(ctx, "CONFIG", []string{
		"GET <pattern>",
		"    Return parameters matching the glob-like <pattern> and their values.",
		"SET <directive> <value>",
		"    Set the configuration <directive> to <value>.",
		"RESETSTAT",
		"    Reset statistics reported by the INFO command.",
		"REWRITE",
		"    Rewrite the configuration file.",
	})
}

// shutdownCommand is SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE] [ABORT].
func shutdownCommand(ctx *command.Ctx) {
	c := clientOf(ctx)
	var save, noSave, abort bool
	flags := 0
	for _, a := range ctx.Args[1:] {
		switch {
		case command.EqualFold(a, "nosave"):
			noSave = true
			flags |= config.ShutdownNoSave
		case command.EqualFold(a, "save"):
			save = true
			flags |= config.ShutdownSave
		case command.EqualFold(a, "now"):
			flags |= config.ShutdownNow
		case command.EqualFold(a, "force"):
			flags |= config.ShutdownForce
		case command.EqualFold(a, "abort"):
			abort = true
		default:
			ctx.Err(command.ErrSyntax)
			return
		}
	}
	if (save && noSave) || (abort && len(ctx.Args) != 2) {
		ctx.Err(command.ErrSyntax)
		return
	}
	if abort {
		ctx.Err("ERR No shutdown in progress.")
		return
	}
	c.yieldLoop() // SHUTDOWN waits for the server to stop
	done := make(chan error, 1)
	c.srv.shutdownCh <- shutdownRequest{flags: flags, done: done}
	if err := <-done; err != nil {
		ctx.Err("ERR Errors trying to SHUTDOWN. Check logs.")
		return
	}
	// The server is gone: the connection closes without a reply, as in Redis.
	c.closeAfter = true
}

// debugCommand implements the DEBUG subcommands Reef supports.
func debugCommand(ctx *command.Ctx) {
	c := clientOf(ctx)
	s := c.srv
	sub := strings.ToLower(string(ctx.Args[1]))
	if debugRepl(ctx, sub) {
		return
	}
	switch {
	case sub == "sleep" && len(ctx.Args) == 3:
		// Redis reads the time with strtod and no error check.
		f := strtod(ctx.Args[2])
		clientOf(ctx).yieldLoop()
		time.Sleep(time.Duration(f * float64(time.Second)))
		ctx.OK()
	case sub == "set-active-expire" && len(ctx.Args) == 3:
		// Redis reads the flag with atoi and no error check.
		s.activeExpire.Store(atoi(ctx.Args[2]) != 0)
		ctx.OK()
	case sub == "populate" && len(ctx.Args) >= 3 && len(ctx.Args) <= 5:
		debugPopulate(ctx)
	case sub == "drop-cluster-packet-filter" && len(ctx.Args) == 3:
		// Fault injection for tests: the cluster bus drops every received
		// packet of that type (-1: none), as in Redis.
		t, ok := rconv.ParseInt(ctx.Args[2])
		if !ok {
			ctx.Err(command.ErrNotInt)
			return
		}
		if s.cluster != nil {
			s.cluster.d.Machine(s.ctx, func(m *state.Machine) { m.SetDropFilter(t) })
		}
		ctx.OK()
	case sub == "clusterlink" && len(ctx.Args) == 5 && strings.EqualFold(string(ctx.Args[2]), "kill"):
		if s.cluster == nil {
			ctx.Err("ERR Debug option only available for cluster mode enabled setup!")
			return
		}
		var err error
		s.cluster.d.Machine(s.ctx, func(m *state.Machine) { err = m.KillLink(string(ctx.Args[3]), string(ctx.Args[4])) })
		if err != nil {
			ctx.Err("ERR " + err.Error())
			return
		}
		ctx.OK()
	case sub == "object" && len(ctx.Args) == 3:
		key := ctx.Args[2]
		sl := slot.Of(key)
		s.ks.Lock(sl)
		v := s.ks.Get(ctx.DB, sl, key)
		var line string
		if v != nil {
			refcount := 1
			if command.IsShared(ctx.Cfg, *v) {
				refcount = math.MaxInt32
			}
			lru := command.AccessField(s.ks, ctx.Cfg, *v)
			line = fmt.Sprintf("Value at:%p refcount:%d encoding:%s serializedlength:%d lru:%d lru_seconds_idle:%d",
				v.Ptr(), refcount, command.EncodingOf(*v), serializedLength(ctx.Cfg, *v), lru, command.IdleSeconds(s.lruClock.Load(), lru))
			if v.Type() == keyspace.TypeList {
				// Redis's quicklist details.
				l := (*types.List)(v.Ptr())
				nodes := l.Nodes()
				var sz int
				for _, n := range nodes {
					sz += len(n)
				}
				compressed := 0
				if ctx.Cfg.ListCompressDepth != 0 {
					compressed = 1
				}
				line += fmt.Sprintf(" ql_nodes:%d ql_avg_node:%.2f ql_listpack_max:%d ql_compressed:%d ql_uncompressed_size:%d",
					len(nodes), float64(l.Len())/float64(max(len(nodes), 1)), l.Fill(), compressed, sz)
			}
		}
		s.ks.Unlock(sl)
		if v == nil {
			ctx.Err("ERR no such key")
			return
		}
		ctx.Simple(line)
	case sub == "help":
		command.HelpReply(ctx, "DEBUG", []string{
			"AOF-FLUSH-SLEEP <microsec>",
			"    Server will sleep before flushing the AOF, this is used for testing.",
			"ASSERT",
			"    Crash by assertion failed.",
			"CHANGE-REPL-ID",
			"    Change the replication IDs of the instance.",
			"    Dangerous: should be used only for testing the replication subsystem.",
			"CONFIG-REWRITE-FORCE-ALL",
			"    Like CONFIG REWRITE but writes all configuration options, including",
			"    keywords not listed in original configuration file or default values.",
			"CRASH-AND-RECOVER [<milliseconds>]",
			"    Hard crash and restart after a <milliseconds> delay (default 0).",
			"DIGEST",
			"    Output a hex signature representing the current DB content.",
			"DIGEST-VALUE <key> [<key> ...]",
			"    Output a hex signature of the values of all the specified keys.",
			"ERROR <string>",
			"    Return a Redis protocol error with <string> as message. Useful for clients",
			"    unit tests to simulate Redis errors.",
			"LEAK <string>",
			"    Create a memory leak of the input string.",
			"LOG <message>",
			"    Write <message> to the server log.",
			"HTSTATS <dbid>",
			"    Return hash table statistics of the specified Redis database.",
			"HTSTATS-KEY <key>",
			"    Like HTSTATS but for the hash table stored at <key>'s value.",
			"LOADAOF",
			"    Flush the AOF buffers on disk and reload the AOF in memory.",
			"REPLICATE <string>",
			"    Replicates the provided string to replicas, allowing data divergence.",
			"MALLCTL <key> [<val>]",
			"    Get or set a malloc tuning integer.",
			"MALLCTL-STR <key> [<val>]",
			"    Get or set a malloc tuning string.",
			"OBJECT <key>",
			"    Show low level info about `key` and associated value.",
			"DROP-CLUSTER-PACKET-FILTER <packet-type>",
			"    Drop all packets that match the filtered type. Set to -1 allow all packets.",
			"OOM",
			"    Crash the server simulating an out-of-memory error.",
			"PANIC",
			"    Crash the server simulating a panic.",
			"POPULATE <count> [<prefix>] [<size>]",
			"    Create <count> string keys named key:<num>. If <prefix> is specified then",
			"    it is used instead of the 'key' prefix. These are not propagated to",
			"    replicas. Cluster slots are not respected so keys not belonging to the",
			"    current node can be created in cluster mode.",
			"PROTOCOL <type>",
			"    Reply with a test value of the specified type. <type> can be: string,",
			"    integer, double, bignum, null, array, set, map, attrib, push, verbatim,",
			"    true, false.",
			"RELOAD [option ...]",
			"    Save the RDB on disk and reload it back to memory. Valid <option> values:",
			"    * MERGE: conflicting keys will be loaded from RDB.",
			"    * NOFLUSH: the existing database will not be removed before load, but",
			"      conflicting keys will generate an exception and kill the server.",
			"    * NOSAVE: the database will be loaded from an existing RDB file.",
			"    Examples:",
			"    * DEBUG RELOAD: verify that the server is able to persist, flush and reload",
			"      the database.",
			"    * DEBUG RELOAD NOSAVE: replace the current database with the contents of an",
			"      existing RDB file.",
			"    * DEBUG RELOAD NOSAVE NOFLUSH MERGE: add the contents of an existing RDB",
			"      file to the database.",
			"RESTART [<milliseconds>]",
			"    Graceful restart: save config, db, restart after a <milliseconds> delay (default 0).",
			"SDSLEN <key>",
			"    Show low level SDS string info representing `key` and value.",
			"SEGFAULT",
			"    Crash the server with sigsegv.",
			"SET-ACTIVE-EXPIRE <0|1>",
			"    Setting it to 0 disables expiring keys in background when they are not",
			"    accessed (otherwise the Redis behavior). Setting it to 1 reenables back the",
			"    default.",
			"QUICKLIST-PACKED-THRESHOLD <size>",
			"    Sets the threshold for elements to be inserted as plain vs packed nodes",
			"    Default value is 1GB, allows values up to 4GB. Setting to 0 restores to default.",
			"SET-SKIP-CHECKSUM-VALIDATION <0|1>",
			"    Enables or disables checksum checks for RDB files and RESTORE's payload.",
			"SLEEP <seconds>",
			"    Stop the server for <seconds>. Decimals allowed.",
			"STRINGMATCH-TEST",
			"    Run a fuzz tester against the stringmatchlen() function.",
			"STRUCTSIZE",
			"    Return the size of different Redis core C structures.",
			"LISTPACK <key>",
			"    Show low level info about the listpack encoding of <key>.",
			"QUICKLIST <key> [<0|1>]",
			"    Show low level info about the quicklist encoding of <key>.",
			"    The optional argument (0 by default) sets the level of detail",
			"CLIENT-EVICTION",
			"    Show low level client eviction pools info (maxmemory-clients).",
			"PAUSE-CRON <0|1>",
			"    Stop periodic cron job processing.",
			"REPLYBUFFER PEAK-RESET-TIME <NEVER||RESET|time>",
			"    Sets the time (in milliseconds) to wait between client reply buffer peak resets.",
			"    In case NEVER is provided the last observed peak will never be reset",
			"    In case RESET is provided the peak reset time will be restored to the default value",
			"REPLYBUFFER RESIZING <0|1>",
			"    Enable or disable the reply buffer resize cron job",
			"CLUSTERLINK KILL <to|from|all> <node-id>",
			"    Kills the link based on the direction to/from (both) with the provided node.",
		})
	default:
		ctx.Err("ERR unknown subcommand or wrong number of arguments for '" + trunc(cstr(ctx.Args[1]), 128) + "'. Try DEBUG HELP.")
	}
}

// serializedLength is Redis's rdbSavedObjectLen (DEBUG OBJECT's
// serializedlength): the length of the value's RDB encoding, with LZF
// compression when rdbcompression is on, computed by the RDB writer.
func serializedLength(cfg *config.Config, v keyspace.Value) int {
	var o rdb.Object
	if !repl.ValueToObject(v, &o) {
		return int(command.SerializedLength(v))
	}
	b, _, err := rdb.AppendValue(nil, &o, &rdb.WriteOptions{
		DisableCompression:  !cfg.RDBCompression,
		ListMaxListpackSize: cfg.ListMaxListpackSize,
		ListCompressDepth:   cfg.ListCompressDepth,
	})
	if err != nil {
		return int(command.SerializedLength(v))
	}
	return len(b)
}

// atoi is C's atoi: optional white space and sign, then digits, stopping
// at the first other byte; 0 when there are none.
func atoi(b []byte) int64 {
	i := 0
	for i < len(b) && (b[i] == ' ' || (b[i] >= '\t' && b[i] <= '\r')) {
		i++
	}
	neg := false
	if i < len(b) && (b[i] == '-' || b[i] == '+') {
		neg = b[i] == '-'
		i++
	}
	var n int64
	for ; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
		n = n*10 + int64(b[i]-'0')
	}
	if neg {
		n = -n
	}
	return n
}

// strtod is C's strtod without an end pointer: the longest prefix that is
// a decimal float, 0 when there is none.
func strtod(b []byte) float64 {
	s := strings.TrimLeft(string(b), " \t\n\v\f\r")
	for n := min(len(s), 64); n > 0; n-- {
		if f, err := strconv.ParseFloat(s[:n], 64); err == nil || errors.Is(err, strconv.ErrRange) {
			return f
		}
	}
	return 0
}

// debugPopulate is DEBUG POPULATE count [prefix] [size]: keys prefix:N with
// values "value:N" padded with zero bytes (or truncated) to size.
func debugPopulate(ctx *command.Ctx) {
	count, ok := rconv.ParseInt(ctx.Args[2])
	if !ok || count < 0 {
		ctx.Err("ERR value is out of range, must be positive")
		return
	}
	prefix := []byte("key")
	if len(ctx.Args) >= 4 {
		prefix = ctx.Args[3]
	}
	size := int64(-1)
	if len(ctx.Args) == 5 {
		n, ok := rconv.ParseInt(ctx.Args[4])
		if !ok || n < 0 {
			ctx.Err("ERR value is out of range, must be positive")
			return
		}
		size = n
	}
	ks := ctx.KS
	key := make([]byte, 0, len(prefix)+24)
	for j := int64(0); j < count; j++ {
		key = append(append(key[:0], prefix...), ':')
		key = strconv.AppendInt(key, j, 10)
		sl := slot.Of(key)
		ks.Lock(sl)
		if ks.Get(ctx.DB, sl, key) != nil {
			ks.Unlock(sl)
			continue
		}
		var val []byte
		if size < 0 {
			val = strconv.AppendInt([]byte("value:"), j, 10)
		} else {
			val = make([]byte, size)
			copy(val, strconv.AppendInt([]byte("value:"), j, 10))
		}
		ks.Put(ctx.DB, sl, key, keyspace.StringValue(val, keyspace.StringEncodingFor(len(val))).WithLRU(command.NewAccessField(ctx.Cfg, ctx.Env.LRUClock())), false)
		ks.Unlock(sl)
	}
	ctx.OK()
}

// LATENCY LATEST: the latest spike of every event.
func latencyLatest(ctx *command.Ctx) {
	latest := clientOf(ctx).srv.latency.Latest()
	ctx.ArrayLen(len(latest))
	for _, l := range latest {
		ctx.ArrayLen(4)
		ctx.BulkString(l.Event)
		ctx.Int(l.Time)
		ctx.Int(l.Latency)
		ctx.Int(l.Max)
	}
}

// LATENCY HISTORY event: its samples, oldest first.
func latencyHistory(ctx *command.Ctx) {
	samples, _ := clientOf(ctx).srv.latency.History(cstr(ctx.Args[2]))
	ctx.ArrayLen(len(samples))
	for _, s := range samples {
		ctx.ArrayLen(2)
		ctx.Int(s.Time)
		ctx.Int(s.Latency)
	}
}

// LATENCY RESET [event ...]: the number of event series dropped.
func latencyReset(ctx *command.Ctx) {
	m := clientOf(ctx).srv.latency
	if len(ctx.Args) == 2 {
		ctx.Int(int64(m.ResetAll()))
		return
	}
	n := 0
	for _, ev := range ctx.Args[2:] {
		n += m.Reset(cstr(ev))
	}
	ctx.Int(int64(n))
}

// LATENCY DOCTOR: Redis's report of the spikes, with its advice.
func latencyDoctor(ctx *command.Ctx) {
	cfg := ctx.Cfg
	report := clientOf(ctx).srv.latency.Doctor(latency.DoctorConfig{
		Threshold:            cfg.LatencyMonitorThreshold,
		SlowlogLogSlowerThan: cfg.SlowlogLogSlowerThan,
		Hz:                   cfg.Hz,
		AppendFsyncAlways:    cfg.AppendFsync == "always",
		AnonHugePages:        anonHugePages() > 0,
	}, time.Now().Unix())
	ctx.Out = resp.AppendVerbatim(ctx.Out, ctx.Proto, "txt", []byte(report))
}

// LATENCY GRAPH event: an ASCII graph of its samples.
func latencyGraph(ctx *command.Ctx) {
	graph, ok := clientOf(ctx).srv.latency.Graph(cstr(ctx.Args[2]), time.Now().Unix())
	if !ok {
		ctx.Err("ERR No samples available for event '" + cstr(ctx.Args[2]) + "'")
		return
	}
	ctx.Out = resp.AppendVerbatim(ctx.Out, ctx.Proto, "txt", []byte(graph))
}

// latencyHistogram is LATENCY HISTOGRAM [command ...]: for each command
// with recorded calls, its count and the cumulative distribution over
// power-of-two microsecond buckets, as Redis's fillCommandCDF.
func latencyHistogram(ctx *command.Ctx) {
	t := clientOf(ctx).srv.table
	var specs []*command.Spec
	var addAll func(sp *command.Spec)
	addAll = func(sp *command.Spec) {
		if h := sp.Stats.Latency.Load(); h != nil && h.Total() > 0 {
			specs = append(specs, sp)
		}
		for _, sub := range sp.Subs {
			addAll(sub)
		}
	}
	if len(ctx.Args) == 2 {
		for _, sp := range t.All() {
			addAll(sp)
		}
	} else {
		for _, name := range ctx.Args[2:] {
			if sp := lookupForCommandCmd(t, name); sp != nil {
				addAll(sp)
			}
		}
	}
	ctx.MapLen(len(specs))
	for _, sp := range specs {
		h := sp.Stats.Latency.Load()
		ctx.BulkString(sp.FullName())
		ctx.MapLen(2)
		ctx.BulkString("calls")
		ctx.Int(h.Total())
		ctx.BulkString("histogram_usec")
		cdf := h.LogCDF(1024)
		ctx.MapLen(len(cdf))
		for _, p := range cdf {
			ctx.Int(int64(p[0] / 1000))
			ctx.Int(int64(p[1]))
		}
	}
}

// memoryDoctor is Redis's getMemoryDoctorReport, which reports nothing for
// an instance under 5 MB and found no issue otherwise.
func memoryDoctor(ctx *command.Ctx) {
	msg := "Hi Sam, I can't find any memory issue in your instance. I can only account for what occurs on this base.\n"
	// Redis's threshold is 5 MB of allocations; Reef's empty process holds
	// more than that (slot tables), so count from the startup baseline.
	if memoryUsed()-clientOf(ctx).srv.startupMem < 5<<20 {
		msg = "Hi Sam, this instance is empty or is using very little memory, my issues detector can't be used in these conditions. Please, leave for your mission on Earth and fill it with some data. The new Sam and I will be back to our programming as soon as I finished rebooting.\n"
	}
	ctx.Out = resp.AppendVerbatim(ctx.Out, ctx.Proto, "txt", []byte(msg))
}

// memoryStats is MEMORY STATS: the figures of INFO memory as Redis 7.0's
// map, field for field. Reef has no AOF, scripting or functions, so their
// fields are 0; its keys are kept by slot natively, so the slot-to-keys
// overhead Redis's cluster mode adds is 0 too.
func memoryStats(ctx *command.Ctx) {
	f := clientOf(ctx).srv.memoryFigures()
	heap := heapStats()
	rss := memoryRSS()
	num := func(name string, n int64) {
		ctx.BulkString(name)
		ctx.Int(n)
	}
	// Redis's ratios are single-precision floats.
	ratio := func(name string, a, b int64) {
		ctx.BulkString(name)
		if b <= 0 {
			ctx.Double(0)
			return
		}
		ctx.Double(float64(float32(a) / float32(b)))
	}
	ctx.MapLen(27 + len(f.dbs))
	num("peak.allocated", f.peak)
	num("total.allocated", f.used)
	num("startup.allocated", f.startup)
	num("replication.backlog", f.replBacklog)
	num("clients.slaves", f.clientsReplicas)
	num("clients.normal", 0)
	num("cluster.links", f.clusterLinks)
	num("aof.buffer", 0)
	num("lua.caches", 0)
	num("functions.caches", 0)
	for _, d := range f.dbs {
		ctx.BulkString("db." + strconv.Itoa(d.db))
		ctx.MapLen(3)
		num("overhead.hashtable.main", d.main)
		num("overhead.hashtable.expires", d.expires)
		num("overhead.hashtable.slot-to-keys", 0)
	}
	num("overhead.total", f.overhead)
	num("keys.count", f.keys)
	perKey := int64(0)
	if f.keys > 0 {
		perKey = f.netUsage() / f.keys
	}
	num("keys.bytes-per-key", perKey)
	num("dataset.bytes", f.dataset())
	ctx.BulkString("dataset.percentage")
	ctx.Double(f.datasetPerc())
	ctx.BulkString("peak.percentage")
	ctx.Double(f.peakPerc())
	num("allocator.allocated", heap.allocated)
	num("allocator.active", heap.active)
	num("allocator.resident", heap.resident)
	ratio("allocator-fragmentation.ratio", heap.active, heap.allocated)
	num("allocator-fragmentation.bytes", heap.active-heap.allocated)
	ratio("allocator-rss.ratio", heap.resident, heap.active)
	num("allocator-rss.bytes", heap.resident-heap.active)
	ratio("rss-overhead.ratio", rss, heap.resident)
	num("rss-overhead.bytes", rss-heap.resident)
	ratio("fragmentation", rss, f.used)
	num("fragmentation.bytes", rss-f.used)
}

func memoryPurge(ctx *command.Ctx) {
	debug.FreeOSMemory()
	ctx.OK()
}

func latencyHelp(ctx *command.Ctx) {
	command.HelpReply(ctx, "LATENCY", []string{
		"DOCTOR",
		"    Return a human readable latency analysis report.",
		"GRAPH <event>",
		"    Return an ASCII latency graph for the <event> class.",
		"HISTORY <event>",
		"    Return time-latency samples for the <event> class.",
		"LATEST",
		"    Return the latest latency samples for all events.",
		"RESET [<event> ...]",
		"    Reset latency data of one or more <event> classes.",
		"    (default: reset all data for all event classes)",
		"HISTOGRAM [COMMAND ...]",
		"    Return a cumulative distribution of latencies in the format of a histogram for the specified command names.",
		"    If no commands are specified then all histograms are replied.",
	})
}

// memoryUsage is MEMORY USAGE key [SAMPLES n]: an estimate of the bytes the
// key and its value take.
func memoryUsage(ctx *command.Ctx) {
	if len(ctx.Args) != 3 && len(ctx.Args) != 5 {
		ctx.Err(command.ErrSyntax)
		return
	}
	if len(ctx.Args) == 5 {
		if !command.EqualFold(ctx.Args[3], "samples") {
			ctx.Err(command.ErrSyntax)
			return
		}
		if n, ok := rconv.ParseInt(ctx.Args[4]); !ok || n < 0 {
			ctx.Err(command.ErrNotInt)
			return
		}
	}
	// The server has locked the key's slot (MEMORY USAGE has a key spec).
	key := ctx.Args[2]
	v := ctx.KS.Get(ctx.DB, slot.Of(key), key)
	if v == nil {
		ctx.Null()
		return
	}
	ctx.Int(command.MemoryUsage(key, *v))
}

func memoryHelp(ctx *command.Ctx) {
	command.HelpReply(ctx, "MEMORY", []string{
		"DOCTOR",
		"    Return memory problems reports.",
		"MALLOC-STATS",
		"    Return internal statistics report from the memory allocator.",
		"PURGE",
		"    Attempt to purge dirty pages for reclamation by the allocator.",
		"STATS",
		"    Return information about the memory usage of the server.",
		"USAGE <key> [SAMPLES <count>]",
		"    Return memory in bytes used by <key> and its value. Nested values are",
		"    sampled up to <count> times (default: 5, 0 means sample all).",
	})
}
