package cli

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/reefkv/reef/internal/testutil"
)

// TestCreateMultiHost creates clusters whose nodes live on three loopback
// addresses (127.0.0.1-3), where redis-cli's interleaving and replica
// placement are deterministic: the whole printed plan, anti-affinity
// verdict included, must match redis-cli's line for line.
func TestCreateMultiHost(t *testing.T) {
	t.Parallel()
	start := func() ([]*testutil.Proc, []string) {
		var ps []*testutil.Proc
		var addrs []string
		// Hosts in the order .1 .1 .2 .2 .3 .3, given to create in that order.
		for i := 0; i < 6; i++ {
			host := "127.0.0." + strconv.Itoa(i/2+1)
			args := append([]string{}, nodeArgs...)
			if host != "127.0.0.1" {
				// Listening on the host address first makes it the source
				// of the node's bus connections, so peers see that address.
				args = append(args, "--bind", host, "127.0.0.1")
			}
			p := testutil.StartRedis(t, args...)
			ps = append(ps, p)
			addrs = append(addrs, host+":"+strconv.Itoa(p.Port))
		}
		return ps, addrs
	}
	psA, addrsA := start()
	psB, addrsB := start()
	ra := runCLI(t, redisCLI(t), "", append(append([]string{"--cluster", "create"}, addrsA...), "--cluster-replicas", "1", "--cluster-yes")...)
	rb := runCLI(t, reefCLI(t), "", append(append([]string{"--cluster", "create"}, addrsB...), "--cluster-replicas", "1", "--cluster-yes")...)
	cut := func(s string, ps []*testutil.Proc) string {
		s = normalize(s, ps)
		if i := strings.Index(s, ">>> Nodes configuration updated"); i >= 0 {
			s = s[:i]
		}
		return s
	}
	pa, pb := cut(ra.out, psA), cut(rb.out, psB)
	if ra.code != 0 || rb.code != 0 || pa != pb {
		t.Fatalf("multi-host create differs (exit %d %d):\n%s\nredis-cli:\n%s\nreef-cli:\n%s%s", ra.code, rb.code, diffText(pa, pb), ra.out, rb.out, rb.err)
	}
	if !strings.Contains(pb, "Adding replica 127.0.0.") {
		t.Fatalf("no replica placement in:\n%s", pb)
	}
	// The plan puts no replica on its master's host (the nodes themselves
	// all see each other on 127.0.0.1, so the plan is what is checked).
	for _, l := range strings.Split(pb, "\n") {
		var a, b string
		if _, err := fmt.Sscanf(l, "Adding replica %s to %s", &a, &b); err == nil {
			if a[:strings.LastIndexByte(a, ':')] == b[:strings.LastIndexByte(b, ':')] {
				t.Errorf("replica on its master's host: %s", l)
			}
		}
	}
	if !strings.Contains(pb, "[OK] Perfect anti-affinity obtained!") && strings.Contains(pb, "anti-affinity") {
		t.Errorf("anti-affinity not perfect:\n%s", pb)
	}
	waitOK(t, psB)
	mustCheck(t, psB[0].Addr())
}
