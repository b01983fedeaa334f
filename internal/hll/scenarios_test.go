package hll

import (
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"strconv"
)

// A scenario is a sequence of HLL commands run both against our functions
// and (when regenerating the golden file) against a real redis-server; the
// golden file records the resulting value's SHA-1, length, encoding and
// PFCOUNT.
type scenario struct {
	name string
	// sparseMax is hll-sparse-max-bytes for the scenario.
	sparseMax int
	cmds      [][]string
	// key whose final value and PFCOUNT are recorded.
	key string
}

func elems(prefix string, from, to int) []string {
	out := make([]string, 0, to-from)
	for i := from; i < to; i++ {
		out = append(out, prefix+strconv.Itoa(i))
	}
	return out
}

func cmd(name string, args ...[]string) []string {
	out := []string{name}
	for _, a := range args {
		out = append(out, a...)
	}
	return out
}

func one(s ...string) []string { return s }

func scenarios() []scenario {
	var out []scenario
	for _, n := range []int{1, 2, 3, 10, 50, 100, 200, 300, 500, 700, 1000, 2000, 3000, 5000, 20000, 100000} {
		out = append(out, scenario{
			name: fmt.Sprintf("add-%d", n), sparseMax: DefaultSparseMaxBytes, key: "h",
			cmds: [][]string{cmd("PFADD", one("h"), elems("el", 0, n))},
		})
	}
	// Adding one element per command gives the same bytes.
	var single [][]string
	for _, e := range elems("x", 0, 400) {
		single = append(single, one("PFADD", "s", e))
	}
	out = append(out, scenario{name: "one-by-one-400", sparseMax: DefaultSparseMaxBytes, key: "s", cmds: single})
	out = append(out,
		scenario{name: "sparse-max-200", sparseMax: 200, key: "h", cmds: [][]string{cmd("PFADD", one("h"), elems("el", 0, 100))}},
		scenario{name: "sparse-max-0", sparseMax: 0, key: "h", cmds: [][]string{cmd("PFADD", one("h"), elems("el", 0, 5))}},
		scenario{name: "merge-sparse-new", sparseMax: DefaultSparseMaxBytes, key: "c", cmds: [][]string{
			cmd("PFADD", one("a"), elems("el", 0, 100)), cmd("PFADD", one("b"), elems("el", 50, 200)),
			one("PFMERGE", "c", "a", "b")}},
		scenario{name: "merge-into-existing", sparseMax: DefaultSparseMaxBytes, key: "a", cmds: [][]string{
			cmd("PFADD", one("a"), elems("el", 0, 100)), cmd("PFADD", one("b"), elems("el", 50, 200)),
			one("PFCOUNT", "a"), one("PFMERGE", "a", "b", "missing")}},
		scenario{name: "merge-dense", sparseMax: DefaultSparseMaxBytes, key: "e", cmds: [][]string{
			cmd("PFADD", one("a"), elems("el", 0, 100)), cmd("PFADD", one("d"), elems("z", 0, 10000)),
			one("PFADD", "e", "solo"), one("PFMERGE", "e", "a", "d")}},
		scenario{name: "merge-promotes-by-size", sparseMax: 300, key: "c", cmds: [][]string{
			cmd("PFADD", one("a"), elems("el", 0, 150)), cmd("PFADD", one("b"), elems("q", 0, 150)),
			one("PFMERGE", "c", "a", "b")}},
		scenario{name: "todense", sparseMax: DefaultSparseMaxBytes, key: "h", cmds: [][]string{
			cmd("PFADD", one("h"), elems("el", 0, 30)), one("PFCOUNT", "h"), one("PFDEBUG", "TODENSE", "h"), one("PFADD", "h", "more")}},
	)
	return out
}

func sum(v []byte) string {
	h := sha1.Sum(v)
	return hex.EncodeToString(h[:])
}
