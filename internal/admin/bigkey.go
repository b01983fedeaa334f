package admin

import (
	"fmt"
	"strconv"

	"github.com/reefkv/reef/internal/client"
	"github.com/reefkv/reef/internal/resp"
)

// chunk is how many elements one copy command carries.
const chunk = 1000

// moveBigKey moves one big hash, list, set or sorted set in chunks, so that
// neither node is blocked for long by one huge RESTORE. The copy is built
// under the same name on the target (the slot is importing there, and
// clients still reach the source while the key exists there). The source
// connection WATCHes the key: the final MULTI/DEL/EXEC on the source fails
// if a client wrote to the key during the copy, and the copy is redone.
// Other types, and a key that keeps changing, go through plain MIGRATE.
func (w *mover) moveBigKey(key string) error {
	src, dst := w.job.Src, w.job.Dst
	for attempt := 0; attempt < 3; attempt++ {
		sc, err := client.Dial(src.Addr(), w.m.connOpts())
		if err != nil {
			return err
		}
		ok, err := w.copyBigKey(sc, key)
		sc.Close()
		if err != nil {
			return fmt.Errorf("chunked move of key %q from %s to %s: %w", key, src.Name(), dst.Name(), err)
		}
		if ok {
			return nil
		}
	}
	return w.migrateOne(key)
}

// migrateOne moves key whole with MIGRATE: durably (copy, WAIT, delete)
// when the target has replicas, as every other key of the move.
func (w *mover) migrateOne(key string) error {
	if w.job.Dst.Replicas > 0 {
		_, err := w.migrateDurable([][]string{{key}})
		return err
	}
	c, err := w.conn(w.job.Src)
	if err != nil {
		return err
	}
	r, err := c.Do(w.m.migrateArgs(w.job.Dst, w.m.Opts.Replace, false, []string{key})...)
	if err != nil {
		return err
	}
	if r.IsError() {
		return w.migrateError([]string{key}, r.Text())
	}
	return nil
}

// copyBigKey does one attempt; ok is false when the key changed meanwhile
// (the target copy is then removed). A key whose type cannot be chunked is
// moved with MIGRATE instead, and counts as done.
func (w *mover) copyBigKey(sc *client.Conn, key string) (bool, error) {
	dc, err := w.conn(w.job.Dst)
	if err != nil {
		return false, err
	}
	if _, err := sc.DoOK("WATCH", key); err != nil {
		return false, err
	}
	t, err := sc.DoOK("TYPE", key)
	if err != nil {
		return false, err
	}
	ttl, err := sc.DoOK("PTTL", key)
	if err != nil {
		return false, err
	}
	typ := t.Text()
	if typ == "none" {
		return true, nil // expired or deleted meanwhile
	}
	// askingDo runs one command on the target under ASKING.
	askingDo := func(args ...string) error {
		rs, err := dc.Pipeline([][]string{{"ASKING"}, args})
		if err != nil {
			return err
		}
		if rs[1].IsError() {
			return rs[1].Err()
		}
		return nil
	}
	if ex, err := askingDoValue(dc, "EXISTS", key); err != nil {
		return false, err
	} else if ex.Int > 0 {
		if !w.m.Opts.Replace {
			return false, fmt.Errorf("BUSYKEY Target key name already exists.")
		}
		if err := askingDo("DEL", key); err != nil {
			return false, err
		}
	}
	var scanCmd string
	switch typ {
	case "hash":
		scanCmd = "HSCAN"
	case "set":
		scanCmd = "SSCAN"
	case "zset":
		scanCmd = "ZSCAN"
	case "list":
		for i := 0; ; i += chunk {
			v, err := sc.DoOK("LRANGE", key, strconv.Itoa(i), strconv.Itoa(i+chunk-1))
			if err != nil {
				return false, err
			}
			if len(v.Elems) == 0 {
				break
			}
			args := []string{"RPUSH", key}
			for _, e := range v.Elems {
				args = append(args, e.Text())
			}
			if err := askingDo(args...); err != nil {
				return false, err
			}
		}
	default:
		sc.Do("UNWATCH")
		return true, w.migrateOne(key)
	}
	if scanCmd != "" {
		cursor := "0"
		for {
			v, err := sc.DoOK(scanCmd, key, cursor, "COUNT", strconv.Itoa(chunk))
			if err != nil {
				return false, err
			}
			cursor = v.Elems[0].Text()
			items := v.Elems[1].Elems
			if len(items) > 0 {
				var args []string
				switch typ {
				case "hash":
					args = []string{"HSET", key}
					for _, e := range items {
						args = append(args, e.Text())
					}
				case "set":
					args = []string{"SADD", key}
					for _, e := range items {
						args = append(args, e.Text())
					}
				case "zset":
					args = []string{"ZADD", key}
					for i := 0; i+1 < len(items); i += 2 {
						args = append(args, items[i+1].Text(), items[i].Text())
					}
				}
				if err := askingDo(args...); err != nil {
					return false, err
				}
			}
			if cursor == "0" {
				break
			}
		}
	}
	if ttl.Int > 0 {
		if err := askingDo("PEXPIRE", key, strconv.FormatInt(ttl.Int, 10)); err != nil {
			return false, err
		}
	}
	if err := w.waitReplicas(); err != nil {
		return false, err
	}
	rs, err := sc.Pipeline([][]string{{"MULTI"}, {"DEL", key}, {"EXEC"}})
	if err != nil {
		return false, err
	}
	if rs[2].IsNull() {
		// Somebody wrote to the key during the copy: drop the copy, retry.
		return false, askingDo("DEL", key)
	}
	return true, nil
}

func askingDoValue(dc *client.Conn, args ...string) (resp.Value, error) {
	rs, err := dc.Pipeline([][]string{{"ASKING"}, args})
	if err != nil {
		return resp.Value{}, err
	}
	return rs[1], rs[1].Err()
}
