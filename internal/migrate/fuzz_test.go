package migrate_test

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/reefkv/reef/internal/command"
	"github.com/reefkv/reef/internal/config"
	"github.com/reefkv/reef/internal/digest"
	"github.com/reefkv/reef/internal/encoding/crc64"
	"github.com/reefkv/reef/internal/keyspace"
	"github.com/reefkv/reef/internal/migrate"
	"github.com/reefkv/reef/internal/rdb"
	"github.com/reefkv/reef/internal/repl"
	"github.com/reefkv/reef/internal/resp"
	"github.com/reefkv/reef/internal/slot"
)

// fuzzEnv is a do-nothing command.Env.
type fuzzEnv struct{ command.Env }

func (fuzzEnv) KeyModified(int, []byte)                         {}
func (fuzzEnv) KeyReady(int, []byte)                            {}
func (fuzzEnv) Notify(command.NotifyClass, string, int, []byte) {}
func (fuzzEnv) KeyExpired(int, []byte)                          {}
func (fuzzEnv) IsReplica() bool                                 { return false }
func (fuzzEnv) LRUClock() uint32                                { return 1000 }
func (fuzzEnv) DBFlushed(int)                                   {}
func (fuzzEnv) DBSwapped(int, int)                              {}
func (fuzzEnv) Propagate(*command.Ctx, int)                     {}

// seedPayloads are DUMP payloads of every type and encoding.
func seedPayloads(t testing.TB) [][]byte {
	var objs []*rdb.Object
	objs = append(objs, &rdb.Object{Type: rdb.TypeString, Str: []byte("hello")},
		&rdb.Object{Type: rdb.TypeString, Str: []byte("12345")},
		&rdb.Object{Type: rdb.TypeString, Str: bytes.Repeat([]byte("ab"), 100)},
		&rdb.Object{Type: rdb.TypeList, List: [][]byte{[]byte("a"), []byte("1"), []byte("-70000")}},
		&rdb.Object{Type: rdb.TypeSet, Set: [][]byte{[]byte("1"), []byte("2"), []byte("300")}},
		&rdb.Object{Type: rdb.TypeSet, Set: [][]byte{[]byte("x"), []byte("y")}},
		&rdb.Object{Type: rdb.TypeHash, Hash: []rdb.Field{{Name: []byte("f"), Value: []byte("v")}, {Name: []byte("n"), Value: []byte("12")}}},
		&rdb.Object{Type: rdb.TypeZSet, ZSet: []rdb.ZMember{{Member: []byte("a"), Score: 1.5}, {Member: []byte("b"), Score: -3}}})
	big := &rdb.Object{Type: rdb.TypeHash}
	for i := 0; i < 600; i++ {
		big.Hash = append(big.Hash, rdb.Field{Name: []byte("f" + strconv.Itoa(i)), Value: []byte("v")})
	}
	zbig := &rdb.Object{Type: rdb.TypeZSet}
	for i := 0; i < 200; i++ {
		zbig.ZSet = append(zbig.ZSet, rdb.ZMember{Member: []byte("m" + strconv.Itoa(i)), Score: float64(i)})
	}
	objs = append(objs, big, zbig)
	var out [][]byte
	for _, o := range objs {
		p, err := rdb.EncodeDump(o, nil)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, p)
	}
	return out
}

// FuzzRestore feeds payloads to the RESTORE command. A payload is either
// refused with one of Redis's two texts or stored as a value that dumps,
// decodes and digests again, with a stable payload. When fix is set the
// fuzzer's bytes get a correct version and CRC footer, so that the value
// decoders (not just the checksum) are exercised.
func FuzzRestore(f *testing.F) {
	for _, p := range seedPayloads(f) {
		f.Add(p, false)
		f.Add(p[:len(p)-10], true)
	}
	table := command.NewTable(command.DumpCommands(migrate.Codec{}), command.Family{Commands: map[string]command.Handler{}})
	restore := table.Lookup([]byte("restore"))
	dump := table.Lookup([]byte("dump"))
	f.Fuzz(func(t *testing.T, payload []byte, fix bool) {
		if fix {
			payload = binary.LittleEndian.AppendUint16(append([]byte(nil), payload...), rdb.Version)
			payload = binary.LittleEndian.AppendUint64(payload, crc64.Checksum(payload))
		}
		cfg := config.Default()
		ks := keyspace.New(1)
		c := &command.Ctx{KS: ks, Cfg: cfg, Env: fuzzEnv{}, Proto: resp.RESP2, Now: 1700000000000,
			Rand: rand.New(rand.NewPCG(1, 2))}
		key := []byte("k")
		s := slot.Of(key)
		ks.Lock(s)
		defer ks.Unlock(s)
		c.Args = [][]byte{[]byte("RESTORE"), key, []byte("0"), payload}
		c.Spec = restore
		restore.Handler(c)
		reply := string(c.Out)
		switch reply {
		case "+OK\r\n":
		case "-ERR DUMP payload version or checksum are wrong\r\n", "-ERR Bad data format\r\n":
			if ks.Get(0, s, key) != nil {
				t.Fatalf("refused payload %q left a key", payload)
			}
			return
		default:
			t.Fatalf("unexpected reply %q", reply)
		}
		v := ks.Get(0, s, key)
		if v == nil {
			t.Fatal("RESTORE said OK without a key")
		}
		var o rdb.Object
		if !repl.ValueToObject(*v, &o) {
			t.Fatal("restored value cannot be converted back")
		}
		d1 := digest.Value(&o, false)
		c.Out, c.Args, c.Spec = c.Out[:0], [][]byte{[]byte("DUMP"), key}, dump
		dump.Handler(c)
		r := resp.NewReplyReader(bytes.NewReader(c.Out))
		dv, err := r.ReadReply()
		if err != nil || dv.IsError() {
			t.Fatalf("DUMP of a restored value: %v %q", err, c.Out)
		}
		o2, err := rdb.DecodeDump(dv.Str, nil)
		if err != nil {
			t.Fatalf("DUMP of a restored value does not decode: %v", err)
		}
		if d2 := digest.Value(o2, false); d1 != d2 {
			t.Fatalf("digest changed across DUMP: %s %s", d1, d2)
		}
		// Restoring the dump again gives the same payload.
		c.Out = c.Out[:0]
		c.Args, c.Spec = [][]byte{[]byte("RESTORE"), key, []byte("0"), dv.Str, []byte("REPLACE")}, restore
		restore.Handler(c)
		if string(c.Out) != "+OK\r\n" {
			t.Fatalf("re-RESTORE: %q", c.Out)
		}
		c.Out, c.Args, c.Spec = c.Out[:0], [][]byte{[]byte("DUMP"), key}, dump
		dump.Handler(c)
		dv2, _ := resp.NewReplyReader(bytes.NewReader(c.Out)).ReadReply()
		if !bytes.Equal(dv.Str, dv2.Str) && o2.Type != rdb.TypeSet && o2.Type != rdb.TypeHash {
			t.Fatalf("payload not stable across RESTORE/DUMP:\n%q\n%q", dv.Str, dv2.Str)
		}
	})
}
