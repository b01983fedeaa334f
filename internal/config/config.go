package config

import (
	"maps"
	"slices"
	"strconv"
	"strings"
)

// RedisVersion is the Redis release whose configuration behaviour this
// package reproduces; it appears in the fatal config error banner.
const RedisVersion = "7.0.15"

// Config is an immutable snapshot of every setting. Typed fields hold what the
// server reads on hot or common paths; every other parameter Redis 7.0.15
// accepts is kept in unexported storage, validated by its Redis type and
// reported by Value and CONFIG GET.
//
// A Config obtained from Load, Default, Live.Get or given to a hook must not
// be modified: other goroutines may be reading it. To change the running
// configuration use Live.Set or Live.Update, which copy it first. A Config
// built by Default or Load may be edited freely before it is handed to
// NewLive.
//
// Units follow redis.conf: times are in the unit the directive names
// (seconds unless the name says milliseconds), sizes are bytes.
type Config struct {
	// Network.

	// Port is the TCP port for clients ("port"); 0 means do not listen on TCP.
	Port int
	// Bind lists the addresses to listen on ("bind"); an entry prefixed by
	// "-" is optional (a failure to bind it is not fatal). Default "* -::*".
	Bind []string
	// BindSourceAddr is the source address for outgoing connections, or "".
	BindSourceAddr string
	// DisableTHP opts the process out of transparent huge pages when the
	// kernel gives them to every process.
	DisableTHP bool
	// ProtectedMode refuses non-loopback clients when no password is set.
	ProtectedMode bool
	// TCPBacklog is the listen(2) backlog.
	TCPBacklog int
	// UnixSocket is the path of the unix socket to listen on, or "".
	UnixSocket string
	// UnixSocketPerm is the socket file mode (Redis parses it as octal).
	UnixSocketPerm int
	// Timeout closes a client idle for this many seconds; 0 disables.
	Timeout int
	// TCPKeepalive is the SO_KEEPALIVE interval in seconds; 0 disables.
	TCPKeepalive int
	// TLSPort is "tls-port"; Reef keeps it but serves no TLS.
	TLSPort int

	// Process.

	// Daemonize is "daemonize".
	Daemonize bool
	// Supervised is one of "upstart", "systemd", "auto", "no".
	Supervised string
	// Pidfile is the pid file path, or "" for none.
	Pidfile string
	// LogLevel is one of "debug", "verbose", "notice", "warning".
	LogLevel string
	// Logfile is the log file path; "" means standard output.
	Logfile string
	// Databases is the number of logical databases.
	Databases int
	// IOThreads is "io-threads".
	IOThreads int
	// ShutdownTimeout is the seconds SHUTDOWN waits for replicas.
	ShutdownTimeout int
	// ShutdownOnSigint and ShutdownOnSigterm are bit sets of the Shutdown*
	// flags ("default" is 0).
	ShutdownOnSigint, ShutdownOnSigterm int
	// EnableProtectedConfigs, EnableDebugCommand and EnableModuleCommand are
	// each one of "no", "yes", "local" (local: loopback or unix socket clients).
	EnableProtectedConfigs, EnableDebugCommand, EnableModuleCommand string

	// Security and limits.

	// RequirePass is the default user's password, or "" for none.
	RequirePass string
	// ACLFile is the path of the ACL file, or "".
	ACLFile string
	// ACLLogMaxLen is "acllog-max-len".
	ACLLogMaxLen int
	// ACLPubsubDefault is "allchannels" or "resetchannels".
	ACLPubsubDefault string
	// MaxClients is the connected client limit as configured. Redis lowers
	// it at startup when the file-descriptor limit cannot be raised to
	// MaxClients+32 (and CONFIG GET then shows the lower value); the server
	// does that adjustment and publishes it with Live.Update.
	MaxClients int
	// MaxMemory is the memory limit in bytes, 0 for none. Redis stores it
	// unsigned: a value above 1<<63-1 is kept as its two's complement (it
	// is negative here); treat a negative value as "no practical limit".
	MaxMemory int64
	// MaxMemoryPolicy is the eviction policy name (e.g. "noeviction").
	MaxMemoryPolicy string
	// MaxMemorySamples is "maxmemory-samples".
	MaxMemorySamples int
	// MaxMemoryEvictionTenacity is "maxmemory-eviction-tenacity".
	MaxMemoryEvictionTenacity int
	// MaxMemoryClients is "maxmemory-clients": bytes when >= 0, and minus a
	// percentage of maxmemory when < 0 (-10 means "10%"), as Redis stores it.
	MaxMemoryClients int64
	// ProtoMaxBulkLen is the largest bulk string a client may send.
	ProtoMaxBulkLen int64
	// ClientQueryBufferLimit is the largest query buffer of one client.
	ClientQueryBufferLimit int64
	// ClientOutputBufferLimits is keyed by "normal", "replica" and "pubsub".
	ClientOutputBufferLimits map[string]OutputBufferLimit
	// SanitizeDumpPayload is "no", "yes" or "clients".
	SanitizeDumpPayload string
	// TrackingTableMaxKeys is "tracking-table-max-keys".
	TrackingTableMaxKeys int64

	// Event loop and expiry.

	// Hz is the configured server cron frequency, already clamped to 1..500
	// as Redis does.
	Hz int
	// DynamicHz scales Hz with the number of clients.
	DynamicHz bool
	// ActiveExpireEffort is 1..10.
	ActiveExpireEffort int
	// LazyfreeLazyUserDel makes DEL behave as UNLINK.
	LazyfreeLazyUserDel bool
	// LazyfreeLazyUserFlush makes FLUSHALL/FLUSHDB default to ASYNC.
	LazyfreeLazyUserFlush bool
	// LazyfreeLazyExpire, LazyfreeLazyServerDel and LazyfreeLazyEviction
	// free values in the background in those cases.
	LazyfreeLazyExpire, LazyfreeLazyServerDel, LazyfreeLazyEviction bool
	// LFULogFactor and LFUDecayTime tune the LFU counter.
	LFULogFactor, LFUDecayTime int

	// Persistence.

	// Dir is the working directory as an absolute physical path (what
	// getcwd would return after Redis's chdir). Relative file names (RDB,
	// AOF directory, nodes.conf) are relative to it; the server should
	// os.Chdir(Dir) at startup and when it changes.
	Dir string
	// DBFilename is the RDB file name (never a path).
	DBFilename string
	// Save lists the RDB save points in order; empty disables snapshots.
	Save []SavePoint
	// AppendOnly enables the AOF.
	AppendOnly bool
	// AppendFilename is the AOF base name.
	AppendFilename string
	// AppendDirname is the AOF directory name inside Dir.
	AppendDirname string
	// AppendFsync is "always", "everysec" or "no".
	AppendFsync string
	// NoAppendfsyncOnRewrite skips fsync while a rewrite runs.
	NoAppendfsyncOnRewrite bool
	// AOFLoadTruncated accepts a truncated AOF tail at load.
	AOFLoadTruncated bool
	// AOFUseRDBPreamble writes an RDB preamble on AOF rewrite.
	AOFUseRDBPreamble bool
	// RDBCompression and RDBChecksum are "rdbcompression" / "rdbchecksum".
	RDBCompression, RDBChecksum bool
	// StopWritesOnBgsaveError refuses writes after a failed BGSAVE.
	StopWritesOnBgsaveError bool

	// Observability.

	// SlowlogLogSlowerThan is in microseconds; -1 disables, 0 logs all.
	SlowlogLogSlowerThan int64
	// SlowlogMaxLen is the slow log length.
	SlowlogMaxLen int
	// LatencyMonitorThreshold is in milliseconds; 0 disables.
	LatencyMonitorThreshold int64
	// LatencyTracking enables per-command latency histograms.
	LatencyTracking bool
	// LatencyTrackingInfoPercentiles are the percentiles INFO reports.
	LatencyTrackingInfoPercentiles []float64
	// NotifyKeyspaceEvents is the canonical flag string Redis prints
	// (e.g. "AKE", "xnKm"); "" disables notifications.
	NotifyKeyspaceEvents string

	// Encodings.

	HashMaxListpackEntries, HashMaxListpackValue, SetMaxIntsetEntries, ZSetMaxListpackEntries, ZSetMaxListpackValue, ListMaxListpackSize, ListCompressDepth int
	// HLLSparseMaxBytes is "hll-sparse-max-bytes".
	HLLSparseMaxBytes int
	// StreamNodeMaxBytes and StreamNodeMaxEntries bound a stream node.
	StreamNodeMaxBytes, StreamNodeMaxEntries int64

	// Replication.

	// ReplicaOf is "host port" of the master, or "" for a master; see Master.
	ReplicaOf string
	// MasterAuth and MasterUser authenticate this replica to its master.
	MasterAuth, MasterUser string
	// ReplicaReadOnly, ReplicaServeStaleData, ReplicaLazyFlush and
	// ReplicaIgnoreMaxmemory are the replica-* switches.
	ReplicaReadOnly, ReplicaServeStaleData, ReplicaLazyFlush, ReplicaIgnoreMaxmemory bool
	// ReplicaAnnounced makes a sentinel-visible replica announce itself.
	ReplicaAnnounced bool
	// ReplicaAnnounceIP and ReplicaAnnouncePort override what REPLCONF sends.
	ReplicaAnnounceIP   string
	ReplicaAnnouncePort int
	// ReplicaPriority is "replica-priority".
	ReplicaPriority int
	// ReplBacklogSize is in bytes.
	ReplBacklogSize int64
	// ReplBacklogTTL is in seconds.
	ReplBacklogTTL int
	// ReplDisklessSync streams the RDB to replicas without a file.
	ReplDisklessSync bool
	// ReplDisklessSyncDelay is in seconds.
	ReplDisklessSyncDelay int
	// ReplDisklessLoad is "disabled", "on-empty-db" or "swapdb".
	ReplDisklessLoad string
	// ReplDisableTCPNoDelay is "repl-disable-tcp-nodelay".
	ReplDisableTCPNoDelay bool
	// ReplPingReplicaPeriod and ReplTimeout are in seconds.
	ReplPingReplicaPeriod, ReplTimeout int
	// MinReplicasToWrite and MinReplicasMaxLag (seconds) gate writes.
	MinReplicasToWrite, MinReplicasMaxLag int

	// Cluster.

	ClusterEnabled bool
	// ClusterConfigFile is the nodes.conf name, relative to Dir.
	ClusterConfigFile string
	// ClusterPort is the bus port; 0 means Port+10000.
	ClusterPort int
	// ClusterNodeTimeout is in milliseconds.
	ClusterNodeTimeout int64
	// ClusterAnnounceIP overrides the address put in bus headers.
	ClusterAnnounceIP string
	// ClusterAnnouncePort and ClusterAnnounceBusPort override announced ports.
	ClusterAnnouncePort, ClusterAnnounceBusPort int
	// ClusterAnnounceHostname is sent as a ping extension, or "".
	ClusterAnnounceHostname         string
	ClusterRequireFullCoverage      bool
	ClusterAllowReadsWhenDown       bool
	ClusterAllowPubsubshardWhenDown bool
	// ClusterPreferredEndpointType is "ip", "hostname" or "unknown-endpoint".
	ClusterPreferredEndpointType string
	// ClusterLinkSendbufLimit is in bytes, 0 for none (unsigned in Redis,
	// stored like MaxMemory).
	ClusterLinkSendbufLimit      int64
	ClusterReplicaValidityFactor int
	ClusterMigrationBarrier      int
	ClusterAllowReplicaMigration bool
	ClusterReplicaNoFailover     bool

	// Scripting.

	// BusyReplyThreshold is in milliseconds ("busy-reply-threshold").
	BusyReplyThreshold int64
	// LuaTimeLimit mirrors BusyReplyThreshold: "lua-time-limit" is its alias.
	LuaTimeLimit int64

	// OOMScoreAdjValues is "oom-score-adj-values" (master, replica, child).
	OOMScoreAdjValues [3]int

	// Directives that are not parameters.

	// ConfigFile is the absolute path of the config file given on the
	// command line, or "".
	ConfigFile string
	// ConfigFromStdin reports that the configuration was read from standard
	// input; Redis logs "Reading config from stdin" in that case.
	ConfigFromStdin bool
	// Users holds the arguments of each "user" directive, in order
	// (Reef does not validate ACL rules).
	Users [][]string
	// RenameCommands holds each "rename-command old new" pair in order; an
	// empty new name removes the command.
	RenameCommands [][2]string
	// LoadModules holds each "loadmodule path args..." directive.
	LoadModules [][]string

	// Everything else, indexed by the parameter table.
	xb []bool
	xs []string
	xn []int64
}

// SavePoint is one "save <seconds> <changes>" rule.
type SavePoint struct{ Seconds, Changes int64 }

// OutputBufferLimit is one client class's output buffer limit: the client is
// closed when its buffer exceeds Hard bytes, or exceeds Soft bytes for
// SoftSeconds seconds; 0 disables a limit.
type OutputBufferLimit struct{ Hard, Soft, SoftSeconds int64 }

// Flags of ShutdownOnSigint and ShutdownOnSigterm, with Redis's values.
const (
	ShutdownSave   = 1
	ShutdownNoSave = 2
	ShutdownNow    = 4
	ShutdownForce  = 8
)

// Default returns a new Config holding Redis 7.0.15's defaults. Dir is the
// process's current directory (as getcwd reports it), the only value that
// depends on the host.
func Default() *Config {
	c := &Config{
		xb: make([]bool, nExtraBool),
		xs: make([]string, nExtraString),
		xn: make([]int64, nExtraNum),
	}
	for _, p := range params {
		p.init(c)
	}
	return c
}

// clone returns a deep copy of c, so that the copy can be changed while
// readers still use c.
func (c *Config) clone() *Config {
	n := *c
	n.Bind = slices.Clone(c.Bind)
	n.Save = slices.Clone(c.Save)
	n.ClientOutputBufferLimits = maps.Clone(c.ClientOutputBufferLimits)
	n.LatencyTrackingInfoPercentiles = slices.Clone(c.LatencyTrackingInfoPercentiles)
	n.Users = make([][]string, len(c.Users))
	for i, u := range c.Users {
		n.Users[i] = slices.Clone(u)
	}
	n.RenameCommands = slices.Clone(c.RenameCommands)
	n.LoadModules = make([][]string, len(c.LoadModules))
	for i, m := range c.LoadModules {
		n.LoadModules[i] = slices.Clone(m)
	}
	n.xb = slices.Clone(c.xb)
	n.xs = slices.Clone(c.xs)
	n.xn = slices.Clone(c.xn)
	return &n
}

// Value returns the value of parameter name (any case, aliases and hidden
// parameters included) formatted exactly as CONFIG GET prints it, and false
// if Redis 7.0.15 has no such parameter.
func (c *Config) Value(name string) (string, bool) {
	e := lookup(name)
	if e == nil {
		return "", false
	}
	return e.p.get(c), true
}

// Master splits ReplicaOf into host and port; ok is false on a master.
func (c *Config) Master() (host string, port int, ok bool) {
	i := strings.LastIndexByte(c.ReplicaOf, ' ')
	if c.ReplicaOf == "" || i < 0 {
		return "", 0, false
	}
	port, err := strconv.Atoi(c.ReplicaOf[i+1:])
	if err != nil {
		return "", 0, false
	}
	return c.ReplicaOf[:i], port, true
}

// Names returns the canonical name of every parameter, aliases and hidden
// ones included, in table order.
func Names() []string {
	out := make([]string, 0, len(entries))
	for _, e := range entries {
		out = append(out, e.name)
	}
	return out
}

// Sensitive reports whether parameter name holds a secret (requirepass,
// masterauth, masteruser): Redis redacts its CONFIG SET value from the slow
// log, MONITOR and command statistics.
func Sensitive(name string) bool {
	e := lookup(name)
	return e != nil && e.p.flags&fSensitive != 0
}
