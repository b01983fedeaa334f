package datamodel

import (
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// WATCH/MULTI/EXEC follow Redis 7.0's rules: a watched key modified,
// expired or flushed makes EXEC return a null array; an error while
// queueing aborts EXEC with EXECABORT; a runtime error does not.
func TestWatchMulti(t *testing.T) {
	servers(t, func(t *testing.T, addr string) {
		c := client(t, addr, 2)
		other := client(t, addr, 2)
		exec := func(watch bool, change func()) ([]redis.Cmder, error) {
			return nil, c.Watch(ctx, func(tx *redis.Tx) error {
				if change != nil {
					change()
				}
				_, err := tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
					p.Set(ctx, "w", "mine", 0)
					return nil
				})
				return err
			}, "w")
		}
		if _, err := exec(true, func() { other.Set(ctx, "w", "theirs", 0) }); err != redis.TxFailedErr {
			t.Fatalf("modified watched key: %v", err)
		}
		if _, err := exec(true, nil); err != nil {
			t.Fatalf("untouched watched key: %v", err)
		}
		if _, err := exec(true, func() { other.Touch(ctx, "w") }); err != nil {
			t.Fatalf("TOUCH is not a modification: %v", err)
		}
		// A key that expires between WATCH and EXEC fails the transaction.
		c.Set(ctx, "w", "x", 0)
		if _, err := exec(true, func() {
			other.PExpire(ctx, "w", 20*time.Millisecond)
			time.Sleep(60 * time.Millisecond)
		}); err != redis.TxFailedErr {
			t.Fatalf("expired watched key: %v", err)
		}
		c.Set(ctx, "w", "x", 0)
		if _, err := exec(true, func() { other.FlushAll(ctx) }); err != redis.TxFailedErr {
			t.Fatalf("FLUSHALL: %v", err)
		}
		// Pushes to a watched list, from a collection command.
		c.Del(ctx, "w")
		if _, err := exec(true, func() { other.RPush(ctx, "w", "x") }); err != redis.TxFailedErr {
			t.Fatalf("RPUSH on watched key: %v", err)
		}
		// Errors while queueing doom the transaction.
		_, err := c.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.Set(ctx, "a", "1", 0)
			p.Do(ctx, "HSET", "h") // arity error
			return nil
		})
		if err == nil || !strings.HasPrefix(err.Error(), "EXECABORT") {
			t.Fatalf("queueing error: %v", err)
		}
		if c.Exists(ctx, "a").Val() != 0 {
			t.Fatal("aborted transaction ran")
		}
		// Runtime errors do not.
		cmds, _ := c.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.Set(ctx, "s", "str", 0)
			p.LPush(ctx, "s", "x")
			p.HSet(ctx, "h2", "f", "v")
			return nil
		})
		if len(cmds) != 3 || cmds[0].Err() != nil || cmds[1].Err() == nil ||
			!strings.HasPrefix(cmds[1].Err().Error(), "WRONGTYPE") || cmds[2].Err() != nil {
			t.Fatalf("runtime error in EXEC: %v", cmds)
		}
		if c.HGet(ctx, "h2", "f").Val() != "v" {
			t.Fatal("command after the runtime error did not run")
		}
		// WATCH inside MULTI, EXEC/DISCARD without MULTI.
		raw := func(args ...any) error { return c.Do(ctx, args...).Err() }
		if err := raw("EXEC"); err == nil || err.Error() != "ERR EXEC without MULTI" {
			t.Fatalf("EXEC: %v", err)
		}
		if err := raw("DISCARD"); err == nil || err.Error() != "ERR DISCARD without MULTI" {
			t.Fatalf("DISCARD: %v", err)
		}
	})
}

// MULTI/EXEC transactions over several keys are atomic to other clients:
// concurrent transfers between hashes never lose or create money.
func TestMultiAtomic(t *testing.T) {
	servers(t, func(t *testing.T, addr string) {
		admin := client(t, addr, 2)
		admin.HSet(ctx, "acct:a", "bal", 1000)
		admin.HSet(ctx, "acct:b", "bal", 1000)
		var running atomic.Int32
		running.Store(4)
		errs := make(chan error, 4)
		for i := 0; i < 4; i++ {
			c := client(t, addr, 2)
			from, to := "acct:a", "acct:b"
			if i%2 == 1 {
				from, to = to, from
			}
			go func() {
				defer running.Add(-1)
				for j := 0; j < 200; j++ {
					if _, err := c.TxPipelined(ctx, func(p redis.Pipeliner) error {
						p.HIncrBy(ctx, from, "bal", -1)
						p.HIncrBy(ctx, to, "bal", 1)
						return nil
					}); err != nil {
						errs <- err
						return
					}
				}
			}()
		}
		// Read both balances in transactions for as long as the transfers
		// run: every read sees them whole.
		reader := client(t, addr, 2)
		check := func() (int, int) {
			cmds, err := reader.TxPipelined(ctx, func(p redis.Pipeliner) error {
				p.HGet(ctx, "acct:a", "bal")
				p.HGet(ctx, "acct:b", "bal")
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			a, _ := cmds[0].(*redis.StringCmd).Int()
			b, _ := cmds[1].(*redis.StringCmd).Int()
			if a+b != 2000 {
				t.Fatalf("saw %d + %d mid-transaction", a, b)
			}
			return a, b
		}
		for running.Load() > 0 {
			check()
		}
		select {
		case err := <-errs:
			t.Fatalf("transfer: %v", err)
		default:
		}
		// Two writers each way, 200 transfers each: back where they started.
		if a, b := check(); a != 1000 || b != 1000 {
			t.Fatalf("balances %d and %d after equal transfers both ways, want 1000 and 1000", a, b)
		}
	})
}
