package command

import (
	"math/rand/v2"
	"sync/atomic"

	"github.com/reefkv/reef/internal/config"
	"github.com/reefkv/reef/internal/keyspace"
	"github.com/reefkv/reef/internal/resp"
	"github.com/reefkv/reef/internal/types"
)

// Handler runs one command. See the package comment for its contract.
type Handler func(c *Ctx)

// Spec is one entry of the command table.
type Spec struct {
	*Meta
	Handler Handler
	// Subs holds the implemented subcommands of a container command (CONFIG,
	// CLIENT, ...), keyed by lower-case name.
	Subs map[string]*Spec
	// Parent is the container of a subcommand.
	Parent *Spec
	// GetKeys overrides key-spec extraction for commands whose keys Redis
	// finds with a special procedure (SORT, MIGRATE, ...). It returns key
	// argument positions.
	GetKeys func(args [][]byte) []int
	// SelfLocking marks commands that lock slots themselves (whole-keyspace
	// walks like KEYS, SCAN, FLUSHALL) instead of having the server lock the
	// slots of their keys.
	SelfLocking bool
	// Members names the arguments that are members or fields of the
	// command's first key (SADD, HGET, ZSCORE...), so that a batch of such
	// commands can prefetch them (keyspace.Prefetch).
	Members MemberArgs

	Stats Stats
}

// MemberArgs are the argument positions First, First+Step, ... (to the end
// of the arguments; only First when Step is 0). First 0 means none. They
// are a prefetch hint: an argument wrongly taken for a member costs a
// little time, never a wrong result.
type MemberArgs struct{ First, Step int }

// FullName is "name" or "parent|name", as COMMAND and error messages print it.
func (s *Spec) FullName() string { return s.Meta.Name }

// Stats are the per-command counters INFO commandstats reports.
type Stats struct {
	Calls         atomic.Int64
	Usec          atomic.Int64
	RejectedCalls atomic.Int64
	FailedCalls   atomic.Int64
	// Latency is the command's latency histogram (INFO latencystats),
	// allocated on the first call; see HistogramOf.
	Latency atomic.Pointer[Histogram]
}

// Env is what handlers need from the server beyond the keyspace. The server
// implements it; every method is safe to call with slot locks held and must
// not take a slot lock.
type Env interface {
	// KeyModified is Redis's signalModifiedKey: it invalidates WATCHes.
	KeyModified(db int, key []byte)
	// KeyReady wakes clients blocked on key (list and sorted-set pushes).
	KeyReady(db int, key []byte)
	// Notify fires a keyspace notification of the given class.
	Notify(class NotifyClass, event string, db int, key []byte)
	// KeyExpired accounts for a key removed because it expired (stats,
	// "expired" notification, DEL propagated to replicas).
	KeyExpired(db int, key []byte)
	// IsReplica reports whether this node replicates from a master, in which
	// case expired keys are hidden but only deleted by the master's DEL.
	IsReplica() bool
	// LRUClock is the current 24-bit LRU clock.
	LRUClock() uint32
	// DBFlushed tells that database db (-1: all) was emptied: every WATCH on
	// it is invalidated.
	DBFlushed(db int)
	// DBSwapped tells that SWAPDB exchanged databases a and b.
	DBSwapped(a, b int)
	// Propagate sends the running command (Rewritten if set, else Args) to
	// replicas now, whatever its Dirty count. Self-locking commands that
	// change data call it while they still hold the locks of what they
	// changed (slot, or keyspace.AllSlots under LockAll), so that the
	// replication stream's order agrees with the keyspace's; the server
	// then does not propagate the command again.
	Propagate(c *Ctx, slot int)
}

// NotifyClass is a keyspace-event class, as notify-keyspace-events letters.
type NotifyClass uint16

// Notification classes (Redis's NOTIFY_* bits).
const (
	NotifyKeyspace NotifyClass = 1 << iota // K
	NotifyKeyevent                         // E
	NotifyGeneric                          // g
	NotifyString                           // $
	NotifyList                             // l
	NotifySet                              // s
	NotifyHash                             // h
	NotifyZSet                             // z
	NotifyExpired                          // x
	NotifyEvicted                          // e
	NotifyStream                           // t
	NotifyKeyMiss                          // m
	NotifyLoaded                           // module only
	NotifyModule                           // d
	NotifyNew                              // n
)

// Ctx is the state of one command execution. The server owns one per client
// and reuses it, so handlers must not keep it.
type Ctx struct {
	Args  [][]byte
	Out   []byte
	Proto int
	DB    int
	KS    *keyspace.Keyspace
	Cfg   *config.Config
	Env   Env
	// Now is the command's time in unix milliseconds, fixed for the whole
	// command (and a whole MULTI), as Redis caches it for expiry decisions.
	Now int64
	// Conn is the server's client, for server-level commands.
	Conn any
	Spec *Spec
	// Rand is the client's random source (RANDOMKEY, SPOP, ...).
	Rand *rand.Rand
	// FromMaster is set for commands applied from our master's replication
	// stream: keys never expire locally for them.
	FromMaster bool

	// slotKey and slotVal cache the last key hashed (see slotOf). slotKey
	// aliases an argument: it is cleared by Reset.
	slotKey []byte
	slotVal int

	// Dirty counts the changes the command made (Redis's server.dirty delta).
	Dirty int64
	// Failed is set when the reply is an error.
	Failed bool
	// ErrCode is the code of the last error reply ("ERR", "WRONGTYPE"), for
	// errorstats.
	ErrCode string
	// Rewritten, when non-nil, replaces Args in replication and AOF.
	Rewritten [][][]byte

	// DenyBlocking is set inside MULTI/EXEC (and scripts): blocking
	// commands then reply as if their timeout expired.
	DenyBlocking bool
	// Block is set by a blocking command that found nothing to serve: the
	// server parks the client on Block.Keys (see docs/BLOCKING.md).
	Block *BlockRequest
	// BlockDeadline, when set, replaces the deadline a blocking command
	// computes from its timeout (a command run again after a hand-off).
	BlockDeadline int64

	lim types.Limits // scratch for limits()
}

// Reset prepares the context for a new command.
func (c *Ctx) Reset() {
	c.slotKey = nil
	c.Dirty = 0
	c.Failed = false
	c.ErrCode = ""
	c.Rewritten = nil
	c.Block = nil
	c.DenyBlocking = false
}

// Reply helpers. They append to c.Out in the client's protocol.

// OK replies +OK.
func (c *Ctx) OK() { c.Out = resp.AppendOK(c.Out) }

// Simple replies a simple string.
func (c *Ctx) Simple(s string) { c.Out = resp.AppendSimple(c.Out, s) }

// Int replies an integer.
func (c *Ctx) Int(n int64) { c.Out = resp.AppendInt(c.Out, n) }

// Bulk replies a bulk string.
func (c *Ctx) Bulk(b []byte) { c.Out = resp.AppendBulk(c.Out, b) }

// BulkString replies a bulk string.
func (c *Ctx) BulkString(s string) { c.Out = resp.AppendBulkString(c.Out, s) }

// Null replies a null bulk string.
func (c *Ctx) Null() { c.Out = resp.AppendNull(c.Out, c.Proto) }

// NullArray replies a null array.
func (c *Ctx) NullArray() { c.Out = resp.AppendNullArray(c.Out, c.Proto) }

// ArrayLen starts an array of n elements.
func (c *Ctx) ArrayLen(n int) { c.Out = resp.AppendArrayLen(c.Out, n) }

// MapLen starts a map of n pairs (a flat array in RESP2).
func (c *Ctx) MapLen(n int) { c.Out = resp.AppendMapLen(c.Out, c.Proto, n) }

// SetLen starts a set of n elements (an array in RESP2).
func (c *Ctx) SetLen(n int) { c.Out = resp.AppendSetLen(c.Out, c.Proto, n) }

// Double replies a double (a bulk string in RESP2).
func (c *Ctx) Double(f float64) { c.Out = resp.AppendDouble(c.Out, c.Proto, f) }

// Bool replies a boolean (an integer in RESP2).
func (c *Ctx) Bool(b bool) { c.Out = resp.AppendBool(c.Out, c.Proto, b) }

// Value replies the string form of a string value as a bulk string.
func (c *Ctx) Value(v keyspace.Value) {
	if v.IsInt() {
		c.Out = resp.AppendBulkInt(c.Out, v.Int())
		return
	}
	c.Out = resp.AppendBulk(c.Out, v.Bytes())
}

// Err replies an error. msg carries its code: "ERR ...", "WRONGTYPE ...".
func (c *Ctx) Err(msg string) {
	c.Failed = true
	code := msg
	for i := 0; i < len(msg); i++ {
		if msg[i] == ' ' {
			code = msg[:i]
			break
		}
	}
	c.ErrCode = code
	c.Out = resp.AppendError(c.Out, msg)
}

// Common error replies, worded exactly as Redis 7.0's.
const (
	ErrWrongType     = "WRONGTYPE Operation against a key holding the wrong kind of value"
	ErrSyntax        = "ERR syntax error"
	ErrNotInt        = "ERR value is not an integer or out of range"
	ErrNotFloat      = "ERR value is not a valid float"
	ErrOverflow      = "ERR increment or decrement would overflow"
	ErrNoSuchKey     = "ERR no such key"
	ErrOutOfRange    = "ERR index out of range"
	ErrInvalidExpire = "ERR invalid expire time in '%s' command"
)

// ErrArity returns the wrong-number-of-arguments error for a command name.
func ErrArity(name string) string {
	return "ERR wrong number of arguments for '" + name + "' command"
}

// rand returns the command's random source.
func (c *Ctx) rand() *rand.Rand { return c.Rand }
