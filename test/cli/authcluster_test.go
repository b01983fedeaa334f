package cli

import (
	"strings"
	"testing"

	"github.com/reefkv/reef/internal/client"
)

// TestClusterWithPassword manages a cluster whose nodes require a
// password: every manager connection authenticates and MIGRATE carries
// AUTH, so create, reshard, rebalance and check all work with -a.
func TestClusterWithPassword(t *testing.T) {
	t.Parallel()
	ps := startNodes(t, 4, "--requirepass", "pw", "--masterauth", "pw")
	var addrs []string
	for _, p := range ps[:3] {
		addrs = append(addrs, p.Addr())
	}
	auth := []string{"-a", "pw", "--no-auth-warning"}
	r := runCLI(t, reefCLI(t), "", append(append(append([]string{}, auth...), "--cluster", "create"), append(addrs, "--cluster-yes")...)...)
	if r.code != 0 {
		t.Fatalf("create (%d):\n%s%s", r.code, r.out, r.err)
	}
	cl, err := client.NewCluster([]string{addrs[0]}, client.Options{Password: "pw"})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	for i := 0; i < 300; i++ {
		k := "k:" + itoa(i)
		if v, err := cl.Do("SET", k, "v:"+k); err != nil || v.IsError() {
			t.Fatalf("SET: %v %s", err, v.Text())
		}
	}
	for _, args := range [][]string{
		{"--cluster", "add-node", ps[3].Addr(), addrs[0]},
		{"--cluster", "rebalance", addrs[0], "--cluster-use-empty-masters"},
		{"--cluster", "check", addrs[1]},
	} {
		r := runCLI(t, reefCLI(t), "", append(append([]string{}, auth...), args...)...)
		if r.code != 0 {
			t.Fatalf("%v (%d):\n%s%s", args, r.code, r.out, r.err)
		}
	}
	r = runCLI(t, redisCLI(t), "", "-a", "pw", "--no-auth-warning", "--cluster", "check", addrs[0])
	if r.code != 0 || !strings.Contains(r.out, "[OK] All 16384 slots covered.") {
		t.Fatalf("redis-cli check (%d):\n%s", r.code, r.out)
	}
	for i := 0; i < 300; i++ {
		k := "k:" + itoa(i)
		if v, err := cl.Do("GET", k); err != nil || v.Text() != "v:"+k {
			t.Fatalf("GET %s: %v %q", k, err, v.Text())
		}
	}
	// Without the password the manager reports the node's refusal.
	r = runCLI(t, reefCLI(t), "", "--cluster", "check", addrs[0])
	if r.code != 1 {
		t.Errorf("check without password exited %d:\n%s%s", r.code, r.out, r.err)
	}
}
