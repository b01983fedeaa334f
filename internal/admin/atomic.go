package admin

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/reefkv/reef/internal/client"
	"github.com/reefkv/reef/internal/resp"
)

// Atomic slot migration dialects: servers that move a whole slot range
// themselves, keeping it consistent without the manager's key loop.
const (
	// DialectValkey is Valkey 9's CLUSTER MIGRATESLOTS, sent to the source.
	DialectValkey = "valkey-migrateslots"
	// DialectRedis84 is Redis 8.4's CLUSTER MIGRATION IMPORT, sent to the target.
	DialectRedis84 = "redis-migration"
)

// detectDialect asks a node which atomic migration it supports, from
// COMMAND INFO CLUSTER (subcommand names) with CLUSTER HELP as a fallback.
// "" means the legacy SETSLOT/MIGRATE protocol only.
func detectDialect(c *client.Conn) string {
	text := ""
	if v, err := c.Do("COMMAND", "INFO", "CLUSTER"); err == nil && !v.IsError() {
		text = strings.ToLower(flatten(v))
	}
	if !strings.Contains(text, "cluster|") {
		if v, err := c.Do("CLUSTER", "HELP"); err == nil && !v.IsError() {
			text += strings.ToLower(flatten(v))
		}
	}
	switch {
	case strings.Contains(text, "migrateslots"):
		return DialectValkey
	case strings.Contains(text, "cluster|migration") || strings.Contains(text, "migration import"):
		return DialectRedis84
	}
	return ""
}

func flatten(v resp.Value) string {
	var b strings.Builder
	var walk func(resp.Value)
	walk = func(v resp.Value) {
		if len(v.Elems) > 0 {
			for _, e := range v.Elems {
				walk(e)
			}
			return
		}
		b.WriteString(v.Text())
		b.WriteByte('\n')
	}
	walk(v)
	return b.String()
}

// atomicDialect returns the dialect both nodes share, or "" (also when
// Options.Legacy forces the legacy protocol).
func (m *Manager) atomicDialect(src, dst *Node) string {
	if m.Opts.Legacy {
		return ""
	}
	get := func(n *Node) string {
		m.out.mu.Lock()
		d, ok := m.atomicCache[n.ID]
		m.out.mu.Unlock()
		if ok {
			return d
		}
		c, err := client.Dial(n.Addr(), m.connOpts())
		if err != nil {
			return ""
		}
		defer c.Close()
		d = detectDialect(c)
		m.out.mu.Lock()
		if m.atomicCache == nil {
			m.atomicCache = map[string]string{}
		}
		m.atomicCache[n.ID] = d
		m.out.mu.Unlock()
		return d
	}
	a, b := get(src), get(dst)
	if a != "" && a == b {
		return a
	}
	return ""
}

// ranges turns sorted slots into [start, end] pairs.
func ranges(slots []int) [][2]int {
	var out [][2]int
	for _, s := range slots {
		if n := len(out); n > 0 && out[n-1][1] == s-1 {
			out[n-1][1] = s
			continue
		}
		out = append(out, [2]int{s, s})
	}
	return out
}

// atomicMove asks the servers to migrate the slots and waits until the
// target owns them all.
func (w *mover) atomicMove(dialect string, slots []int) error {
	rs := ranges(slots)
	timeout := time.Duration(max(w.m.Opts.Timeout, 60000)) * time.Millisecond * time.Duration(max(1, len(slots)/64))
	switch dialect {
	case DialectValkey:
		// One SLOTSRANGE block with every range: one migration job on the
		// servers (a block per range would start one job per range).
		args := []string{"CLUSTER", "MIGRATESLOTS", "SLOTSRANGE"}
		for _, r := range rs {
			args = append(args, strconv.Itoa(r[0]), strconv.Itoa(r[1]))
		}
		args = append(args, "NODE", w.job.Dst.ID)
		c, err := w.conn(w.job.Src)
		if err != nil {
			return err
		}
		v, err := c.Do(args...)
		if err != nil {
			return err
		}
		if v.IsError() {
			return fmt.Errorf("Node %s replied with error:\n%s", w.job.Src.Name(), v.Text())
		}
	case DialectRedis84:
		args := []string{"CLUSTER", "MIGRATION", "IMPORT"}
		for _, r := range rs {
			args = append(args, strconv.Itoa(r[0]), strconv.Itoa(r[1]))
		}
		c, err := w.conn(w.job.Dst)
		if err != nil {
			return err
		}
		v, err := c.Do(args...)
		if err != nil {
			return err
		}
		if v.IsError() {
			return fmt.Errorf("Node %s replied with error:\n%s", w.job.Dst.Name(), v.Text())
		}
	default:
		return fmt.Errorf("unknown migration dialect %q", dialect)
	}
	return w.waitOwner(slots, timeout)
}
