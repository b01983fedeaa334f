package datamodel

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/reefkv/reef/internal/testutil"
)

var ctx = context.Background()

// servers runs fn against a fresh reef-server and a fresh redis-server.
func servers(t *testing.T, fn func(t *testing.T, addr string), args ...string) {
	for _, s := range []struct {
		name  string
		start func(testing.TB, ...string) *testutil.Proc
	}{{"reef", testutil.StartReef}, {"redis", testutil.StartRedis}} {
		t.Run(s.name, func(t *testing.T) {
			t.Parallel()
			p := s.start(t, args...)
			fn(t, p.Addr())
		})
	}
}

// client returns a single-connection go-redis client.
func client(t *testing.T, addr string, proto int) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: addr, PoolSize: 1, MaxRetries: -1, Protocol: proto,
		DialTimeout: 5 * time.Second, ReadTimeout: 20 * time.Second, ContextTimeoutEnabled: true})
	t.Cleanup(func() { c.Close() })
	return c
}

// infoInt reads one integer field of INFO.
func infoInt(t *testing.T, c *redis.Client, section, field string) int64 {
	t.Helper()
	s, err := c.Info(ctx, section).Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(s, "\r\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			n, _ := strconv.ParseInt(v, 10, 64)
			return n
		}
	}
	t.Fatalf("INFO %s has no %s", section, field)
	return 0
}

// waitBlocked waits until n clients are blocked.
func waitBlocked(t *testing.T, c *redis.Client, n int64) {
	t.Helper()
	testutil.WaitFor(t, 10*time.Second, "blocked_clients="+strconv.FormatInt(n, 10), func() bool {
		return infoInt(t, c, "clients", "blocked_clients") == n
	})
}

// result is the outcome of a blocking command run in a goroutine.
type result struct {
	val []string
	err error
}

// async runs a command returning a string slice in a goroutine.
func async(fn func() ([]string, error)) <-chan result {
	ch := make(chan result, 1)
	go func() {
		v, err := fn()
		ch <- result{v, err}
	}()
	return ch
}

func get(t *testing.T, ch <-chan result) result {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(15 * time.Second):
		t.Fatal("blocked command never returned")
	}
	return result{}
}
