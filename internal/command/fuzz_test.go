package command

import (
	"bytes"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/reefkv/reef/internal/config"
	"github.com/reefkv/reef/internal/keyspace"
	"github.com/reefkv/reef/internal/resp"
)

// fuzzEnv is a do-nothing Env. Embedding the interface keeps this file
// compiling when Env grows; a method not listed here panics if a handler
// under fuzzing calls it, which the fuzzer then reports.
type fuzzEnv struct{ Env }

func (fuzzEnv) KeyModified(int, []byte)                 {}
func (fuzzEnv) KeyReady(int, []byte)                    {}
func (fuzzEnv) Notify(NotifyClass, string, int, []byte) {}
func (fuzzEnv) KeyExpired(int, []byte)                  {}
func (fuzzEnv) IsReplica() bool                         { return false }
func (fuzzEnv) LRUClock() uint32                        { return 1000 }
func (fuzzEnv) DBFlushed(int)                           {}
func (fuzzEnv) DBSwapped(int, int)                      {}
func (fuzzEnv) Propagate(*Ctx, int)                     {}

// FuzzStringAndKeyCommands runs sequences of string, bit and generic key
// commands (one per line, arguments separated by spaces, "\xff" standing for
// an empty argument) against a keyspace, as the server would after its
// arity check. No handler may panic, and every command must append exactly
// one well-formed reply.
func FuzzStringAndKeyCommands(f *testing.F) {
	for _, seed := range []string{
		"SET k foobar\nSETBIT k 7 1\nGETBIT k 7\nBITCOUNT k 1 -2 BIT\nBITPOS k 0 2 -1 BIT",
		"BITFIELD k SET i8 #0 100 INCRBY u4 3 5 OVERFLOW SAT INCRBY i64 0 9223372036854775807 GET u63 1",
		"BITFIELD_RO k GET i64 7\nBITOP NOT d k\nBITOP XOR d k d x",
		"SET a ohmytext\nSET b mynewtext\nLCS a b IDX MINMATCHLEN 1 WITHMATCHLEN\nLCS a b LEN",
		"SETRANGE k 5 abc\nGETRANGE k -1 5\nAPPEND k zz\nSTRLEN k\nSUBSTR k 0 -1",
		"SET n 10\nINCRBYFLOAT n 1e308\nINCRBY n 9223372036854775807\nDECRBY n -9223372036854775808",
		"SET k v EX 100 GET\nGETEX k PX 5\nGETEX k PERSIST\nSETEX k 10 v\nPSETEX k 1 v\nGETDEL k",
		"MSET a 1 b 2\nMSETNX a 1 c 3\nMGET a b c\nCOPY a c DB 1 REPLACE\nMOVE a 2\nSWAPDB 0 1",
		"RENAME a b\nRENAMENX b a\nEXPIRE b 100 NX\nPEXPIREAT b 1 GT\nTTL b\nPERSIST b\nTOUCH a b",
		"SET k 5\nCOPY k k2\nOBJECT ENCODING k2\nOBJECT REFCOUNT k2\nOBJECT IDLETIME k\nOBJECT FREQ k",
		"KEYS *\nSCAN 0 MATCH k* COUNT 2 TYPE string\nRANDOMKEY\nDBSIZE\nFLUSHDB\nFLUSHALL ASYNC",
		"SET \xff \xff\nGET \xff\nSETBIT k 4294967295 1\nSETRANGE k 536870911 x",
	} {
		f.Add([]byte(seed))
	}
	table := NewTable(DataFamilies()...)
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg := config.Default()
		// Keep values small: offsets up to proto-max-bulk-len are legal
		// and would make each run allocate that much.
		cfg.ProtoMaxBulkLen = 4096
		ks := keyspace.New(4)
		ks.InitSharedLRU(1000)
		c := &Ctx{KS: ks, Cfg: cfg, Env: fuzzEnv{}, Proto: resp.RESP2, Now: 1700000000000,
			Rand: rand.New(rand.NewPCG(1, 2))}
		for n, line := range bytes.Split(data, []byte("\n")) {
			if n >= 64 {
				break
			}
			var args [][]byte
			for _, a := range bytes.Split(line, []byte(" ")) {
				if len(a) == 0 {
					continue
				}
				if string(a) == "\xff" {
					a = nil
				}
				args = append(args, a)
			}
			if len(args) == 0 {
				continue
			}
			spec := table.Lookup(args[0])
			if spec != nil && spec.Subs != nil && len(args) >= 2 {
				spec = spec.LookupSub(args[1])
			}
			if spec == nil || spec.Handler == nil || (spec.Arity > 0 && spec.Arity != len(args)) || len(args) < -spec.Arity {
				continue
			}
			if strings.HasPrefix(spec.Name, "debug") || spec.Name == "flushall" && len(args) > 5 {
				continue
			}
			c.Reset()
			c.Args = args
			c.Spec = spec
			c.Out = c.Out[:0]
			c.Proto = resp.RESP2 + n%2 // both protocols
			spec.Handler(c)
			rd := resp.NewReplyReader(bytes.NewReader(c.Out))
			if _, err := rd.ReadReply(); err != nil {
				t.Fatalf("%q: malformed reply %q: %v", line, c.Out, err)
			}
			if _, err := rd.ReadReply(); err == nil {
				t.Fatalf("%q: more than one reply in %q", line, c.Out)
			}
		}
	})
}
