package migrate

import (
	"bytes"
	"math/rand/v2"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/reefkv/reef/internal/command"
	"github.com/reefkv/reef/internal/config"
	"github.com/reefkv/reef/internal/digest"
	"github.com/reefkv/reef/internal/keyspace"
	"github.com/reefkv/reef/internal/rdb"
	"github.com/reefkv/reef/internal/repl"
	"github.com/reefkv/reef/internal/resp"
	"github.com/reefkv/reef/internal/slot"
)

// nopEnv is a command.Env that does nothing.
type nopEnv struct{ command.Env }

func (nopEnv) KeyModified(int, []byte)                         {}
func (nopEnv) KeyReady(int, []byte)                            {}
func (nopEnv) Notify(command.NotifyClass, string, int, []byte) {}
func (nopEnv) KeyExpired(int, []byte)                          {}
func (nopEnv) IsReplica() bool                                 { return false }
func (nopEnv) LRUClock() uint32                                { return 1000 }
func (nopEnv) DBFlushed(int)                                   {}
func (nopEnv) DBSwapped(int, int)                              {}
func (nopEnv) Propagate(*command.Ctx, int)                     {}

// node is a keyspace with the command table, standing for a server.
type node struct {
	ks    *keyspace.Keyspace
	cfg   *config.Config
	table *command.Table
}

func newNode() *node {
	fams := append(command.DataFamilies(), command.DumpCommands(Codec{}))
	n := &node{ks: keyspace.New(1), cfg: config.Default(), table: command.NewTable(fams...)}
	n.ks.InitSharedLRU(1000)
	return n
}

func (n *node) KS() *keyspace.Keyspace { return n.ks }
func (n *node) Config() *config.Config { return n.cfg }
func (n *node) KeysOf(argv [][]byte) [][]byte {
	spec := n.table.Lookup(argv[0])
	if spec == nil {
		return nil
	}
	pos, _ := spec.KeyPositions(argv, nil)
	var out [][]byte
	for _, p := range pos {
		out = append(out, argv[p])
	}
	return out
}

// run executes one command with its slot locked (all keys share a slot);
// when it changed something, feed sees what it propagates, still locked.
func (n *node) run(args [][]byte, fromMaster bool, r *rand.Rand, feed func(argvs [][][]byte)) []byte {
	spec := n.table.Lookup(args[0])
	c := &command.Ctx{KS: n.ks, Cfg: n.cfg, Env: nopEnv{}, Proto: resp.RESP2, Now: time.Now().UnixMilli(),
		Rand: r, FromMaster: fromMaster, Args: args, Spec: spec}
	keys := n.KeysOf(args)
	s := slot.Of(keys[0])
	n.ks.Lock(s)
	defer n.ks.Unlock(s)
	spec.Handler(c)
	if c.Dirty > 0 && feed != nil {
		if c.Rewritten != nil {
			feed(c.Rewritten)
		} else {
			feed([][][]byte{args})
		}
	}
	return c.Out
}

// digests returns every key's digest in slot range of n.
func (n *node) digests(t *testing.T, slots []int) map[string]string {
	out := map[string]string{}
	for _, s := range slots {
		n.ks.Lock(s)
		if tb := n.ks.Table(0, s); tb != nil {
			for e := range tb.Keys.All() {
				var o rdb.Object
				if !repl.ValueToObject(e.Val, &o) {
					t.Fatalf("key %q", e.Key)
				}
				exp := n.ks.ExpireAt(0, s, []byte(e.Key))
				out[e.Key] = digest.Value(&o, exp >= 0).String() + "/" + strconv.FormatInt(exp, 10)
			}
		}
		n.ks.Unlock(s)
	}
	return out
}

func argv(a ...string) [][]byte {
	out := make([][]byte, len(a))
	for i, s := range a {
		out[i] = []byte(s)
	}
	return out
}

// TestExportConsistentUnderWrites: writes of every kind race with the walk
// (small keys, big collections sent in chunks, multi-key commands, renames,
// deletions, expiries); the stream applied on an empty node gives exactly
// the source's slots. Seeds vary the interleavings.
func TestExportConsistentUnderWrites(t *testing.T) {
	for seed := uint64(1); seed <= 6; seed++ {
		t.Run("seed"+strconv.FormatUint(seed, 10), func(t *testing.T) { exportRun(t, seed) })
	}
}

func exportRun(t *testing.T, seed uint64) {
	src, dst := newNode(), newNode()
	r := rand.New(rand.NewPCG(seed, 1))
	// Three tags, so three slots with several keys each.
	tags := []string{"{a}", "{b}", "{c}"}
	var slots []int
	for _, tg := range tags {
		slots = append(slots, slot.OfString(tg))
	}
	sort.Ints(slots)
	key := func(r *rand.Rand, tg string) string { return tg + strconv.Itoa(r.IntN(40)) }
	for _, tg := range tags {
		for i := 0; i < 40; i++ {
			src.run(argv("SET", tg+strconv.Itoa(i), "v"+strconv.Itoa(i)), false, r, nil)
		}
		// Big collections, sent in chunks.
		for i := 0; i < 3*ChunkElems; i += 100 {
			h := []string{"HSET", tg + "H"}
			s := []string{"SADD", tg + "S"}
			z := []string{"ZADD", tg + "Z"}
			l := []string{"RPUSH", tg + "L"}
			for j := i; j < i+100; j++ {
				h = append(h, "f"+strconv.Itoa(j), strconv.Itoa(j))
				s = append(s, "m"+strconv.Itoa(j))
				z = append(z, strconv.Itoa(j), "m"+strconv.Itoa(j))
				l = append(l, "e"+strconv.Itoa(j))
			}
			for _, cmd := range [][]string{h, s, z, l} {
				src.run(argv(cmd...), false, r, nil)
			}
		}
	}
	e := NewExport(src, "t", "src", "dst", slots)
	feed := func(argvs [][][]byte) { e.Feed(argvs) }
	e.Ack(1 << 40) // no flow control in this test
	wr := rand.New(rand.NewPCG(seed, 2))
	i := 0
	write := func() {
		i++
		tg := tags[wr.IntN(len(tags))]
		k, k2 := key(wr, tg), key(wr, tg)
		f := "f" + strconv.Itoa(wr.IntN(3*ChunkElems))
		var cmd []string
		switch wr.IntN(16) {
		case 0:
			cmd = []string{"SET", k, "w" + strconv.Itoa(i)}
		case 1:
			cmd = []string{"DEL", k}
		case 2:
			cmd = []string{"RENAME", k, k2}
		case 3:
			cmd = []string{"APPEND", k, "x"}
		case 4:
			cmd = []string{"HINCRBY", tg + "H", f, "1"}
		case 5:
			cmd = []string{"HDEL", tg + "H", f}
		case 6:
			cmd = []string{"SREM", tg + "S", "m" + f[1:]}
		case 7:
			cmd = []string{"ZINCRBY", tg + "Z", "1.5", "m" + f[1:]}
		case 8:
			cmd = []string{"LPUSH", tg + "L", "p" + strconv.Itoa(i)}
		case 9:
			cmd = []string{"RPOP", tg + "L"}
		case 10:
			cmd = []string{"PEXPIRE", k, "100000"}
		case 11:
			cmd = []string{"SUNIONSTORE", tg + "U", tg + "S", k}
		case 12:
			cmd = []string{"SPOP", tg + "S"}
		case 13:
			cmd = []string{"COPY", k, k2, "REPLACE"}
		case 14:
			cmd = []string{"ZPOPMIN", tg + "Z"}
		case 15:
			cmd = []string{"INCR", tg + "n"}
		}
		src.run(argv(cmd...), false, wr, feed)
	}
	// Writes interleave with every step of the walk, then continue after.
	walkHook = func() {
		for n := wr.IntN(4); n > 0; n-- {
			write()
		}
	}
	collectBatch = 7
	defer func() { walkHook, collectBatch = nil, 4096 }()
	if err := e.Walk(); err != nil {
		t.Fatal(err)
	}
	walkHook = nil
	for n := 0; n < 200; n++ {
		write()
	}
	if i < 200+len(slots) {
		t.Fatalf("only %d writes", i)
	}
	// Apply the whole stream on the empty node.
	b, err := e.Take()
	if err != nil {
		t.Fatal(err)
	}
	rd := resp.NewRequestReader(bytes.NewReader(b))
	rd.FromMaster = true
	ar := rand.New(rand.NewPCG(seed, 3))
	for {
		args, err := rd.ReadCommand()
		if err != nil {
			break
		}
		if bytes.EqualFold(args[0], []byte("cluster")) {
			continue
		}
		if out := dst.run(args, true, ar, nil); len(out) > 0 && out[0] == '-' {
			t.Fatalf("applying %q: %s", args[0], out)
		}
	}
	want, got := src.digests(t, slots), dst.digests(t, slots)
	if len(want) != len(got) {
		t.Errorf("source has %d keys, target %d", len(want), len(got))
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%q: target %s, source %s", k, got[k], v)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("%q only on the target", k)
		}
	}
}
