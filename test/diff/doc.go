// Package diff is the differential tester: it starts one real redis-server
// 7.0 and one reef-server, sends both the same seeded random command streams
// and requires byte-identical raw RESP replies.
//
// # Running
//
//	go test ./test/diff                        # bounded run, as in CI
//	REEF_DIFF_SEED=123 go test ./test/diff     # replay one seed
//	REEF_DIFF_OPS=200000 go test ./test/diff   # longer soak (per stream)
//	go test ./test/diff -run 'TestDiff/bits'   # one family only
//	REEF_DIFF_RESP3=1 go test ./test/diff      # every stream in RESP3
//	REEF_DIFF_HISTORY=300 ...                  # longer failure reports
//
// Half of the streams (chosen by the seed) switch both connections to RESP3
// before their first command, and the HELLO generator switches protocols
// mid-stream, so reply shapes are compared in both protocols.
//
// On a mismatch the test prints the seed, the family, the op index, the
// command, both raw replies and the commands that led there, so a failure is
// replayed exactly with REEF_DIFF_SEED. Streams are deterministic given the
// seed: all randomness comes from one *rand.Rand per stream.
//
// # What is compared
//
// Every reply is compared as raw bytes. Only replies that are random by
// nature are normalized, by the step that produces them: RANDOMKEY (null or
// not, and the key must exist), SCAN (whole iterations are compared as key
// sets, cursors ignored), PTTL (within a tolerance). Active expiry is turned
// off on both servers (DEBUG SET-ACTIVE-EXPIRE 0) so that which expired keys
// are still counted by DBSIZE depends only on the commands sent; short
// expiries are set with an absolute PEXPIREAT time shared by both servers,
// and the stream then waits for that instant, so both see the key expire at
// the same point of the stream.
//
// # Adding a generator
//
// A Family is a named list of weighted Generators (see gen.go). To cover a
// new data type, write a file gen_<type>.go with a function returning a
// Family, and add it to the families() list in gen.go:
//
//	func hashFamily() Family {
//		return Family{Name: "hash", Gens: []Generator{
//			{Name: "hset", Weight: 10, Cmd: func(g *G) []string {
//				return []string{"HSET", g.Key(), g.Bytes(3), g.Value()}
//			}},
//			{Name: "hgetall", Weight: 3, Cmd: func(g *G) []string {
//				return []string{"HGETALL", g.Key()}
//			}, Compare: sortedPairs}, // hash order is each server's own
//		}}
//	}
//
// The family then runs alone (TestDiff/hash) and mixed with every other
// family (TestDiff/mixed), so the new type meets WRONGTYPE against strings
// and the generic key commands (TYPE, RENAME, COPY, MOVE, OBJECT ENCODING,
// SCAN TYPE, DEBUG DIGEST-VALUE...) for free. Keep the key space shared
// (g.Key) so types collide, and keep sizes small: every op is a round trip
// to both servers, and CI runs each stream for a bounded number of ops.
//
// G gives the shared vocabulary: Key (a small key space, so commands collide),
// Value (edge numbers, floats, binary bytes), Int, Index, and helpers for
// wrong arities. A generator whose reply is random sets Compare (a custom
// equality on the two raw replies) or Run (a custom multi-command step that
// gets both connections).
package diff
