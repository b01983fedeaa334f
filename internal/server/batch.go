package server

import (
	"github.com/reefkv/reef/internal/command"
	"github.com/reefkv/reef/internal/keyspace"
	"github.com/reefkv/reef/internal/slot"
	"github.com/reefkv/reef/internal/types"
)

// An event loop parses the commands of one read ahead, in a batch, so that
// the keyspace can prefetch the keys of all of them at once before the
// first runs (keyspace.Prefetch): a pipelined batch then waits for its
// cache misses together instead of one after another.
//
// Parsing ahead must not change what the commands mean. The batch ends
// after the first command that is not a plain keyed command (AUTH, HELLO,
// RESET, CONFIG SET and SELECT change how the next commands are parsed or
// which keys they name), and is a single command for a client that has not
// authenticated. When a command of the batch hands the client over to
// another goroutine (it blocks, waits or the runner is replaced), the
// reader is rewound to the next command, which that goroutine then reads.

// batchMax is the most commands parsed ahead at once.
const batchMax = 32

// cmdBatch is the commands parsed from one read, in order.
type cmdBatch struct {
	args  [][]byte        // every command's arguments, one command after the other
	ends  []int           // command i's arguments end at ends[i] in args
	marks []int           // the reader's position after command i
	specs []*command.Spec // command i's table entry (nil: unknown)
	gen   uint64          // the reader's Gen when the batch was parsed
	// What to prefetch: at most keyspace.PrefetchMax keys and members.
	pf   keyspace.PrefetchBatch
	next int // pf.Keys[next] is the next key slotOf expects
}

func (b *cmdBatch) reset() {
	clear(b.args) // do not keep the read buffer's slices reachable
	b.args, b.ends, b.marks = b.args[:0], b.ends[:0], b.marks[:0]
	clear(b.specs)
	b.specs = b.specs[:0]
	b.pf.Reset()
	b.next = 0
}

// slotOf returns the slot of key, a command argument. The commands of a
// batch ask for their keys' slots in the order readBatch collected them,
// so the slot computed there is reused when key is that very argument
// (same bytes by address); any other key is hashed.
func (b *cmdBatch) slotOf(key []byte) int {
	if b.next < len(b.pf.Keys) {
		k := b.pf.Keys[b.next]
		if len(k) == len(key) && (len(k) == 0 || &k[0] == &key[0]) {
			b.next++
			return b.pf.Slots[b.next-1]
		}
	}
	return slot.Of(key)
}

// command returns the arguments of command i.
func (b *cmdBatch) command(i int) [][]byte {
	start := 0
	if i > 0 {
		start = b.ends[i-1]
	}
	return b.args[start:b.ends[i]:b.ends[i]]
}

// readBatch parses the complete commands already read, up to batchMax,
// into c.batch, and prefetches their keys. It returns how many it parsed
// and the protocol error met after them, if any.
func (c *Client) readBatch() (int, error) {
	b := &c.batch
	b.reset()
	var err error
	for len(b.ends) < batchMax {
		c.rd.Unauthenticated = !c.authenticated
		var args [][]byte
		args, err = c.rd.ReadBuffered()
		if err != nil || args == nil {
			break
		}
		b.args = append(b.args, args...)
		b.ends = append(b.ends, len(b.args))
		b.marks = append(b.marks, c.rd.Pos())
		spec := c.lookupCommand(args[0])
		b.specs = append(b.specs, spec)
		if !c.authenticated || !b.addKeys(spec, args) {
			break
		}
	}
	b.gen = c.rd.Gen()
	// A walk pays off when its misses overlap: several keys, or several
	// members of one key (HMGET). One key and one member of it (a lone
	// HSET) is a chain of dependent misses the command itself walks anyway.
	if len(b.pf.Keys) > 1 || len(b.pf.Members) > 1 {
		b.pf.MemberDict = types.MemberDict
		c.srv.ks.Prefetch(c.db, &b.pf)
	}
	return len(b.ends), err
}

// addKeys adds the keys of a command, and the members it names in its
// first key's value, to prefetch, and reports whether the command is a
// plain keyed one, after which the batch may go on. Key positions come from
// the command's first/last/step triple, which is all a prefetch needs.
func (b *cmdBatch) addKeys(spec *command.Spec, args [][]byte) bool {
	if spec == nil || spec.Handler == nil || spec.Subs != nil || spec.FirstKey <= 0 {
		return false
	}
	if (spec.Arity > 0 && spec.Arity != len(args)) || len(args) < -spec.Arity {
		return false
	}
	pf := &b.pf
	owner := len(pf.Keys)
	last := spec.LastKey
	if last < 0 {
		last += len(args)
	}
	step := max(spec.Step, 1)
	for i := spec.FirstKey; i <= last && i < len(args) && len(pf.Keys) < keyspace.PrefetchMax; i += step {
		pf.Keys = append(pf.Keys, args[i])
		pf.Slots = append(pf.Slots, slot.Of(args[i]))
	}
	if m := spec.Members; m.First > 0 && owner < len(pf.Keys) {
		step := m.Step
		if step <= 0 {
			step = len(args) // the first only
		}
		for i := m.First; i < len(args) && len(pf.Members) < keyspace.PrefetchMax; i += step {
			pf.Members = append(pf.Members, args[i])
			pf.Owners = append(pf.Owners, owner)
		}
	}
	return true
}
