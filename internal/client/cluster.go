package client

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/reefkv/reef/internal/resp"
	"github.com/reefkv/reef/internal/slot"
)

// Cluster is a cluster-aware client. It loads the slot map with CLUSTER
// SLOTS, sends each keyed command to the master owning the key's slot, and
// follows MOVED (refreshing the map) and ASK (sending ASKING first). It is
// safe for concurrent use; each node connection is used by one call at a time.
type Cluster struct {
	opts  Options
	seeds []string

	mu struct {
		sync.Mutex
		slots [slot.Count]string // owner address per slot, "" when unknown
		idle  map[string][]*Conn // pooled connections per address
		// refreshed is when the map was last loaded.
		refreshed time.Time
	}

	// MaxRedirects bounds MOVED/ASK hops per call (default 16).
	MaxRedirects int
	// OnRedirect, when set, is called for every redirection followed (reef-cli
	// -c prints redis-cli's "-> Redirected to slot ..." line from it).
	OnRedirect func(r Redirect)
}

// NewCluster connects to the first reachable seed and loads the slot map.
func NewCluster(seeds []string, opts Options) (*Cluster, error) {
	c := &Cluster{opts: opts, seeds: seeds, MaxRedirects: 16}
	c.mu.idle = map[string][]*Conn{}
	if err := c.Refresh(); err != nil {
		return nil, err
	}
	return c, nil
}

// Refresh reloads the slot map from any reachable known node (seeds first).
func (c *Cluster) Refresh() error {
	c.mu.Lock()
	cands := append([]string(nil), c.seeds...)
	seen := map[string]bool{}
	for _, a := range c.mu.slots {
		if a != "" && !seen[a] {
			seen[a] = true
			cands = append(cands, a)
		}
	}
	c.mu.Unlock()
	var last error = errors.New("client: no seed address")
	for _, a := range cands {
		cn, err := c.get(a)
		if err != nil {
			last = err
			continue
		}
		v, err := cn.Do("CLUSTER", "SLOTS")
		if err != nil {
			last = err
			continue
		}
		c.put(cn)
		if v.IsError() {
			last = v.Err()
			continue
		}
		var m [slot.Count]string
		for _, r := range v.Elems {
			if len(r.Elems) < 3 || len(r.Elems[2].Elems) < 2 {
				continue
			}
			host := r.Elems[2].Elems[0].Text()
			if host == "" || host == "?" {
				h, _, _ := SplitHostPort(a)
				host = h
			}
			addr := JoinHostPort(host, int(r.Elems[2].Elems[1].Int))
			for s := r.Elems[0].Int; s <= r.Elems[1].Int && s < slot.Count; s++ {
				m[s] = addr
			}
		}
		c.mu.Lock()
		c.mu.slots = m
		c.mu.refreshed = time.Now()
		c.mu.Unlock()
		return nil
	}
	return fmt.Errorf("client: load slot map: %w", last)
}

// SlotOwner returns the address the map holds for s ("" when unknown).
func (c *Cluster) SlotOwner(s int) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.mu.slots[s]
}

// Masters returns the distinct addresses that own at least one slot.
func (c *Cluster) Masters() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	seen := map[string]bool{}
	var out []string
	for _, a := range c.mu.slots {
		if a != "" && !seen[a] {
			seen[a] = true
			out = append(out, a)
		}
	}
	return out
}

func (c *Cluster) get(addr string) (*Conn, error) {
	c.mu.Lock()
	if l := c.mu.idle[addr]; len(l) > 0 {
		cn := l[len(l)-1]
		c.mu.idle[addr] = l[:len(l)-1]
		c.mu.Unlock()
		return cn, nil
	}
	c.mu.Unlock()
	return Dial(addr, c.opts)
}

func (c *Cluster) put(cn *Conn) {
	if cn.Closed() || cn.Pending() > 0 {
		cn.Close()
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.mu.idle[cn.addr]) >= 4 {
		cn.Close()
		return
	}
	c.mu.idle[cn.addr] = append(c.mu.idle[cn.addr], cn)
}

// Close closes every pooled connection.
func (c *Cluster) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, l := range c.mu.idle {
		for _, cn := range l {
			cn.Close()
		}
	}
	c.mu.idle = map[string][]*Conn{}
	return nil
}

// Do runs a command, routed by its first key. The first key is taken to be
// args[1], which holds for every single-key and most multi-key commands; use
// DoKey when it is elsewhere. A command with no key goes to any master.
func (c *Cluster) Do(args ...string) (resp.Value, error) {
	if len(args) < 2 {
		return c.DoSlot(-1, args...)
	}
	return c.DoSlot(slot.OfString(args[1]), args...)
}

// DoKey runs a command routed by key's slot.
func (c *Cluster) DoKey(key string, args ...string) (resp.Value, error) {
	return c.DoSlot(slot.OfString(key), args...)
}

// DoSlot runs a command on the owner of slot s (any master when s < 0),
// following redirections. TRYAGAIN and CLUSTERDOWN replies are retried a few
// times with a short backoff, since they describe a migration or a failover
// in progress.
func (c *Cluster) DoSlot(s int, args ...string) (resp.Value, error) {
	addr := ""
	if s >= 0 {
		addr = c.SlotOwner(s)
	}
	if addr == "" {
		if m := c.Masters(); len(m) > 0 {
			addr = m[0]
		} else if len(c.seeds) > 0 {
			addr = c.seeds[0]
		}
	}
	asking := false
	retries := 0
	for hop := 0; ; hop++ {
		cn, err := c.get(addr)
		if err != nil {
			if hop < c.MaxRedirects && c.Refresh() == nil && s >= 0 && c.SlotOwner(s) != addr {
				addr = c.SlotOwner(s)
				continue
			}
			return resp.Value{}, err
		}
		var v resp.Value
		if asking {
			cn.Send("ASKING")
			cn.Send(args...)
			if _, err = cn.Receive(); err == nil {
				v, err = cn.Receive()
			}
		} else {
			v, err = cn.Do(args...)
		}
		c.put(cn)
		if err != nil {
			return v, err
		}
		if r, ok := ParseRedirect(v); ok && hop < c.MaxRedirects {
			if c.OnRedirect != nil {
				c.OnRedirect(r)
			}
			addr, asking = r.Addr, r.Ask
			if !r.Ask {
				c.mu.Lock()
				c.mu.slots[r.Slot] = r.Addr
				due := time.Since(c.mu.refreshed) > time.Second
				c.mu.Unlock()
				// One MOVED usually means many slots moved: reload the
				// whole map, but at most once a second during a reshard.
				if due {
					_ = c.Refresh()
				}
			}
			continue
		}
		if v.IsError() && retries < 20 && (strings.HasPrefix(string(v.Str), "TRYAGAIN") || strings.HasPrefix(string(v.Str), "CLUSTERDOWN")) {
			retries++
			time.Sleep(time.Duration(retries*25) * time.Millisecond)
			asking = false
			if s >= 0 && c.SlotOwner(s) != "" {
				addr = c.SlotOwner(s)
			}
			continue
		}
		return v, nil
	}
}

// String describes the client for logs.
func (c *Cluster) String() string {
	return "cluster(" + strings.Join(c.seeds, ",") + ")@" + strconv.Itoa(len(c.Masters())) + " masters"
}
