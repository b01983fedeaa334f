package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/reefkv/reef/internal/client"
	"github.com/reefkv/reef/internal/slot"
	"github.com/reefkv/reef/internal/testutil"
)

func do(t *testing.T, p *testutil.Proc, args ...string) string {
	t.Helper()
	c, err := client.Dial(p.Addr(), client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	v, err := c.Do(args...)
	if err != nil {
		t.Fatal(err)
	}
	if v.IsError() {
		t.Fatalf("%v on %s: %s", args, p.Addr(), v.Text())
	}
	return v.Text()
}

func myID(t *testing.T, p *testutil.Proc) string { return do(t, p, "CLUSTER", "MYID") }

// keyInSlot returns a key that hashes to slot s.
func keyInSlot(s int, n int) string { return testutil.KeysInSlot("fix:"+strconv.Itoa(n), s, 1)[0] }

// ownerOf returns the index in ps of the node owning slot s.
func ownerIndex(t *testing.T, ps []*testutil.Proc, s int) int {
	t.Helper()
	m := slotMap(t, ps)
	for i, r := range m {
		for _, f := range strings.Fields(r) {
			a, b := f, f
			if j := strings.IndexByte(f, '-'); j >= 0 {
				a, b = f[:j], f[j+1:]
			}
			x, _ := strconv.Atoi(a)
			y, _ := strconv.Atoi(b)
			if x <= s && s <= y {
				return i
			}
		}
	}
	return -1
}

// TestFix opens slots the ways an interrupted migration leaves them and
// checks that `check` reports them exactly as redis-cli does (exit 1) and
// that `fix` repairs them with every key kept: migrating + importing with
// keys on both sides (which redis-cli's algorithm takes as case 2),
// migrating only without keys (case 4), then case 1 (keys on the source
// only), case 2 (importing only on a non-owner), case 3 (a second
// importer), and an uncovered slot.
func TestFix(t *testing.T) {
	t.Parallel()
	testFix(t, startNodes(t, 3))
}

// TestFixReef repairs the same damage in a cluster of reef-servers.
func TestFixReef(t *testing.T) {
	t.Parallel()
	testFix(t, startReefNodes(t, 3))
}

func testFix(t *testing.T, ps []*testutil.Proc) {
	create(t, redisCLI(t), ps, 0)
	writeKeys(t, ps[0].Addr(), 300, "k")
	seed := ps[0].Addr()

	// Slot 100 (node 0) migrating to node 1, importing there, with two of
	// its keys already moved: keys on both sides, which fix handles as its
	// case 2 (checked below).
	s1 := 100
	src, dst := ps[ownerIndex(t, ps, s1)], ps[1]
	keys := []string{keyInSlot(s1, 1), keyInSlot(s1, 2), keyInSlot(s1, 3)}
	for _, k := range keys {
		do(t, src, "SET", k, "v:"+k)
	}
	do(t, dst, "CLUSTER", "SETSLOT", itoa(s1), "IMPORTING", myID(t, src))
	do(t, src, "CLUSTER", "SETSLOT", itoa(s1), "MIGRATING", myID(t, dst))
	do(t, src, "MIGRATE", "127.0.0.1", itoa(dst.Port), "", "0", "5000", "KEYS", keys[0], keys[1])

	// Case 4: slot 12000 migrating on its owner, no importer, no keys.
	s4 := 12000
	o4 := ps[ownerIndex(t, ps, s4)]
	do(t, o4, "CLUSTER", "SETSLOT", itoa(s4), "MIGRATING", myID(t, ps[0]))

	ra := runCLI(t, redisCLI(t), "", "--cluster", "check", seed)
	rb := runCLI(t, reefCLI(t), "", "--cluster", "check", seed)
	if ra.code != 1 || rb.code != 1 || openSlotsSorted(ra.out) != openSlotsSorted(rb.out) {
		t.Fatalf("check of open slots differs (exit %d vs %d):\n%s", ra.code, rb.code, diffText(ra.out, rb.out))
	}
	r := runCLI(t, reefCLI(t), "", "--cluster", "fix", seed)
	if r.code != 0 {
		t.Fatalf("fix failed (%d):\n%s%s", r.code, r.out, r.err)
	}
	// With keys on both sides the target also counts as an owner, so
	// redis-cli's algorithm picks the node with most keys and takes case 2.
	for _, want := range []string{">>> Case 2: Moving all the 100 slot keys to its owner", ">>> Case 4: Closing slot 12000 on"} {
		if !strings.Contains(r.out, want) {
			t.Errorf("fix output lacks %q:\n%s", want, r.out)
		}
	}
	waitOK(t, ps)
	mustCheck(t, seed)
	for _, k := range keys {
		if v := getKey(t, seed, k); v != "v:"+k {
			t.Errorf("key %s after fix: %q", k, v)
		}
	}

	// Case 1: migrating on the owner, importing on the target, keys on the
	// source only.
	s3 := 200
	src3 := ps[ownerIndex(t, ps, s3)]
	dst3 := ps[(ownerIndex(t, ps, s3)+2)%3]
	k3 := keyInSlot(s3, 5)
	do(t, src3, "SET", k3, "v:"+k3)
	do(t, dst3, "CLUSTER", "SETSLOT", itoa(s3), "IMPORTING", myID(t, src3))
	do(t, src3, "CLUSTER", "SETSLOT", itoa(s3), "MIGRATING", myID(t, dst3))
	fixAndCheck(t, ps, seed, ">>> Case 1: Moving slot 200 from "+src3.Addr()+" to "+dst3.Addr())
	if ownerIndex(t, ps, s3) != indexOf(ps, dst3) {
		t.Errorf("slot %d not moved to %s", s3, dst3.Addr())
	}
	if v := getKey(t, seed, k3); v != "v:"+k3 {
		t.Errorf("case 1 key: %q", v)
	}

	// Case 2: a non-owner marked importing with a key of the slot.
	s2 := 9000
	o2 := ownerIndex(t, ps, s2)
	other := ps[(o2+1)%3]
	k2 := keyInSlot(s2, 4)
	do(t, other, "CLUSTER", "SETSLOT", itoa(s2), "IMPORTING", myID(t, ps[o2]))
	c, _ := client.Dial(other.Addr(), client.Options{})
	c.Pipeline([][]string{{"ASKING"}, {"SET", k2, "v:" + k2}})
	c.Close()
	fixAndCheck(t, ps, seed, ">>> Case 2: Moving all the 9000 slot keys to its owner")
	if v := getKey(t, seed, k2); v != "v:"+k2 {
		t.Errorf("case 2 key on owner: %q", v)
	}

	// Case 3: migrating on its owner, importing on both other nodes, one
	// of which is the migration's target: the slot moves there and the
	// other importer is closed.
	s6 := 300
	o6 := ownerIndex(t, ps, s6)
	src6, dst6, third := ps[o6], ps[(o6+1)%3], ps[(o6+2)%3]
	k6 := keyInSlot(s6, 6)
	do(t, src6, "SET", k6, "v:"+k6)
	do(t, dst6, "CLUSTER", "SETSLOT", itoa(s6), "IMPORTING", myID(t, src6))
	do(t, third, "CLUSTER", "SETSLOT", itoa(s6), "IMPORTING", myID(t, src6))
	do(t, src6, "CLUSTER", "SETSLOT", itoa(s6), "MIGRATING", myID(t, dst6))
	fixAndCheck(t, ps, seed, ">>> Case 3: Moving slot 300 from "+src6.Addr()+" to "+dst6.Addr()+" and closing it on all the other importing nodes.")
	if ownerIndex(t, ps, s6) != indexOf(ps, dst6) {
		t.Errorf("slot %d not moved to %s", s6, dst6.Addr())
	}
	if v := getKey(t, seed, k6); v != "v:"+k6 {
		t.Errorf("case 3 key: %q", v)
	}

	// Coverage: slot 5000 unassigned everywhere, no keys; the prompt needs
	// a typed yes even with --cluster-yes.
	s5 := 5000
	o5 := ps[ownerIndex(t, ps, s5)]
	c5, _ := client.Dial(o5.Addr(), client.Options{})
	v, _ := c5.Do("CLUSTER", "GETKEYSINSLOT", itoa(s5), "100")
	for _, k := range v.Elems {
		c5.Do("DEL", k.Text())
	}
	c5.Close()
	for _, p := range ps {
		do(t, p, "CLUSTER", "DELSLOTS", itoa(s5))
	}
	ra = runCLI(t, redisCLI(t), "", "--cluster", "check", seed)
	rb = runCLI(t, reefCLI(t), "", "--cluster", "check", seed)
	if ra.code != 1 || rb.code != 1 || ra.out != rb.out {
		t.Fatalf("check of uncovered slot differs (exit %d vs %d):\n%s", ra.code, rb.code, diffText(ra.out, rb.out))
	}
	r = runCLI(t, reefCLI(t), "yes\n", "--cluster", "fix", seed, "--cluster-yes")
	if r.code != 0 || !strings.Contains(r.out, "Fix these slots by covering with a random node? (type 'yes' to accept): >>> Covering slot 5000 with") {
		t.Fatalf("coverage fix (%d):\n%s%s", r.code, r.out, r.err)
	}
	waitOK(t, ps)
	mustCheck(t, seed)
	// Keys deleted above were in slot 5000 only; the rest must be there.
	var keep []int
	for i := 0; i < 300; i++ {
		if slot.OfString("k:"+itoa(i)) != s5 {
			keep = append(keep, i)
		}
	}
	cl, err := client.NewCluster([]string{seed}, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	for _, i := range keep {
		k := "k:" + itoa(i)
		if v, _ := cl.Do("GET", k); v.Text() != "v:"+k {
			t.Fatalf("key %s lost: %q", k, v.Text())
		}
	}
}

// TestImportAndBackup imports a standalone server's keys into a cluster and
// backs the cluster up.
func TestImportAndBackup(t *testing.T) {
	t.Parallel()
	ps := startNodes(t, 3)
	create(t, redisCLI(t), ps, 0)
	src := testutil.StartRedis(t)
	sc, _ := client.Dial(src.Addr(), client.Options{})
	for i := 0; i < 200; i++ {
		sc.Send("SET", "k:"+itoa(i), "v:k:"+itoa(i))
	}
	for sc.Pending() > 0 {
		sc.Receive()
	}
	r := runCLI(t, reefCLI(t), "", "--cluster", "import", ps[0].Addr(), "--cluster-from", src.Addr(), "--cluster-copy")
	if r.code != 0 || !strings.Contains(r.out, "*** Importing 200 keys from DB 0") || strings.Count(r.out, ": OK") != 200 {
		t.Fatalf("import (%d):\n%s%s", r.code, r.out, r.err)
	}
	checkKeys(t, ps[0].Addr(), 200, "k")
	if v, _ := sc.Do("DBSIZE"); v.Int != 200 {
		t.Errorf("--cluster-copy removed keys from the source: %d left", v.Int)
	}
	sc.Close()
	// The source must not be a cluster node.
	r = runCLI(t, reefCLI(t), "", "--cluster", "import", ps[0].Addr(), "--cluster-from", ps[1].Addr())
	if r.code != 1 || !strings.Contains(r.out, "[ERR] The source node should not be a cluster node.") {
		t.Errorf("import from a cluster node (%d):\n%s", r.code, r.out)
	}

	dir := t.TempDir()
	r = runCLI(t, reefCLI(t), "", "--cluster", "backup", ps[0].Addr(), dir)
	if r.code != 0 || !strings.Contains(r.out, "[OK] Backup created into: "+dir) {
		t.Fatalf("backup (%d):\n%s%s", r.code, r.out, r.err)
	}
	var nodes []map[string]any
	b, err := os.ReadFile(filepath.Join(dir, "nodes.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &nodes); err != nil || len(nodes) != 3 {
		t.Fatalf("nodes.json: %v %s", err, b)
	}
	// redis-cli's backup of the same cluster prints the same lines and
	// writes the same nodes.json, byte for byte.
	dirA := t.TempDir()
	ra := runCLI(t, redisCLI(t), "", "--cluster", "backup", ps[0].Addr(), dirA)
	if strings.ReplaceAll(ra.out, dirA, "DIR") != strings.ReplaceAll(r.out, dir, "DIR") {
		t.Errorf("backup output differs:\n%s", diffText(strings.ReplaceAll(ra.out, dirA, "DIR"), strings.ReplaceAll(r.out, dir, "DIR")))
	}
	if ja, _ := os.ReadFile(filepath.Join(dirA, "nodes.json")); string(ja) != string(b) {
		t.Errorf("nodes.json differs:\nredis-cli:\n%s\nreef-cli:\n%s", ja, b)
	}
	rdbs, _ := filepath.Glob(filepath.Join(dir, "redis-node-*.rdb"))
	if len(rdbs) != 3 {
		t.Fatalf("want 3 RDB files, got %v", rdbs)
	}
	for _, f := range rdbs {
		b, _ := os.ReadFile(f)
		if !strings.HasPrefix(string(b), "REDIS0010") {
			t.Errorf("%s is not an RDB v10 file", f)
		}
	}
}

var openRe = regexp.MustCompile(`The following slots are open: ([0-9,]+)\.`)

// openSlotsSorted sorts the list of "The following slots are open:", which
// redis-cli prints in its hash table's order (reef-cli prints it ascending).
func openSlotsSorted(s string) string {
	return openRe.ReplaceAllStringFunc(s, func(m string) string {
		l := strings.Split(openRe.FindStringSubmatch(m)[1], ",")
		sort.Slice(l, func(i, j int) bool { a, _ := strconv.Atoi(l[i]); b, _ := strconv.Atoi(l[j]); return a < b })
		return "The following slots are open: " + strings.Join(l, ",") + "."
	})
}

func indexOf(ps []*testutil.Proc, p *testutil.Proc) int {
	for i, q := range ps {
		if q == p {
			return i
		}
	}
	return -1
}

// getKey reads a key through the cluster client.
func getKey(t *testing.T, seed, k string) string {
	t.Helper()
	cl, err := client.NewCluster([]string{seed}, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	v, err := cl.Do("GET", k)
	if err != nil {
		t.Fatal(err)
	}
	return v.Text()
}

// TestFixWithUnreachableMaster kills a master without replicas: fix refuses
// (exactly as redis-cli does) unless --cluster-fix-with-unreachable-masters
// is given, and then covers the lost slots with the reachable masters.
func TestFixWithUnreachableMaster(t *testing.T) {
	t.Parallel()
	ps := startNodes(t, 3)
	create(t, redisCLI(t), ps, 0)
	ps[2].Kill()
	testutil.WaitFor(t, 30*time.Second, "the dead master to be flagged fail", func() bool {
		return strings.Contains(do(t, ps[0], "CLUSTER", "NODES"), "master,fail")
	})
	seed := ps[0].Addr()
	ra := runCLI(t, redisCLI(t), "", "--cluster", "fix", seed)
	rb := runCLI(t, reefCLI(t), "", "--cluster", "fix", seed)
	if ra != rb || rb.code != 1 || !strings.Contains(rb.out, "*** Fixing slots coverage with 1 unreachable masters is dangerous") {
		t.Fatalf("fix with an unreachable master:\nredis-cli: %q %q %d\nreef-cli:  %q %q %d", ra.out, ra.err, ra.code, rb.out, rb.err, rb.code)
	}
	r := runCLI(t, reefCLI(t), "yes\n", "--cluster", "fix", seed, "--cluster-fix-with-unreachable-masters")
	if r.code != 0 || !strings.Contains(r.out, "The following uncovered slots have no keys across the cluster:\n[10923-16383]") {
		t.Fatalf("forced fix (%d):\n%s%s", r.code, r.out, r.err)
	}
	waitOK(t, ps[:2])
	mustCheck(t, seed)
}

// fixAndCheck runs reef-cli --cluster fix through seed and requires it to
// succeed with want in its output, and the cluster to check clean after.
func fixAndCheck(t *testing.T, ps []*testutil.Proc, seed, want string) {
	t.Helper()
	r := runCLI(t, reefCLI(t), "", "--cluster", "fix", seed)
	if r.code != 0 || !strings.Contains(r.out, want) {
		t.Fatalf("fix (%d), want %q:\n%s%s", r.code, want, r.out, r.err)
	}
	waitOK(t, ps)
	mustCheck(t, seed)
}
