package lzf

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/reefkv/reef/internal/encoding/crc64"
	"github.com/reefkv/reef/internal/testutil"
)

// TestRegenerateGolden rewrites testdata/rdb/lzf-golden.txt from a real
// redis-server. It runs only with REEF_REGEN_LZF_GOLDEN=1 because the file
// is an input to TestRedisGolden, not something to refresh casually.
func TestRegenerateGolden(t *testing.T) {
	if os.Getenv("REEF_REGEN_LZF_GOLDEN") != "1" {
		t.Skip("set REEF_REGEN_LZF_GOLDEN=1 to regenerate from redis-server")
	}
	p := testutil.StartRedis(t)
	c := testutil.MustDial(t, p.Addr())
	ver, err := c.Do("INFO", "server")
	if err != nil {
		t.Fatal(err)
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "# DUMP encodings captured from redis-server (%s); see TestRedisGolden.\n",
		strings.TrimSpace(strings.Split(strings.SplitAfter(ver.Text(), "redis_version:")[1], "\n")[0]))
	for seed := uint64(0); seed < 600; seed++ {
		n := 21 + int(seed*seed*7919%6000)
		if seed%10 == 0 {
			n = 21 + int(seed%40)
		}
		alph := 1 + int(seed*31%90)
		in := gen(seed, n, alph)
		if v, err := c.Do("SET", "k", string(in)); err != nil || v.IsError() {
			t.Fatalf("SET: %v %v", v, err)
		}
		v, err := c.Do("DUMP", "k")
		if err != nil {
			t.Fatal(err)
		}
		d := v.Str
		res := "-"
		if d[1] == 0xc3 {
			clen, w := rdbLen(d[2:])
			_, w2 := rdbLen(d[2+w:])
			blob := d[2+w+w2 : 2+w+w2+clen]
			res = strconv.Itoa(len(blob)) + ":" + strconv.FormatUint(crc64.Checksum(blob), 16)
		}
		fmt.Fprintf(&sb, "%d %d %d %s\n", seed, n, alph, res)
	}
	if err := os.WriteFile(goldenPath(), []byte(sb.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// rdbLen decodes an RDB length (the forms below 2^32 are enough here).
func rdbLen(b []byte) (int, int) {
	switch b[0] >> 6 {
	case 0:
		return int(b[0] & 0x3f), 1
	case 1:
		return int(b[0]&0x3f)<<8 | int(b[1]), 2
	default:
		return int(b[1])<<24 | int(b[2])<<16 | int(b[3])<<8 | int(b[4]), 5
	}
}
