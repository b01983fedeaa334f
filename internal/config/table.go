package config

import "strings"

// The parameter table. It follows the order of static_configs in Redis
// 7.0.15's config.c, with the same names, aliases, flags, defaults and
// bounds; the test TestDefaultsMatchRedis checks the defaults against a real
// redis-server and TestBoundsMatchRedis the ranges. A comment says why only
// where Reef departs from Redis or where the Redis value is surprising.

var (
	maxmemoryPolicies = []enumItem{{"volatile-lru", 0}, {"volatile-lfu", 1}, {"volatile-random", 2}, {"volatile-ttl", 3}, {"allkeys-lru", 4}, {"allkeys-lfu", 5}, {"allkeys-random", 6}, {"noeviction", 7}}
	syslogFacilities  = []enumItem{{"user", 0}, {"local0", 1}, {"local1", 2}, {"local2", 3}, {"local3", 4}, {"local4", 5}, {"local5", 6}, {"local6", 7}, {"local7", 8}}
	logLevels         = []enumItem{{"debug", 0}, {"verbose", 1}, {"notice", 2}, {"warning", 3}}
	supervisedModes   = []enumItem{{"upstart", 0}, {"systemd", 1}, {"auto", 2}, {"no", 3}}
	aofFsyncs         = []enumItem{{"everysec", 0}, {"always", 1}, {"no", 2}}
	disklessLoads     = []enumItem{{"disabled", 0}, {"on-empty-db", 1}, {"swapdb", 2}}
	tlsAuthClients    = []enumItem{{"no", 0}, {"yes", 1}, {"optional", 2}}
	// "yes" and "relative" are the same value; Redis prints "yes".
	oomScoreAdjs       = []enumItem{{"no", 0}, {"yes", 1}, {"relative", 1}, {"absolute", 2}}
	aclPubsubDefaults  = []enumItem{{"allchannels", 1}, {"resetchannels", 0}}
	sanitizePayloads   = []enumItem{{"no", 0}, {"yes", 1}, {"clients", 2}}
	protectedActions   = []enumItem{{"no", 0}, {"yes", 1}, {"local", 2}}
	endpointTypes      = []enumItem{{"ip", 0}, {"hostname", 1}, {"unknown-endpoint", 2}}
	propagationErrors  = []enumItem{{"ignore", 0}, {"panic", 1}, {"panic-on-replicas", 2}}
	shutdownOnSigFlags = []enumItem{{"default", 0}, {"save", ShutdownSave}, {"nosave", ShutdownNoSave}, {"now", ShutdownNow}, {"force", ShutdownForce}}
)

func buildParams() []*param {
	const (
		imm = fImmutable
		sen = fSensitive
		hid = fHidden
	)
	ps := []*param{
		// Bool parameters.
		boolP("rdbchecksum", "", imm, true, func(c *Config) *bool { return &c.RDBChecksum }),
		boolP("daemonize", "", imm, false, func(c *Config) *bool { return &c.Daemonize }),
		boolP("io-threads-do-reads", "", imm, false, xBool()),
		boolP("always-show-logo", "", imm, false, xBool()),
		boolP("protected-mode", "", 0, true, func(c *Config) *bool { return &c.ProtectedMode }),
		boolP("rdbcompression", "", 0, true, func(c *Config) *bool { return &c.RDBCompression }),
		boolP("rdb-del-sync-files", "", 0, false, xBool()),
		boolP("activerehashing", "", 0, true, xBool()),
		boolP("stop-writes-on-bgsave-error", "", 0, true, func(c *Config) *bool { return &c.StopWritesOnBgsaveError }),
		boolP("set-proc-title", "", imm, true, xBool()),
		boolP("dynamic-hz", "", 0, true, func(c *Config) *bool { return &c.DynamicHz }),
		boolP("lazyfree-lazy-eviction", "", 0, false, func(c *Config) *bool { return &c.LazyfreeLazyEviction }),
		boolP("lazyfree-lazy-expire", "", 0, false, func(c *Config) *bool { return &c.LazyfreeLazyExpire }),
		boolP("lazyfree-lazy-server-del", "", 0, false, func(c *Config) *bool { return &c.LazyfreeLazyServerDel }),
		boolP("lazyfree-lazy-user-del", "", 0, false, func(c *Config) *bool { return &c.LazyfreeLazyUserDel }),
		boolP("lazyfree-lazy-user-flush", "", 0, false, func(c *Config) *bool { return &c.LazyfreeLazyUserFlush }),
		boolP("repl-disable-tcp-nodelay", "", 0, false, func(c *Config) *bool { return &c.ReplDisableTCPNoDelay }),
		boolP("repl-diskless-sync", "", 0, true, func(c *Config) *bool { return &c.ReplDisklessSync }),
		boolP("aof-rewrite-incremental-fsync", "", 0, true, xBool()),
		boolP("no-appendfsync-on-rewrite", "", 0, false, func(c *Config) *bool { return &c.NoAppendfsyncOnRewrite }),
		boolP("cluster-require-full-coverage", "", 0, true, func(c *Config) *bool { return &c.ClusterRequireFullCoverage }),
		boolP("rdb-save-incremental-fsync", "", 0, true, xBool()),
		boolP("aof-load-truncated", "", 0, true, func(c *Config) *bool { return &c.AOFLoadTruncated }),
		boolP("aof-use-rdb-preamble", "", 0, true, func(c *Config) *bool { return &c.AOFUseRDBPreamble }),
		boolP("aof-timestamp-enabled", "", 0, false, xBool()),
		boolP("cluster-replica-no-failover", "cluster-slave-no-failover", 0, false, func(c *Config) *bool { return &c.ClusterReplicaNoFailover }),
		boolP("replica-lazy-flush", "slave-lazy-flush", 0, false, func(c *Config) *bool { return &c.ReplicaLazyFlush }),
		boolP("replica-serve-stale-data", "slave-serve-stale-data", 0, true, func(c *Config) *bool { return &c.ReplicaServeStaleData }),
		boolP("replica-read-only", "slave-read-only", 0, true, func(c *Config) *bool { return &c.ReplicaReadOnly }),
		boolP("replica-ignore-maxmemory", "slave-ignore-maxmemory", 0, true, func(c *Config) *bool { return &c.ReplicaIgnoreMaxmemory }),
		boolP("jemalloc-bg-thread", "", 0, true, xBool()),
		// Redis refuses "yes" unless built with its own jemalloc, which the
		// Debian build is not; Reef has no active defragmentation either.
		boolPV("activedefrag", "", 0, false, validActiveDefrag, xBool()),
		boolP("syslog-enabled", "", imm, false, xBool()),
		boolP("cluster-enabled", "", imm, false, func(c *Config) *bool { return &c.ClusterEnabled }),
		boolP("appendonly", "", fDenyLoading, false, func(c *Config) *bool { return &c.AppendOnly }),
		boolP("cluster-allow-reads-when-down", "", 0, false, func(c *Config) *bool { return &c.ClusterAllowReadsWhenDown }),
		boolP("cluster-allow-pubsubshard-when-down", "", 0, true, func(c *Config) *bool { return &c.ClusterAllowPubsubshardWhenDown }),
		boolP("crash-log-enabled", "", 0, true, xBool()),
		boolP("crash-memcheck-enabled", "", 0, true, xBool()),
		boolP("use-exit-on-panic", "", hid, false, xBool()),
		boolP("disable-thp", "", imm, true, func(c *Config) *bool { return &c.DisableTHP }),
		boolP("cluster-allow-replica-migration", "", 0, true, func(c *Config) *bool { return &c.ClusterAllowReplicaMigration }),
		boolP("replica-announced", "", 0, true, func(c *Config) *bool { return &c.ReplicaAnnounced }),
		boolP("latency-tracking", "", 0, true, func(c *Config) *bool { return &c.LatencyTracking }),
		boolP("aof-disable-auto-gc", "", 0, false, xBool()),
		boolP("replica-ignore-disk-write-errors", "", 0, false, xBool()),
		boolP("lua-enable-deprecated-api", "", imm|hid, false, xBool()),

		// String parameters.
		strP("aclfile", "", imm, strOpts{hasDef: true}, func(c *Config) *string { return &c.ACLFile }),
		strP("unixsocket", "", imm, nullStr, func(c *Config) *string { return &c.UnixSocket }),
		strP("pidfile", "", imm, nullStr, func(c *Config) *string { return &c.Pidfile }),
		strP("replica-announce-ip", "slave-announce-ip", 0, nullStr, func(c *Config) *string { return &c.ReplicaAnnounceIP }),
		strP("masteruser", "", sen, nullStr, func(c *Config) *string { return &c.MasterUser }),
		strP("cluster-announce-ip", "", 0, nullStr, func(c *Config) *string { return &c.ClusterAnnounceIP }),
		strP("cluster-config-file", "", imm, strOpts{def: "nodes.conf", hasDef: true}, func(c *Config) *string { return &c.ClusterConfigFile }),
		strP("cluster-announce-hostname", "", 0, strOpts{nullable: true, valid: validHostname}, func(c *Config) *string { return &c.ClusterAnnounceHostname }),
		strP("syslog-ident", "", imm, strOpts{def: "redis", hasDef: true}, xStr()),
		strP("dbfilename", "", fProtected, strOpts{def: "dump.rdb", hasDef: true, valid: validDBFilename}, func(c *Config) *string { return &c.DBFilename }),
		strP("appendfilename", "", imm, strOpts{def: "appendonly.aof", hasDef: true, valid: validAOFFilename}, func(c *Config) *string { return &c.AppendFilename }),
		strP("appenddirname", "", imm, strOpts{def: "appendonlydir", hasDef: true, valid: validAOFDirname}, func(c *Config) *string { return &c.AppendDirname }),
		strP("server_cpulist", "", imm, nullStr, xStr()),
		strP("bio_cpulist", "", imm, nullStr, xStr()),
		strP("aof_rewrite_cpulist", "", imm, nullStr, xStr()),
		strP("bgsave_cpulist", "", imm, nullStr, xStr()),
		strP("ignore-warnings", "", 0, strOpts{hasDef: true}, xStr()),
		strP("proc-title-template", "", 0, strOpts{def: "{title} {listen-addr} {server-mode}", hasDef: true, valid: validProcTitle}, xStr()),
		strP("bind-source-addr", "", 0, nullStr, func(c *Config) *string { return &c.BindSourceAddr }),
		strP("logfile", "", imm, strOpts{hasDef: true}, func(c *Config) *string { return &c.Logfile }),
		strP("masterauth", "", sen, strOpts{nullable: true, binary: true}, func(c *Config) *string { return &c.MasterAuth }),
		strP("requirepass", "", sen, strOpts{nullable: true, binary: true}, func(c *Config) *string { return &c.RequirePass }),

		// Enum parameters.
		enumP("supervised", imm, supervisedModes, "no", func(c *Config) *string { return &c.Supervised }),
		enumP("syslog-facility", imm, syslogFacilities, "local0", xStr()),
		enumP("repl-diskless-load", fDenyLoading, disklessLoads, "disabled", func(c *Config) *string { return &c.ReplDisklessLoad }),
		enumP("loglevel", 0, logLevels, "notice", func(c *Config) *string { return &c.LogLevel }),
		enumP("maxmemory-policy", 0, maxmemoryPolicies, "noeviction", func(c *Config) *string { return &c.MaxMemoryPolicy }),
		enumP("appendfsync", 0, aofFsyncs, "everysec", func(c *Config) *string { return &c.AppendFsync }),
		enumP("oom-score-adj", 0, oomScoreAdjs, "no", xStr()),
		enumP("acl-pubsub-default", 0, aclPubsubDefaults, "resetchannels", func(c *Config) *string { return &c.ACLPubsubDefault }),
		enumP("sanitize-dump-payload", 0, sanitizePayloads, "no", func(c *Config) *string { return &c.SanitizeDumpPayload }),
		enumP("enable-protected-configs", imm, protectedActions, "no", func(c *Config) *string { return &c.EnableProtectedConfigs }),
		enumP("enable-debug-command", imm, protectedActions, "no", func(c *Config) *string { return &c.EnableDebugCommand }),
		enumP("enable-module-command", imm, protectedActions, "no", func(c *Config) *string { return &c.EnableModuleCommand }),
		enumP("cluster-preferred-endpoint-type", 0, endpointTypes, "ip", func(c *Config) *string { return &c.ClusterPreferredEndpointType }),
		enumP("propagation-error-behavior", 0, propagationErrors, "ignore", xStr()),
		bitsP("shutdown-on-sigint", 0, shutdownOnSigFlags, validShutdownFlags, func(c *Config) *int { return &c.ShutdownOnSigint }),
		bitsP("shutdown-on-sigterm", 0, shutdownOnSigFlags, validShutdownFlags, func(c *Config) *int { return &c.ShutdownOnSigterm }),

		// Integer parameters.
		numP("databases", "", imm, ints(1, intMax, 16), ri(func(c *Config) *int { return &c.Databases })),
		numP("port", "", 0, ints(0, 65535, 6379), ri(func(c *Config) *int { return &c.Port })),
		numP("io-threads", "", imm, ints(1, 128, 1), ri(func(c *Config) *int { return &c.IOThreads })),
		numP("auto-aof-rewrite-percentage", "", 0, ints(0, intMax, 100), xNum()),
		numP("cluster-replica-validity-factor", "cluster-slave-validity-factor", 0, ints(0, intMax, 10), ri(func(c *Config) *int { return &c.ClusterReplicaValidityFactor })),
		numP("list-max-listpack-size", "list-max-ziplist-size", 0, ints(intMin, intMax, -2), ri(func(c *Config) *int { return &c.ListMaxListpackSize })),
		numP("tcp-keepalive", "", 0, ints(0, intMax, 300), ri(func(c *Config) *int { return &c.TCPKeepalive })),
		numP("cluster-migration-barrier", "", 0, ints(0, intMax, 1), ri(func(c *Config) *int { return &c.ClusterMigrationBarrier })),
		numP("active-defrag-cycle-min", "", 0, ints(1, 99, 1), xNum()),
		numP("active-defrag-cycle-max", "", 0, ints(1, 99, 25), xNum()),
		numP("active-defrag-threshold-lower", "", 0, ints(0, 1000, 10), xNum()),
		numP("active-defrag-threshold-upper", "", 0, ints(0, 1000, 100), xNum()),
		numP("lfu-log-factor", "", 0, ints(0, intMax, 10), ri(func(c *Config) *int { return &c.LFULogFactor })),
		numP("lfu-decay-time", "", 0, ints(0, intMax, 1), ri(func(c *Config) *int { return &c.LFUDecayTime })),
		numP("replica-priority", "slave-priority", 0, ints(0, intMax, 100), ri(func(c *Config) *int { return &c.ReplicaPriority })),
		numP("repl-diskless-sync-delay", "", 0, ints(0, intMax, 5), ri(func(c *Config) *int { return &c.ReplDisklessSyncDelay })),
		numP("maxmemory-samples", "", 0, ints(1, intMax, 5), ri(func(c *Config) *int { return &c.MaxMemorySamples })),
		numP("maxmemory-eviction-tenacity", "", 0, ints(0, 100, 10), ri(func(c *Config) *int { return &c.MaxMemoryEvictionTenacity })),
		numP("timeout", "", 0, ints(0, intMax, 0), ri(func(c *Config) *int { return &c.Timeout })),
		numP("replica-announce-port", "slave-announce-port", 0, ints(0, 65535, 0), ri(func(c *Config) *int { return &c.ReplicaAnnouncePort })),
		numP("tcp-backlog", "", imm, ints(0, intMax, 511), ri(func(c *Config) *int { return &c.TCPBacklog })),
		numP("cluster-port", "", imm, ints(0, 65535, 0), ri(func(c *Config) *int { return &c.ClusterPort })),
		numP("cluster-announce-bus-port", "", 0, ints(0, 65535, 0), ri(func(c *Config) *int { return &c.ClusterAnnounceBusPort })),
		numP("cluster-announce-port", "", 0, ints(0, 65535, 0), ri(func(c *Config) *int { return &c.ClusterAnnouncePort })),
		numP("cluster-announce-tls-port", "", 0, ints(0, 65535, 0), xNum()),
		numP("repl-timeout", "", 0, ints(1, intMax, 60), ri(func(c *Config) *int { return &c.ReplTimeout })),
		numP("repl-ping-replica-period", "repl-ping-slave-period", 0, ints(1, intMax, 10), ri(func(c *Config) *int { return &c.ReplPingReplicaPeriod })),
		numP("list-compress-depth", "", 0, ints(0, intMax, 0), ri(func(c *Config) *int { return &c.ListCompressDepth })),
		numP("rdb-key-save-delay", "", hid, ints(intMin, intMax, 0), xNum()),
		numP("key-load-delay", "", hid, ints(intMin, intMax, 0), xNum()),
		numP("active-expire-effort", "", 0, ints(1, 10, 1), ri(func(c *Config) *int { return &c.ActiveExpireEffort })),
		// Redis takes any hz but clamps it to 1..500 (CONFIG_MIN_HZ and
		// CONFIG_MAX_HZ), so that is what CONFIG GET shows.
		numP("hz", "", 0, numOpts{typ: tInt, lo: 0, hi: intMax, def: 10, post: clampHz}, ri(func(c *Config) *int { return &c.Hz })),
		numP("min-replicas-to-write", "min-slaves-to-write", 0, ints(0, intMax, 0), ri(func(c *Config) *int { return &c.MinReplicasToWrite })),
		numP("min-replicas-max-lag", "min-slaves-max-lag", 0, ints(0, intMax, 10), ri(func(c *Config) *int { return &c.MinReplicasMaxLag })),
		numP("watchdog-period", "", hid, numOpts{typ: tInt, lo: 0, hi: intMax, applyPost: watchdogMin}, xNum()),
		numP("shutdown-timeout", "", 0, ints(0, intMax, 10), ri(func(c *Config) *int { return &c.ShutdownTimeout })),
		numP("repl-diskless-sync-max-replicas", "", 0, ints(0, intMax, 0), xNum()),

		// Unsigned int parameters.
		numP("maxclients", "", 0, numOpts{typ: tUInt, lo: 1, hi: uintMax, def: 10000}, ri(func(c *Config) *int { return &c.MaxClients })),
		numP("unixsocketperm", "", imm, numOpts{typ: tUInt, nf: nOctal, lo: 0, hi: 0o777, def: 0}, ri(func(c *Config) *int { return &c.UnixSocketPerm })),
		numP("socket-mark-id", "", imm, numOpts{typ: tUInt, lo: 0, hi: uintMax, def: 0}, xNum()),

		// Unsigned long parameters (bounds compared signed, as Redis does).
		numP("active-defrag-max-scan-fields", "", 0, numOpts{typ: tULong, lo: 1, hi: longMax, def: 1000}, xNum()),
		numP("slowlog-max-len", "", 0, numOpts{typ: tULong, lo: 0, hi: longMax, def: 128}, ri(func(c *Config) *int { return &c.SlowlogMaxLen })),
		numP("acllog-max-len", "", 0, numOpts{typ: tULong, lo: 0, hi: longMax, def: 128}, ri(func(c *Config) *int { return &c.ACLLogMaxLen })),

		// Long long parameters.
		numP("busy-reply-threshold", "lua-time-limit", 0, numOpts{typ: tLongLong, lo: 0, hi: longMax, def: 5000}, numRef{
			get: func(c *Config) int64 { return c.BusyReplyThreshold },
			set: func(c *Config, v int64) { c.BusyReplyThreshold, c.LuaTimeLimit = v, v },
		}),
		numP("cluster-node-timeout", "", 0, numOpts{typ: tLongLong, lo: 0, hi: llongMax, def: 15000}, r64(func(c *Config) *int64 { return &c.ClusterNodeTimeout })),
		numP("slowlog-log-slower-than", "", 0, numOpts{typ: tLongLong, lo: -1, hi: llongMax, def: 10000}, r64(func(c *Config) *int64 { return &c.SlowlogLogSlowerThan })),
		numP("latency-monitor-threshold", "", 0, numOpts{typ: tLongLong, lo: 0, hi: llongMax, def: 0}, r64(func(c *Config) *int64 { return &c.LatencyMonitorThreshold })),
		numP("proto-max-bulk-len", "", 0, numOpts{typ: tLongLong, nf: nMemory, lo: mb, hi: longMax, def: 512 * mb}, r64(func(c *Config) *int64 { return &c.ProtoMaxBulkLen })),
		numP("stream-node-max-entries", "", 0, numOpts{typ: tLongLong, lo: 0, hi: llongMax, def: 100}, r64(func(c *Config) *int64 { return &c.StreamNodeMaxEntries })),
		numP("repl-backlog-size", "", 0, numOpts{typ: tLongLong, nf: nMemory, lo: 1, hi: llongMax, def: mb, applyPost: clampBacklog}, r64(func(c *Config) *int64 { return &c.ReplBacklogSize })),

		// Unsigned long long parameters.
		numP("maxmemory", "", 0, numOpts{typ: tULongLong, nf: nMemory, lo: 0, hi: ullMax, def: 0}, r64(func(c *Config) *int64 { return &c.MaxMemory })),
		numP("cluster-link-sendbuf-limit", "", 0, numOpts{typ: tULongLong, nf: nMemory, lo: 0, hi: ullMax, def: 0}, r64(func(c *Config) *int64 { return &c.ClusterLinkSendbufLimit })),

		// Size_t parameters.
		numP("hash-max-listpack-entries", "hash-max-ziplist-entries", 0, numOpts{typ: tSizeT, lo: 0, hi: longMax, def: 512}, ri(func(c *Config) *int { return &c.HashMaxListpackEntries })),
		numP("set-max-intset-entries", "", 0, numOpts{typ: tSizeT, lo: 0, hi: longMax, def: 512}, ri(func(c *Config) *int { return &c.SetMaxIntsetEntries })),
		numP("zset-max-listpack-entries", "zset-max-ziplist-entries", 0, numOpts{typ: tSizeT, lo: 0, hi: longMax, def: 128}, ri(func(c *Config) *int { return &c.ZSetMaxListpackEntries })),
		numP("active-defrag-ignore-bytes", "", 0, numOpts{typ: tSizeT, nf: nMemory, lo: 1, hi: llongMax, def: 100 * mb}, xNum()),
		numP("hash-max-listpack-value", "hash-max-ziplist-value", 0, numOpts{typ: tSizeT, nf: nMemory, lo: 0, hi: longMax, def: 64}, ri(func(c *Config) *int { return &c.HashMaxListpackValue })),
		numP("stream-node-max-bytes", "", 0, numOpts{typ: tSizeT, nf: nMemory, lo: 0, hi: longMax, def: 4096}, r64(func(c *Config) *int64 { return &c.StreamNodeMaxBytes })),
		numP("zset-max-listpack-value", "zset-max-ziplist-value", 0, numOpts{typ: tSizeT, nf: nMemory, lo: 0, hi: longMax, def: 64}, ri(func(c *Config) *int { return &c.ZSetMaxListpackValue })),
		numP("hll-sparse-max-bytes", "", 0, numOpts{typ: tSizeT, nf: nMemory, lo: 0, hi: longMax, def: 3000}, ri(func(c *Config) *int { return &c.HLLSparseMaxBytes })),
		numP("tracking-table-max-keys", "", 0, numOpts{typ: tSizeT, lo: 0, hi: longMax, def: 1000000}, r64(func(c *Config) *int64 { return &c.TrackingTableMaxKeys })),
		numP("client-query-buffer-limit", "", 0, numOpts{typ: tSizeT, nf: nMemory, lo: mb, hi: longMax, def: 1024 * mb}, r64(func(c *Config) *int64 { return &c.ClientQueryBufferLimit })),
		numP("maxmemory-clients", "", 0, numOpts{typ: tSSizeT, nf: nMemory | nPercent, lo: -100, hi: longMax, def: 0}, r64(func(c *Config) *int64 { return &c.MaxMemoryClients })),

		// Other numeric types.
		numP("repl-backlog-ttl", "", 0, numOpts{typ: tTimeT, lo: 0, hi: longMax, def: 3600}, ri(func(c *Config) *int { return &c.ReplBacklogTTL })),
		numP("auto-aof-rewrite-min-size", "", 0, numOpts{typ: tOffT, nf: nMemory, lo: 0, hi: llongMax, def: 64 * mb}, xNum()),
		numP("loading-process-events-interval-bytes", "", hid, numOpts{typ: tOffT, lo: 1024, hi: intMax, def: 2 * mb}, xNum()),

		// TLS parameters: the Debian redis-server is built with TLS, so they
		// exist there; Reef keeps them and serves no TLS.
		numP("tls-port", "", 0, ints(0, 65535, 0), ri(func(c *Config) *int { return &c.TLSPort })),
		numP("tls-session-cache-size", "", 0, ints(0, intMax, 20*1024), xNum()),
		numP("tls-session-cache-timeout", "", 0, ints(0, intMax, 300), xNum()),
		boolP("tls-cluster", "", 0, false, xBool()),
		boolP("tls-replication", "", 0, false, xBool()),
		enumP("tls-auth-clients", 0, tlsAuthClients, "yes", xStr()),
		boolP("tls-prefer-server-ciphers", "", 0, false, xBool()),
		boolP("tls-session-caching", "", 0, true, xBool()),
		strP("tls-cert-file", "", 0, nullStr, xStr()),
		strP("tls-key-file", "", 0, nullStr, xStr()),
		strP("tls-key-file-pass", "", 0, nullStr, xStr()),
		strP("tls-client-cert-file", "", 0, nullStr, xStr()),
		strP("tls-client-key-file", "", 0, nullStr, xStr()),
		strP("tls-client-key-file-pass", "", 0, nullStr, xStr()),
		strP("tls-dh-params-file", "", 0, nullStr, xStr()),
		strP("tls-ca-cert-file", "", 0, nullStr, xStr()),
		strP("tls-ca-cert-dir", "", 0, nullStr, xStr()),
		strP("tls-protocols", "", 0, nullStr, xStr()),
		strP("tls-ciphers", "", 0, nullStr, xStr()),
		strP("tls-ciphersuites", "", 0, nullStr, xStr()),
	}
	return append(ps, specialParams()...)
}

func clampHz(v int64) int64 { return min(max(v, 1), 500) }

// clampBacklog is what resizeReplicationBacklog does to a new size:
// CONFIG_REPL_BACKLOG_MIN_SIZE is 16kb.
func clampBacklog(v int64, _ int) int64 { return max(v, 16*1024) }

// watchdogMin is applyWatchdogPeriod's rule: an enabled software watchdog
// period is at least two server cron periods.
func watchdogMin(v int64, hz int) int64 {
	if m := int64(1000 / max(hz, 1) * 2); v != 0 && v < m {
		return m
	}
	return v
}

func validActiveDefrag(on bool) string {
	if on {
		return "Active defragmentation cannot be enabled: it requires a Redis server compiled with a modified Jemalloc like the one shipped by default with the Redis source distribution"
	}
	return ""
}

func validShutdownFlags(v int) string {
	if v&ShutdownSave != 0 && v&ShutdownNoSave != 0 {
		return "shutdown options SAVE and NOSAVE can't be used simultaneously"
	}
	return ""
}

// pathIsBaseName is Redis's test that a name has no directory part.
func pathIsBaseName(s string) bool { return !strings.ContainsAny(s, `/\`) }

func validDBFilename(_ *Config, v string) string {
	if !pathIsBaseName(v) {
		return "dbfilename can't be a path, just a filename"
	}
	return ""
}

func validAOFFilename(_ *Config, v string) string {
	if v == "" {
		return "appendfilename can't be empty"
	}
	if !pathIsBaseName(v) {
		return "appendfilename can't be a path, just a filename"
	}
	return ""
}

func validAOFDirname(_ *Config, v string) string {
	if v == "" {
		return "appenddirname can't be empty"
	}
	if !pathIsBaseName(v) {
		return "appenddirname can't be a path, just a dirname"
	}
	return ""
}

func validHostname(_ *Config, v string) string {
	if len(v) >= 256 {
		return "Hostnames must be less than 256 characters"
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
			return "Hostnames may only contain alphanumeric characters, hyphens or dots"
		}
	}
	return ""
}

// validProcTitle is validateProcTitleTemplate: the template must expand
// (known {variables}, no unterminated brace) to something other than spaces.
func validProcTitle(c *Config, v string) string {
	out, ok := expandProcTitle(c, v, "")
	if !ok || strings.Trim(out, " ") == "" {
		return "template format is invalid or contains unknown variables"
	}
	return ""
}

// expandProcTitle is Redis's sdstemplate with redisProcTitleGetVariable.
func expandProcTitle(c *Config, tmpl, title string) (string, bool) {
	var b strings.Builder
	p := tmpl
	for p != "" {
		i := strings.IndexByte(p, '{')
		if i < 0 {
			b.WriteString(p)
			break
		}
		b.WriteString(p[:i])
		p = p[i+1:]
		if p == "" {
			return "", false
		}
		if p[0] == '{' {
			b.WriteByte('{')
			p = p[1:]
			continue
		}
		j := strings.IndexByte(p, '}')
		if j < 0 {
			return "", false
		}
		switch p[:j] {
		case "title":
			b.WriteString(title)
		case "listen-addr":
			if c.Port != 0 || c.TLSPort != 0 {
				addr := "*"
				if len(c.Bind) > 0 {
					addr = c.Bind[0]
				}
				port := c.Port
				if port == 0 {
					port = c.TLSPort
				}
				b.WriteString(addr + ":" + itoa(port))
			} else {
				b.WriteString("unixsocket:" + c.UnixSocket)
			}
		case "server-mode":
			if c.ClusterEnabled {
				b.WriteString("[cluster]")
			}
		case "config-file":
			if c.ConfigFile != "" {
				b.WriteString(c.ConfigFile)
			} else {
				b.WriteString("-")
			}
		case "port":
			b.WriteString(itoa(c.Port))
		case "tls-port":
			b.WriteString(itoa(c.TLSPort))
		case "unixsocket":
			b.WriteString(c.UnixSocket)
		default:
			return "", false
		}
		p = p[j+1:]
	}
	return b.String(), true
}
