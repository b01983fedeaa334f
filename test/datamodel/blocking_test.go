package datamodel

import (
	"bufio"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/reefkv/reef/internal/resp"
)

// Clients blocked on a key are served first-blocked first-served, each
// from one push, and BRPOP/BZPOPMIN clients on the same kind of key take
// their own end.
func TestBlockingFairness(t *testing.T) {
	servers(t, func(t *testing.T, addr string) {
		admin := client(t, addr, 2)
		var chans []<-chan result
		for i := 0; i < 3; i++ {
			c := client(t, addr, 2)
			chans = append(chans, async(func() ([]string, error) { return c.BLPop(ctx, 0, "nokey", "k").Result() }))
			waitBlocked(t, admin, int64(i+1))
		}
		if err := admin.RPush(ctx, "k", "a", "b", "c", "d").Err(); err != nil {
			t.Fatal(err)
		}
		for i, want := range []string{"a", "b", "c"} {
			r := get(t, chans[i])
			if r.err != nil || len(r.val) != 2 || r.val[0] != "k" || r.val[1] != want {
				t.Fatalf("client %d got %v %v, want [k %s]", i, r.val, r.err, want)
			}
		}
		if got := admin.LRange(ctx, "k", 0, -1).Val(); len(got) != 1 || got[0] != "d" {
			t.Fatalf("left %v, want [d]", got)
		}
		waitBlocked(t, admin, 0)

		// Sorted sets: BZPOPMIN then BZPOPMAX.
		c1, c2 := client(t, addr, 2), client(t, addr, 2)
		r1 := async(func() ([]string, error) {
			v, err := c1.BZPopMin(ctx, 0, "z").Result()
			if err != nil {
				return nil, err
			}
			return []string{v.Key, v.Member.(string)}, nil
		})
		waitBlocked(t, admin, 1)
		r2 := async(func() ([]string, error) {
			v, err := c2.BZPopMax(ctx, 0, "z").Result()
			if err != nil {
				return nil, err
			}
			return []string{v.Key, v.Member.(string)}, nil
		})
		waitBlocked(t, admin, 2)
		admin.ZAdd(ctx, "z", redis.Z{Score: 1, Member: "one"}, redis.Z{Score: 2, Member: "two"}, redis.Z{Score: 3, Member: "three"})
		if r := get(t, r1); r.err != nil || r.val[1] != "one" {
			t.Fatalf("BZPOPMIN got %v %v", r.val, r.err)
		}
		if r := get(t, r2); r.err != nil || r.val[1] != "three" {
			t.Fatalf("BZPOPMAX got %v %v", r.val, r.err)
		}
	})
}

// A timeout replies a null array after about the requested time; a
// blocked client is not subject to the idle timeout.
func TestBlockingTimeout(t *testing.T) {
	servers(t, func(t *testing.T, addr string) {
		c := client(t, addr, 2)
		for _, tc := range []struct {
			name string
			run  func() error
		}{
			{"BLPOP", func() error { return c.BLPop(ctx, 200*time.Millisecond, "none").Err() }},
			{"BRPOPLPUSH", func() error { return c.BRPopLPush(ctx, "none", "dst", 200*time.Millisecond).Err() }},
			{"BLMOVE", func() error { return c.BLMove(ctx, "none", "dst", "LEFT", "RIGHT", 200*time.Millisecond).Err() }},
			{"BZPOPMIN", func() error { return c.BZPopMin(ctx, 200*time.Millisecond, "none").Err() }},
			{"BLMPOP", func() error { return c.Do(ctx, "BLMPOP", "0.2", "1", "none", "LEFT").Err() }},
			{"BZMPOP", func() error { return c.Do(ctx, "BZMPOP", "0.2", "1", "none", "MIN").Err() }},
		} {
			start := time.Now()
			err := tc.run()
			if err != redis.Nil {
				t.Fatalf("%s: %v, want nil reply", tc.name, err)
			}
			if d := time.Since(start); d < 150*time.Millisecond || d > 5*time.Second {
				t.Fatalf("%s returned after %v", tc.name, d)
			}
		}
		// The idle timeout does not close a blocked client.
		admin := client(t, addr, 2)
		admin.ConfigSet(ctx, "timeout", "1")
		// go-redis sends whole seconds (2500 ms would go out as 2), and the
		// server's deadline has millisecond resolution: 3 s, checked with
		// room below it but well past the 1 s idle timeout.
		start := time.Now()
		if err := c.BLPop(ctx, 3*time.Second, "none").Err(); err != redis.Nil {
			t.Fatalf("BLPOP across the idle timeout: %v", err)
		}
		if d := time.Since(start); d < 2500*time.Millisecond {
			t.Fatalf("returned early, after %v", d)
		}
		admin.ConfigSet(ctx, "timeout", "0")
		// Bad timeouts.
		for arg, want := range map[string]string{"-1": "ERR timeout is negative", "x": "ERR timeout is not a float or out of range", "inf": "ERR timeout is negative"} {
			if err := c.Do(ctx, "BLPOP", "k", arg).Err(); err == nil || err.Error() != want {
				t.Fatalf("BLPOP k %s: %v, want %q", arg, err, want)
			}
		}
	})
}

// A client that disconnects while blocked is forgotten: a later push stays
// in the list.
func TestBlockingDisconnect(t *testing.T) {
	servers(t, func(t *testing.T, addr string) {
		admin := client(t, addr, 2)
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		conn.Write(resp.AppendCommand(nil, "BLPOP", "gone", "0"))
		waitBlocked(t, admin, 1)
		conn.Close()
		waitBlocked(t, admin, 0)
		admin.RPush(ctx, "gone", "x")
		if n := admin.LLen(ctx, "gone").Val(); n != 1 {
			t.Fatalf("LLEN %d, the disconnected client took the element", n)
		}
		// A client killed while blocked, likewise.
		c := client(t, addr, 2)
		id := c.ClientID(ctx).Val()
		ch := async(func() ([]string, error) { return c.BLPop(ctx, 0, "gone2").Result() })
		waitBlocked(t, admin, 1)
		admin.ClientKillByFilter(ctx, "ID", strconv.FormatInt(id, 10))
		if r := get(t, ch); r.err == nil {
			t.Fatal("killed client got a reply")
		}
		waitBlocked(t, admin, 0)
		// Commands pipelined after a blocking one run once it is served.
		conn2, _ := net.Dial("tcp", addr)
		defer conn2.Close()
		conn2.Write(append(resp.AppendCommand(nil, "BLPOP", "p", "0"), resp.AppendCommand(nil, "PING")...))
		waitBlocked(t, admin, 1)
		admin.RPush(ctx, "p", "v")
		rd := resp.NewReplyReader(bufio.NewReader(conn2))
		conn2.SetDeadline(time.Now().Add(5 * time.Second))
		v1, err1 := rd.ReadReply()
		v2, err2 := rd.ReadReply()
		if err1 != nil || err2 != nil || len(v1.Elems) != 2 || v2.Text() != "PONG" {
			t.Fatalf("pipelined replies %v %v / %v %v", v1, err1, v2, err2)
		}
	})
}

// A push from MULTI/EXEC wakes blocked clients after the whole
// transaction; an element popped inside the transaction is not served;
// blocking commands inside MULTI never block.
func TestBlockingMulti(t *testing.T) {
	servers(t, func(t *testing.T, addr string) {
		admin := client(t, addr, 2)
		c := client(t, addr, 2)
		ch := async(func() ([]string, error) { return c.BLPop(ctx, 0, "m").Result() })
		waitBlocked(t, admin, 1)
		_, err := admin.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.RPush(ctx, "m", "a")
			p.LPop(ctx, "m")
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond) // give a wrong wake-up a chance to show
		if n := infoInt(t, admin, "clients", "blocked_clients"); n != 1 {
			t.Fatalf("blocked_clients %d after a transaction that left the list empty", n)
		}
		_, err = admin.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.RPush(ctx, "m", "x")
			p.RPush(ctx, "m", "y")
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if r := get(t, ch); r.err != nil || r.val[1] != "x" {
			t.Fatalf("got %v %v, want x", r.val, r.err)
		}
		// Inside MULTI a blocking command on an empty key returns at once.
		cmds, err := admin.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.BLPop(ctx, 0, "empty")
			p.BLMove(ctx, "empty", "d", "LEFT", "LEFT", 0)
			p.BZPopMin(ctx, 0, "emptyz")
			return nil
		})
		if err != redis.Nil || len(cmds) != 3 {
			t.Fatalf("blocking commands in MULTI: %v %v", cmds, err)
		}
	})
}

// BLMOVE serves another blocked client through its destination; with the
// keys in different slots too (standalone mode).
func TestBlmoveChain(t *testing.T) {
	servers(t, func(t *testing.T, addr string) {
		admin := client(t, addr, 2)
		for _, keys := range [][2]string{{"{x}src", "{x}dst"}, {"src", "dst"}} {
			c1, c2 := client(t, addr, 2), client(t, addr, 2)
			r1 := async(func() ([]string, error) {
				v, err := c1.BLMove(ctx, keys[0], keys[1], "RIGHT", "LEFT", 0).Result()
				return []string{v}, err
			})
			waitBlocked(t, admin, 1)
			r2 := async(func() ([]string, error) { return c2.BLPop(ctx, 0, keys[1]).Result() })
			waitBlocked(t, admin, 2)
			admin.RPush(ctx, keys[0], "v")
			if r := get(t, r1); r.err != nil || r.val[0] != "v" {
				t.Fatalf("BLMOVE %v got %v %v", keys, r.val, r.err)
			}
			if r := get(t, r2); r.err != nil || r.val[1] != "v" {
				t.Fatalf("BLPOP on the destination got %v %v", r.val, r.err)
			}
			if n := admin.Exists(ctx, keys[0], keys[1]).Val(); n != 0 {
				t.Fatalf("%d keys left", n)
			}
			waitBlocked(t, admin, 0)
		}
	})
}

// CLIENT UNBLOCK with TIMEOUT replies the timeout reply, with ERROR the
// UNBLOCKED error; a client that is not blocked is not touched.
func TestClientUnblock(t *testing.T) {
	servers(t, func(t *testing.T, addr string) {
		admin := client(t, addr, 2)
		c := client(t, addr, 2)
		id := c.ClientID(ctx).Val()
		if n := admin.ClientUnblock(ctx, id).Val(); n != 0 {
			t.Fatalf("unblocking an idle client: %d", n)
		}
		ch := async(func() ([]string, error) { return c.BLPop(ctx, 0, "u").Result() })
		waitBlocked(t, admin, 1)
		if n := admin.ClientUnblock(ctx, id).Val(); n != 1 {
			t.Fatalf("CLIENT UNBLOCK: %d", n)
		}
		if r := get(t, ch); r.err != redis.Nil {
			t.Fatalf("after UNBLOCK TIMEOUT: %v %v", r.val, r.err)
		}
		ch = async(func() ([]string, error) { return c.BLPop(ctx, 0, "u").Result() })
		waitBlocked(t, admin, 1)
		if n := admin.ClientUnblockWithError(ctx, id).Val(); n != 1 {
			t.Fatalf("CLIENT UNBLOCK ERROR: %d", n)
		}
		if r := get(t, ch); r.err == nil || r.err.Error() != "UNBLOCKED client unblocked via CLIENT UNBLOCK" {
			t.Fatalf("after UNBLOCK ERROR: %v %v", r.val, r.err)
		}
		if err := admin.Do(ctx, "CLIENT", "UNBLOCK", id, "maybe").Err(); err == nil || err.Error() != "ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR" {
			t.Fatalf("bad reason: %v", err)
		}
	})
}
