package cluster

import (
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
	"time"
)

// TestRandomRoutingLikeRedis sends the same seeded random stream of keyed
// and keyless commands, single- and multi-key, with hash tags, ASKING,
// READONLY, MULTI/EXEC/WATCH and SELECT, to the masters of a reef cluster
// and of a redis-server 7.0 cluster of the same shape, and requires the
// same replies (addresses and IDs normalized): routing, CROSSSLOT, MOVED,
// transaction and error precedence on a cluster that is not at rest in any
// scripted way. During the middle third, slot 3443 ({user1000}) is being
// migrated from the first master to the second, so ASK, ASKING and
// TRYAGAIN come into play. REEF_ROUTING_SEED replays a seed, REEF_ROUTING_OPS sets the
// length.
func TestRandomRoutingLikeRedis(t *testing.T) {
	t.Parallel()
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("REEF_ROUTING_SEED"); s != "" {
		seed, _ = strconv.ParseUint(s, 10, 64)
	}
	ops := 1500
	if s := os.Getenv("REEF_ROUTING_OPS"); s != "" {
		ops, _ = strconv.Atoi(s)
	}
	script := randomRoutingScript(rand.New(rand.NewPCG(seed, 0)), ops)
	reef := newRoutedCluster(t, startReefNodes)
	redis := newRoutedCluster(t, startRedisNodes)
	got, want := reef.run(t, script), redis.run(t, script)
	for i := range want {
		if i >= len(got) || got[i] != want[i] {
			from := max(0, i-30)
			var before string
			for _, s := range want[from:i] {
				before += "\n  " + s
			}
			t.Fatalf("step %d (replay: REEF_ROUTING_SEED=%d)\n reef: %s\nredis: %s\nbefore:%s", i, seed, at(got, i), want[i], before)
		}
	}
}

// randomRoutingScript draws ops steps on the three masters.
func randomRoutingScript(r *rand.Rand, ops int) []step {
	// Plain keys land on every master; {t}-tagged ones share a slot.
	keys := []string{"a", "b", "c", "d", "foo", "y", "{t}1", "{t}2", "{t}3", "{user1000}.x", "{user1000}.y", "k:1", "k:2"}
	key := func() string { return keys[r.IntN(len(keys))] }
	val := func() string { return strconv.Itoa(r.IntN(100)) }
	nodes := []string{"m0", "m1", "m2"}
	var script []step
	migrating := false
	for len(script) < ops {
		switch {
		case !migrating && len(script) >= ops/3 && len(script) < 2*ops/3:
			script = append(script,
				st("m1", "CLUSTER", "SETSLOT", "3443", "IMPORTING", "$ID0"),
				st("m0", "CLUSTER", "SETSLOT", "3443", "MIGRATING", "$ID1"))
			migrating = true
		case migrating && len(script) >= 2*ops/3:
			script = append(script,
				st("m0", "CLUSTER", "SETSLOT", "3443", "STABLE"),
				st("m1", "CLUSTER", "SETSLOT", "3443", "STABLE"))
			migrating = false
		}
		node := nodes[r.IntN(len(nodes))]
		var args []string
		channel := []string{"ch", "{t}ch", "{user1000}ch", "news"}[r.IntN(4)]
		switch r.IntN(47) {
		case 0:
			args = []string{"GET", key()}
		case 1:
			args = []string{"SET", key(), val()}
		case 2:
			args = []string{"INCR", key()}
		case 3:
			args = []string{"DEL", key()}
		case 4:
			args = []string{"LPUSH", key(), val()}
		case 5:
			args = []string{"MGET", key(), key()}
		case 6:
			args = []string{"MSET", key(), val(), key(), val()}
		case 7:
			args = []string{"DEL", key(), key(), key()}
		case 8:
			args = []string{"EXISTS", key(), key()}
		case 9:
			args = []string{"RENAME", key(), key()}
		case 10:
			args = []string{"SINTERSTORE", key(), key(), key()}
		case 11:
			args = []string{"LMPOP", "2", key(), key(), "LEFT"}
		case 12:
			args = []string{"SINTERCARD", "2", key(), key()}
		case 13:
			args = []string{"TYPE", key()}
		case 14:
			args = []string{[]string{"PING", "DBSIZE", "ASKING", "READONLY", "READWRITE", "UNWATCH"}[r.IntN(6)]}
		case 15:
			args = []string{"CLUSTER", "COUNTKEYSINSLOT", strconv.Itoa([]int{3443, 3300, 12182, 15495, 7365, 2, 11298}[r.IntN(7)])}
		case 16:
			args = []string{"MULTI"}
		case 17, 18:
			args = []string{[]string{"EXEC", "DISCARD"}[r.IntN(2)]}
		case 19:
			args = []string{"WATCH", key()}
		case 20:
			args = []string{"SELECT", strconv.Itoa(r.IntN(2))}
		case 21:
			args = []string{"BLPOP", key(), key(), "0.01"}
		case 22:
			args = []string{"EXPIRE", key(), "1000", []string{"NX", "XX", "GT"}[r.IntN(3)]}
		case 23:
			args = []string{"SORT", key(), "BY", []string{"nosort", "w_*", "{t}w_*"}[r.IntN(3)], "LIMIT", "0", "2"}
		case 24:
			args = []string{"SSUBSCRIBE", channel}
		case 25:
			// One channel: unsubscribing from all replies once per
			// channel, in each server's own hash order.
			args = []string{"SUNSUBSCRIBE", channel}
		case 26:
			args = []string{"SPUBLISH", channel, val()}
		case 27:
			args = []string{"PUBSUB", []string{"SHARDNUMSUB", "SHARDCHANNELS"}[r.IntN(2)], channel}
		case 28:
			args = []string{"ZUNIONSTORE", key(), "2", key(), key()}
		case 29:
			args = []string{"DUMP", key()}
		case 30:
			args = []string{"COPY", key(), key(), []string{"REPLACE", "DB", "0"}[r.IntN(2)]}
		case 31:
			args = []string{"GETEX", key(), "PERSIST"}
		case 32:
			args = []string{"OBJECT", "ENCODING", key()}
		case 33:
			args = []string{[]string{"UNLINK", "TOUCH", "PFCOUNT"}[r.IntN(3)], key(), key()}
		case 34:
			args = []string{"SMOVE", key(), key(), val()}
		case 35:
			args = []string{"LMOVE", key(), key(), "LEFT", "RIGHT"}
		case 36:
			args = []string{"BLMOVE", key(), key(), "LEFT", "RIGHT", "0.01"}
		case 37:
			args = []string{[]string{"SINTER", "SUNIONSTORE", "SDIFF", "PFMERGE"}[r.IntN(4)], key(), key(), key()}
		case 38:
			args = []string{"ZRANGESTORE", key(), key(), "0", "-1"}
		case 39:
			args = []string{"BITOP", "OR", key(), key(), key()}
		case 40:
			args = []string{"MSETNX", key(), val(), key(), val()}
		case 41:
			args = []string{"RENAMENX", key(), key()}
		case 42:
			args = []string{"GETDEL", key()}
		case 43:
			args = []string{"GEOADD", key(), "13.36", "38.11", val()}
		case 44:
			// STORE and STOREDIST name their key by keyword.
			args = append([]string{"GEORADIUS", key(), "13", "38", "500", "km"},
				[][]string{{}, {"STORE", key()}, {"STOREDIST", key()}, {"COUNT", "1", "STORE", key()}}[r.IntN(4)]...)
		case 45:
			args = []string{"GEOSEARCHSTORE", key(), key(), "FROMLONLAT", "13", "38", "BYRADIUS", "500", "km"}
		default:
			args = []string{"SADD", key(), val(), val()}
		}
		script = append(script, st(node, args...))
	}
	return script
}
