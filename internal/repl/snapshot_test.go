package repl

import (
	"bytes"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/reefkv/reef/internal/keyspace"
	"github.com/reefkv/reef/internal/resp"
	"github.com/reefkv/reef/internal/slot"
)

// appendTo is a non-idempotent write (APPEND): replaying it twice, or
// missing it, shows in the result.
func appendTo(ks *keyspace.Keyspace, db int, key, suffix []byte) {
	s := slot.Of(key)
	var old []byte
	if v := ks.Get(db, s, key); v != nil {
		old = v.Bytes()
	}
	nv := append(append([]byte(nil), old...), suffix...)
	ks.Put(db, s, key, keyspace.StringValue(nv, keyspace.EncRaw), false)
}

func dumpKS(ks *keyspace.Keyspace) map[string]string {
	out := map[string]string{}
	for db := 0; db < ks.Databases(); db++ {
		for s := 0; s < slot.Count; s++ {
			ks.Lock(s)
			if t := ks.Table(db, s); t != nil {
				for e := range t.Keys.All() {
					out[strconv.Itoa(db)+"/"+e.Key] = string(e.Val.AppendString(nil))
				}
			}
			ks.Unlock(s)
		}
	}
	return out
}

// The snapshot plus the stream from its offset equals the final state, for
// snapshots taken while writers append to keys in one or two slots, in two
// databases, with SWAPDB and FLUSHDB under LockAll.
func TestSnapshotPlusStreamIsExact(t *testing.T) {
	for round := 0; round < 5; round++ {
		ks := keyspace.New(2)
		st := NewStream(1<<30, ks.AfterCut)
		st.CreateBacklog()
		for i := 0; i < 20000; i++ {
			k := []byte("k" + strconv.Itoa(i))
			s := slot.Of(k)
			ks.Lock(s)
			appendTo(ks, i%2, k, []byte("init"))
			ks.Unlock(s)
		}
		var stop atomic.Bool
		var wg sync.WaitGroup
		for w := 0; w < 4; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				rng := rand.New(rand.NewPCG(uint64(round), uint64(w)))
				ops := make([]Op, 0, 2)
				for i := 0; !stop.Load(); i++ {
					db := rng.IntN(2)
					k1 := []byte("k" + strconv.Itoa(rng.IntN(25000)))
					suffix := []byte(strconv.Itoa(w) + "." + strconv.Itoa(i) + ";")
					switch {
					case i%500 == 499 && w == 0:
						ks.LockAll()
						if i%1000 == 999 {
							ks.SwapDBs(0, 1)
							st.Feed(keyspace.AllSlots, []Op{{DB: 0, Argv: [][]byte{[]byte("SWAPDB"), []byte("0"), []byte("1")}}})
						} else {
							for s := 0; s < slot.Count; s++ {
								ks.FlushSlot(1, s)
							}
							st.Feed(keyspace.AllSlots, []Op{{DB: 1, Argv: [][]byte{[]byte("FLUSHDB")}}})
						}
						ks.UnlockAll()
					case i%3 == 0:
						k2 := []byte("k" + strconv.Itoa(rng.IntN(25000)))
						slots := []int{slot.Of(k1), slot.Of(k2)}
						slices.Sort(slots)
						slots = slices.Compact(slots)
						ks.LockSlots(slots)
						appendTo(ks, db, k1, suffix)
						appendTo(ks, db, k2, suffix)
						ops = append(ops[:0],
							Op{DB: db, Argv: [][]byte{[]byte("APPEND"), k1, suffix}},
							Op{DB: db, Argv: [][]byte{[]byte("APPEND"), k2, suffix}})
						st.Feed(slots[0], ops)
						ks.UnlockSlots(slots)
					case i%50 == 0:
						// Keyless entries (PING) may land in a drain.
						st.FeedPing()
					default:
						s := slot.Of(k1)
						ks.Lock(s)
						appendTo(ks, db, k1, suffix)
						st.Feed(s, []Op{{DB: db, Argv: [][]byte{[]byte("APPEND"), k1, suffix}}})
						ks.Unlock(s)
					}
				}
			}(w)
		}
		for st.Offset() < 200000 {
		}
		sn := BeginSnapshot(ks, st, StringCodec, SnapshotOptions{Aux: AuxNow(0)})
		var rdbBuf bytes.Buffer
		if _, err := sn.WriteTo(&rdbBuf); err != nil {
			t.Fatal(err)
		}
		for st.Offset() < sn.Offset+200000 {
		}
		stop.Store(true)
		wg.Wait()
		want := dumpKS(ks)

		// Replica: load the snapshot, replay the stream from its offset.
		rk := keyspace.New(2)
		if _, err := Load(&rdbBuf, rk, StringCodec, LoadOptions{KeepExpired: true}); err != nil {
			t.Fatal(err)
		}
		var stream []byte
		for cur := sn.Cursor; ; {
			b, _ := st.Next(cur)
			if len(b) == 0 {
				break
			}
			stream = append(stream, b...)
			cur.Advance(len(b))
		}
		if int64(len(stream)) != st.Offset()-sn.Offset {
			t.Fatalf("stream after the snapshot: %d bytes, offsets say %d", len(stream), st.Offset()-sn.Offset)
		}
		rd := resp.NewRequestReader(bytes.NewReader(stream))
		db := -1
		for {
			args, err := rd.ReadCommand()
			if err != nil {
				break
			}
			switch string(args[0]) {
			case "SELECT":
				db, _ = strconv.Atoi(string(args[1]))
			case "APPEND":
				if db < 0 {
					t.Fatal("APPEND before any SELECT after the snapshot")
				}
				appendTo(rk, db, args[1], args[2])
			case "SWAPDB":
				rk.LockAll()
				rk.SwapDBs(0, 1)
				rk.UnlockAll()
			case "FLUSHDB":
				rk.LockAll()
				for s := 0; s < slot.Count; s++ {
					rk.FlushSlot(db, s)
				}
				rk.UnlockAll()
			case "MULTI", "EXEC", "PING":
			default:
				t.Fatalf("unexpected %q", args[0])
			}
		}
		got := dumpKS(rk)
		if len(got) != len(want) {
			t.Fatalf("round %d: replica has %d keys, master %d", round, len(got), len(want))
		}
		for k, v := range want {
			if got[k] != v {
				t.Fatalf("round %d: key %s: replica %q, master %q", round, k, got[k], v)
			}
		}
	}
}

func TestPartialResyncWindow(t *testing.T) {
	st := NewStream(100, func(int) bool { return false })
	if _, _, err := st.PartialResync("x", 1); err == nil {
		t.Fatal("partial resync without a backlog")
	}
	st.CreateBacklog()
	id, _, _ := st.IDs()
	for i := 0; i < 5000; i++ {
		st.Feed(0, []Op{{DB: 0, Argv: [][]byte{[]byte("SET"), []byte("k"), []byte(strconv.Itoa(i))}}})
	}
	b := st.BacklogInfo()
	if b.HistLen < 100 || b.FirstByte+b.HistLen-1 != st.Offset() {
		t.Fatalf("backlog %+v, offset %d", b, st.Offset())
	}
	if _, _, err := st.PartialResync(id, b.FirstByte-1); err == nil {
		t.Fatal("offset before the backlog accepted")
	}
	if _, _, err := st.PartialResync(id, st.Offset()+2); err == nil {
		t.Fatal("offset past the end accepted")
	}
	cur, _, err := st.PartialResync(id, st.Offset()+1)
	if err != nil || cur.Pos() != st.Offset()+1 {
		t.Fatal("offset at the end refused", err)
	}
	if _, _, err := st.PartialResync(id, b.FirstByte); err != nil {
		t.Fatal(err)
	}
	// After a promotion the old ID is valid up to the promotion offset.
	st.ShiftIDs()
	end := st.Offset()
	st.Feed(0, []Op{{DB: 0, Argv: [][]byte{[]byte("SET"), []byte("k"), []byte("v")}}})
	if _, _, err := st.PartialResync(id, end+1); err != nil {
		t.Fatal("old ID refused at the promotion offset:", err)
	}
	if _, _, err := st.PartialResync(id, end+2); err == nil {
		t.Fatal("old ID accepted past the promotion offset")
	}
}
