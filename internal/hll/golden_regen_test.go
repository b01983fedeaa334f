package hll

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/reefkv/reef/internal/testutil"
)

// TestRegenerateGolden runs every scenario against a real redis-server and
// rewrites testdata/rdb/hll-golden.txt. It runs only with
// REEF_REGEN_HLL_GOLDEN=1.
func TestRegenerateGolden(t *testing.T) {
	if os.Getenv("REEF_REGEN_HLL_GOLDEN") != "1" {
		t.Skip("set REEF_REGEN_HLL_GOLDEN=1 to regenerate from redis-server")
	}
	p := testutil.StartRedis(t)
	c := testutil.MustDial(t, p.Addr())
	do := func(args ...string) string {
		v, err := c.Do(args...)
		if err != nil || v.IsError() {
			t.Fatalf("%v: %v %v", args[:2], v.Text(), err)
		}
		return v.Text()
	}
	var sb strings.Builder
	sb.WriteString("# name sha1(value) len encoding PFCOUNT, from redis-server " +
		strings.Split(strings.SplitAfter(do("INFO", "server"), "redis_version:")[1], "\r")[0] + "; see TestGolden.\n")
	for _, s := range scenarios() {
		do("FLUSHALL")
		do("CONFIG", "SET", "hll-sparse-max-bytes", strconv.Itoa(s.sparseMax))
		for _, cmd := range s.cmds {
			do(cmd...)
		}
		v := []byte(do("GET", s.key))
		enc := do("PFDEBUG", "ENCODING", s.key)
		// PFCOUNT of a copy, so the recorded bytes stay as the commands
		// left them.
		do("COPY", s.key, "countcopy")
		fmt.Fprintf(&sb, "%s %s %d %s %s\n", s.name, sum(v), len(v), enc, do("PFCOUNT", "countcopy"))
	}
	if err := os.WriteFile(goldenPath(), []byte(sb.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}
