package datamodel

import (
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/reefkv/reef/internal/resp"
	"github.com/reefkv/reef/internal/testutil"
)

// Messages reach channel, pattern and shard-channel subscribers in RESP2
// and RESP3 (push frames), with PUBSUB introspection and keyspace
// notifications.
func TestPubSub(t *testing.T) {
	servers(t, func(t *testing.T, addr string) {
		for _, proto := range []int{2, 3} {
			pub := client(t, addr, proto)
			c := redis.NewClient(&redis.Options{Addr: addr, Protocol: proto})
			defer c.Close()
			ps := c.Subscribe(ctx, "news")
			if err := ps.PSubscribe(ctx, "n*"); err != nil {
				t.Fatal(err)
			}
			if _, err := ps.Receive(ctx); err != nil { // first confirmation
				t.Fatal(err)
			}
			ps.Receive(ctx)
			if n := pub.Publish(ctx, "news", "hello").Val(); n != 2 {
				t.Fatalf("RESP%d: PUBLISH reached %d, want 2", proto, n)
			}
			m1, err1 := ps.ReceiveMessage(ctx)
			m2, err2 := ps.ReceiveMessage(ctx)
			if err1 != nil || err2 != nil || m1.Payload != "hello" || m2.Payload != "hello" || m1.Pattern == m2.Pattern {
				t.Fatalf("RESP%d: %v %v / %v %v", proto, m1, err1, m2, err2)
			}
			if got := pub.PubSubNumSub(ctx, "news", "other").Val(); got["news"] != 1 || got["other"] != 0 {
				t.Fatalf("NUMSUB %v", got)
			}
			if n := pub.PubSubNumPat(ctx).Val(); n != 1 {
				t.Fatalf("NUMPAT %d", n)
			}
			if chs := pub.PubSubChannels(ctx, "n*").Val(); len(chs) != 1 || chs[0] != "news" {
				t.Fatalf("CHANNELS %v", chs)
			}
			ps.Close()
			testutil.WaitFor(t, 5*time.Second, "unsubscribed", func() bool { return pub.PubSubNumPat(ctx).Val() == 0 })
		}
		// Shard channels.
		pub := client(t, addr, 2)
		c := redis.NewClient(&redis.Options{Addr: addr})
		defer c.Close()
		ps := c.SSubscribe(ctx, "shard")
		ps.Receive(ctx)
		if n := pub.SPublish(ctx, "shard", "s1").Val(); n != 1 {
			t.Fatalf("SPUBLISH reached %d", n)
		}
		if m, err := ps.ReceiveMessage(ctx); err != nil || m.Payload != "s1" {
			t.Fatalf("smessage %v %v", m, err)
		}
		if got := pub.PubSubShardNumSub(ctx, "shard").Val(); got["shard"] != 1 {
			t.Fatalf("SHARDNUMSUB %v", got)
		}
		ps.Close()
		// Keyspace notifications.
		pub.ConfigSet(ctx, "notify-keyspace-events", "KEA")
		kc := redis.NewClient(&redis.Options{Addr: addr})
		defer kc.Close()
		kps := kc.PSubscribe(ctx, "__key*__:*")
		kps.Receive(ctx)
		pub.LPush(ctx, "nl", "a")
		pub.LPop(ctx, "nl")
		var got []string
		for len(got) < 6 {
			m, err := kps.ReceiveMessage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, m.Channel+"="+m.Payload)
		}
		want := "__keyspace@0__:nl=lpush __keyevent@0__:lpush=nl __keyspace@0__:nl=lpop __keyevent@0__:lpop=nl __keyspace@0__:nl=del __keyevent@0__:del=nl"
		if strings.Join(got, " ") != want {
			t.Fatalf("notifications\n got  %s\n want %s", strings.Join(got, " "), want)
		}
	})
}

// RESP2 subscribers may only run subscription commands, PING (which then
// replies ["pong", ""]), QUIT and RESET.
func TestSubscriberContext(t *testing.T) {
	servers(t, func(t *testing.T, addr string) {
		c := testutil.MustDial(t, addr)
		c.Do("SUBSCRIBE", "a")
		for _, tc := range []struct {
			args []string
			want string
		}{
			{[]string{"GET", "k"}, "ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context"},
			{[]string{"CLIENT", "ID"}, "ERR Can't execute 'client|id': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context"},
			{[]string{"PING"}, "[pong ]"},
			{[]string{"PING", "x"}, "[pong x]"},
		} {
			v, err := c.Do(tc.args...)
			if err != nil {
				t.Fatal(err)
			}
			got := v.Text()
			if len(v.Elems) > 0 {
				got = "[" + v.Elems[0].Text() + " " + v.Elems[1].Text() + "]"
			}
			if got != tc.want {
				t.Fatalf("%v: %q, want %q", tc.args, got, tc.want)
			}
		}
		if v, _ := c.Do("RESET"); v.Text() != "RESET" {
			t.Fatalf("RESET: %v", v)
		}
		if v, _ := c.Do("GET", "k"); v.IsError() {
			t.Fatalf("after RESET: %v", v)
		}
	})
}

// A subscriber that never reads is disconnected by the pubsub output
// buffer limit; the server and other subscribers carry on. The limit
// leaves the reading subscriber 1 MB of slack: on a loaded machine its
// goroutine may not run for a while.
func TestSlowSubscriber(t *testing.T) {
	servers(t, func(t *testing.T, addr string) {
		admin := client(t, addr, 2)
		if err := admin.ConfigSet(ctx, "client-output-buffer-limit", "pubsub 1mb 512kb 60").Err(); err != nil {
			t.Fatal(err)
		}
		slow, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer slow.Close()
		slow.(*net.TCPConn).SetReadBuffer(4096)
		slow.Write(resp.AppendCommand(nil, "SUBSCRIBE", "flood"))
		good := redis.NewClient(&redis.Options{Addr: addr})
		defer good.Close()
		gps := good.Subscribe(ctx, "flood")
		gps.Receive(ctx)
		testutil.WaitFor(t, 5*time.Second, "two subscribers", func() bool {
			return admin.PubSubNumSub(ctx, "flood").Val()["flood"] == 2
		})
		payload := strings.Repeat("x", 4096)
		received := make(chan int)
		go func() {
			n := 0
			for n < 3000 {
				if _, err := gps.ReceiveMessage(ctx); err != nil {
					break
				}
				n++
			}
			received <- n
		}()
		for i := 0; i < 3000; i++ {
			if err := admin.Publish(ctx, "flood", payload+strconv.Itoa(i)).Err(); err != nil {
				t.Fatal(err)
			}
		}
		testutil.WaitFor(t, 10*time.Second, "slow subscriber disconnected", func() bool {
			return admin.PubSubNumSub(ctx, "flood").Val()["flood"] == 1
		})
		if n := <-received; n != 3000 {
			t.Fatalf("the reading subscriber got %d of 3000 messages", n)
		}
		if err := admin.Ping(ctx).Err(); err != nil {
			t.Fatal(err)
		}
		list := admin.ClientList(ctx).Val()
		if strings.Count(list, "\n") != 2 {
			t.Fatalf("clients left:\n%s", list)
		}
	})
}
