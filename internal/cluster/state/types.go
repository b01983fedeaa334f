package state

import (
	"github.com/reefkv/reef/internal/cluster/msg"
	"github.com/reefkv/reef/internal/slot"
)

// NodeID is a 40-byte node name.
type NodeID = msg.NodeID

// Constants from Redis 7.0 (cluster.h); the comments say what they bound.
const (
	FailReportValidityMult = 2     // failure reports expire after 2 x node timeout
	FailUndoTimeMult       = 2     // FAIL of a master with slots is undone after 2 x node timeout
	MFTimeout              = 5000  // manual failover timeout (ms)
	MFPauseMult            = 2     // master pauses writes MFTimeout x 2
	SlaveMigrationDelay    = 5000  // orphaned this long before a replica migrates (ms)
	BlacklistTTL           = 60000 // FORGET keeps the ID out of gossip this long (ms)
	WritableDelay          = 2000  // a starting master stays FAIL this long (ms)
	CantFailoverRelog      = 10000 // re-log "unable to failover" reasons this often (ms)
	TickMillis             = 100   // one Tick is Redis's clusterCron period
)

// Config holds the cluster-* tunables the state machine uses. It is a value:
// change it with Machine.SetConfig.
type Config struct {
	NodeTimeout           int64  // cluster-node-timeout, ms
	RequireFullCoverage   bool   // cluster-require-full-coverage
	ReplicaValidityFactor int64  // cluster-replica-validity-factor
	MigrationBarrier      int    // cluster-migration-barrier
	AllowReplicaMigration bool   // cluster-allow-replica-migration
	ReplicaNoFailover     bool   // cluster-replica-no-failover
	ReplPingReplicaPeriod int64  // repl-ping-replica-period, seconds
	AnnounceIP            string // cluster-announce-ip ("" = learn from MEET)
	AnnounceHostname      string // cluster-announce-hostname
	PreferredEndpoint     string // cluster-preferred-endpoint-type: ip, hostname, unknown-endpoint
	Port                  uint16 // announced client port
	PPort                 uint16 // announced plaintext port when Port is a TLS port, else 0
	CPort                 uint16 // announced bus port
}

// DefaultConfig returns Redis 7.0's defaults (ports left zero).
func DefaultConfig() Config {
	return Config{
		NodeTimeout:           15000,
		RequireFullCoverage:   true,
		ReplicaValidityFactor: 10,
		MigrationBarrier:      1,
		AllowReplicaMigration: true,
		ReplPingReplicaPeriod: 10,
		PreferredEndpoint:     "ip",
	}
}

// LinkID names an inbound bus connection. The bus assigns it; 0 is "none".
type LinkID uint64

// Input is something that happened on the bus, fed to Machine.Step.
type Input interface{ isInput() }

// Packet is a message received on a link. For an inbound link (one the peer
// opened) Inbound is set; for one of my outbound links, Inbound is 0 and Gen
// names the link as the Dial op did (node IDs change during a handshake, so
// outbound links are known by Gen alone, unique per Machine).
type Packet struct {
	Inbound LinkID
	Gen     uint64
	PeerIP  string // remote address of the socket
	LocalIP string // local address of the socket (teaches me my own IP)
	Msg     *msg.Message
}

// LinkUp reports that the outbound link Gen connected.
type LinkUp struct {
	Gen uint64
}

// LinkDown reports that the outbound link Gen failed or closed.
type LinkDown struct {
	Gen uint64
}

// InboundUp reports a new inbound link (for CLUSTER LINKS).
type InboundUp struct {
	Link LinkID
}

// InboundDown reports that an inbound link closed.
type InboundDown struct {
	Link LinkID
}

// BufferLimitExceeded reports that the bus freed a link whose send buffer
// went over cluster-link-sendbuf-limit.
type BufferLimitExceeded struct{}

func (Packet) isInput()              {}
func (LinkUp) isInput()              {}
func (LinkDown) isInput()            {}
func (InboundUp) isInput()           {}
func (InboundDown) isInput()         {}
func (BufferLimitExceeded) isInput() {}

// OpKind says what an Op asks the bus to do.
type OpKind uint8

// Op kinds.
const (
	OpSend         OpKind = iota // send Msg on inbound link Link, or else on outbound link Gen
	OpDial                       // open outbound link Gen to IP:Port (the bus port) for Node
	OpClose                      // close outbound link Gen
	OpCloseInbound               // close inbound link Link
)

// Op is one thing for the bus to do, in order. Node is the peer's ID when
// the op was made (informational: it changes when a handshake completes).
// Msg values may be shared by several Ops (a broadcast) and must not be
// modified.
type Op struct {
	Kind OpKind
	Node NodeID
	Gen  uint64
	Link LinkID
	IP   string
	Port int
	Msg  *msg.Message
}

// Persist asks the driver to write nodes.conf with Content (the exact
// bytes), with fsync when Fsync is set, before it sends any Op of the same
// Ready.
type Persist struct {
	Content []byte
	Fsync   bool
}

// Level is a log severity, as Redis's LL_*.
type Level uint8

// Log levels.
const (
	LevelDebug Level = iota
	LevelVerbose
	LevelNotice
	LevelWarning
)

// Log is one log line, with Redis's wording.
type Log struct {
	Level Level
	Text  string
}

// Event is something the server must act on.
type Event interface{ isEvent() }

// BecomeReplica: replicate Master at IP:Port (replicationSetMaster).
type BecomeReplica struct {
	Master NodeID
	IP     string
	Port   int
}

// BecomeMaster: stop replicating and take writes (replicationUnsetMaster).
// Failover is set when this node won an election or took over, so the
// server shifts its replication ID (replid2) as Redis does.
type BecomeMaster struct {
	Failover bool
}

// DeleteKeysInSlots: this master lost these slots to another master while
// staying a master; delete their keys. Dirty is set when the loss came
// from another master's claim rather than from this node's own handoff
// (Redis's dirty slots, whose deletion it logs for each slot with keys).
type DeleteKeysInSlots struct {
	Slots []int
	Dirty bool
}

// SlotsLost: slots that were served by this node (as master or through its
// master) and no longer are. Shard-channel subscribers of them get
// sunsubscribe.
type SlotsLost struct {
	Slots []int
}

// FlushData: empty the whole dataset (CLUSTER RESET on a replica).
type FlushData struct{}

// StateChanged: cluster_state turned ok or fail.
type StateChanged struct {
	OK bool
}

// PauseWrites: a manual failover asks the master to pause client writes
// until Until (ms); Until == 0 lifts the pause.
type PauseWrites struct {
	Until int64
}

// PublishReceived: deliver a PUBLISH (or SPUBLISH when Shard) that came
// over the bus to local subscribers.
type PublishReceived struct {
	Channel, Message []byte
	Shard            bool
}

// ModuleMessage: a MODULE message from Sender.
type ModuleMessage struct {
	Sender   NodeID
	ModuleID uint64
	Type     uint8
	Payload  []byte
}

func (BecomeReplica) isEvent()     {}
func (BecomeMaster) isEvent()      {}
func (DeleteKeysInSlots) isEvent() {}
func (SlotsLost) isEvent()         {}
func (FlushData) isEvent()         {}
func (StateChanged) isEvent()      {}
func (PauseWrites) isEvent()       {}
func (PublishReceived) isEvent()   {}
func (ModuleMessage) isEvent()     {}

// Ready is what the machine wants done since the previous Ready: persist
// first, then Ops in order, then Events; Logs at any time.
type Ready struct {
	Persist *Persist
	Ops     []Op
	Events  []Event
	Logs    []Log
}

// Empty reports whether r asks for nothing.
func (r *Ready) Empty() bool {
	return r.Persist == nil && len(r.Ops) == 0 && len(r.Events) == 0 && len(r.Logs) == 0
}

// ReplInfo is what the server tells the machine about replication; it
// feeds replica ranking, the validity check and manual failover.
type ReplInfo struct {
	// Offset: master_repl_offset on a master; the processed offset on a
	// replica (replicationGetSlaveOffset).
	Offset int64
	// LinkUp: the replica's link to its master is connected.
	LinkUp bool
	// LastInteraction: ms time of the last data from the master (link up).
	LastInteraction int64
	// DownSince: ms time the link to the master went down (link down).
	DownSince int64
	// WritesPaused: on a master, the pause a manual failover asked for
	// (PauseWrites) is in force and every write that passed the pause
	// check before it has been propagated, so Offset is final: the master
	// announces it to the replica (mflags PAUSED) only then.
	WritesPaused bool
}

// Command is a CLUSTER subcommand for Machine.Handle. Args[0] is the
// subcommand name; DBSize and KeysInSlot give the keyspace facts some
// subcommands check (nil KeysInSlot means no keys).
type Command struct {
	Args       []string
	DBSize     int64
	KeysInSlot func(slot int) int64
	// FromMaster marks a command my master propagated to me (a replica
	// learns its master's open slots from CLUSTER SETSLOT, see
	// migration.go).
	FromMaster bool
}

// Reply is the result of Handle. Concrete types: Status, Error, Int, Bulk,
// Verbatim, BulkArray, Lines, SlotsReply, ShardsReply, LinksReply,
// SaveConfig, NotHandled.
type Reply interface{ isReply() }

// Status is a simple string reply (+OK, +BUMPED 3).
type Status string

// Error is an error reply with its full text ("ERR Unknown node x").
type Error string

// Int is an integer reply.
type Int int64

// Bulk is a bulk string reply.
type Bulk string

// Verbatim is a bulk string in RESP2 and a verbatim "txt" string in RESP3
// (CLUSTER NODES, CLUSTER INFO).
type Verbatim string

// BulkArray is an array of bulk strings (CLUSTER REPLICAS).
type BulkArray []string

// Lines is an array of status lines (CLUSTER HELP).
type Lines []string

// SaveConfig asks the driver to save nodes.conf with fsync now and reply
// +OK, or "ERR error saving the cluster node config: <reason>".
type SaveConfig struct{}

// NotHandled means the subcommand needs the keyspace (COUNTKEYSINSLOT,
// GETKEYSINSLOT) and the server answers it.
type NotHandled struct{}

// SlotsReply is CLUSTER SLOTS.
type SlotsReply []SlotRange

// SlotRange is one element of CLUSTER SLOTS: a run of slots and the nodes
// serving it, master first.
type SlotRange struct {
	Start, End int
	Nodes      []SlotsNode
}

// SlotsNode is a node in CLUSTER SLOTS: [endpoint, port, id, {extra}].
// EndpointNull renders the endpoint as a null (unknown-endpoint).
type SlotsNode struct {
	Endpoint     string
	EndpointNull bool
	Port         int
	ID           string
	Extra        []KV // "ip", "hostname" when they are not the endpoint
}

// KV is one string map entry.
type KV struct{ Key, Value string }

// ShardsReply is CLUSTER SHARDS.
type ShardsReply []Shard

// Shard is one master and its replicas.
type Shard struct {
	Slots []int // flat start,end pairs
	Nodes []ShardNode
}

// ShardNode is a node map in CLUSTER SHARDS. Port 0 and TLSPort 0 are
// omitted, as is an empty Hostname.
type ShardNode struct {
	ID                string
	Port              int
	TLSPort           int
	IP                string
	Endpoint          string
	Hostname          string
	Role              string // master | replica
	ReplicationOffset int64
	Health            string // online | fail | loading
}

// LinksReply is CLUSTER LINKS. The driver fills the buffer fields from the
// bus.
type LinksReply []LinkInfo

// LinkInfo is one link map in CLUSTER LINKS.
type LinkInfo struct {
	Direction           string // to | from
	Node                string
	CreateTime          int64
	Events              string
	SendBufferAllocated int64
	SendBufferUsed      int64
	Link                LinkID // inbound link ("from"), for the driver to look up buffers
	Gen                 uint64 // outbound link ("to")
}

func (Status) isReply()      {}
func (Error) isReply()       {}
func (Int) isReply()         {}
func (Bulk) isReply()        {}
func (Verbatim) isReply()    {}
func (BulkArray) isReply()   {}
func (Lines) isReply()       {}
func (SaveConfig) isReply()  {}
func (NotHandled) isReply()  {}
func (SlotsReply) isReply()  {}
func (ShardsReply) isReply() {}
func (LinksReply) isReply()  {}

// Saved is a parsed nodes.conf, for New. cluster/nodesconf produces it.
type Saved struct {
	Nodes         []SavedNode
	CurrentEpoch  uint64
	LastVoteEpoch uint64
}

// SavedNode is one node line of nodes.conf.
type SavedNode struct {
	ID           NodeID
	IP           string
	Port, CPort  uint16
	Hostname     string
	Flags        uint16
	Master       NodeID // zero: none ("-")
	PingSent     int64
	PongReceived int64
	ConfigEpoch  uint64
	Slots        slot.Set
	Migrating    map[int]NodeID // open slots, myself line only
	Importing    map[int]NodeID
}
