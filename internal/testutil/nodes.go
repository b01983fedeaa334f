package testutil

import (
	"net"
	"sort"
	"strconv"
	"strings"

	"github.com/reefkv/reef/internal/slot"
)

// NodeLine is one parsed CLUSTER NODES line. Tests of several packages
// read these lines, so they share one parser rather than each keeping a
// slightly different copy.
type NodeLine struct {
	ID, Addr, Flags, Master, Link string
	// Epoch is the config epoch (0 if the field does not parse).
	Epoch int
	// Slots are the slot fields as printed: ranges ("0-5460"), single
	// slots ("42") and open-slot markers ("[12->-id]", "[12-<-id]").
	Slots []string
}

// Has reports whether flag is one of the line's comma-separated flags
// (an exact match: "fail" does not match "fail?").
func (l NodeLine) Has(flag string) bool {
	for _, f := range strings.Split(l.Flags, ",") {
		if f == flag {
			return true
		}
	}
	return false
}

// Port returns the client port of the node's address ("ip:port@bus"), so
// tests can find which of their processes a line describes.
func (l NodeLine) Port() string {
	a, _, _ := strings.Cut(l.Addr, "@")
	_, p, _ := net.SplitHostPort(a)
	return p
}

// SlotRanges returns the slot ranges the node owns, a single slot as
// [s, s]. Open-slot markers are skipped: an importing or migrating slot is
// not owned by the node that shows the marker.
func (l NodeLine) SlotRanges() [][2]int {
	var out [][2]int
	for _, s := range l.Slots {
		if strings.HasPrefix(s, "[") {
			continue
		}
		a, b, ok := strings.Cut(s, "-")
		lo, _ := strconv.Atoi(a)
		hi := lo
		if ok {
			hi, _ = strconv.Atoi(b)
		}
		out = append(out, [2]int{lo, hi})
	}
	return out
}

// OwnsSlot reports whether one of the node's owned ranges covers slot s.
func (l NodeLine) OwnsSlot(s int) bool {
	for _, r := range l.SlotRanges() {
		if r[0] <= s && s <= r[1] {
			return true
		}
	}
	return false
}

// ParseNodes parses a CLUSTER NODES reply into its lines, keyed by node ID.
// Nodes still in handshake are skipped (they have random IDs that differ
// from node to node, and vanish once the handshake ends), and so are lines
// with fewer than the 8 fixed fields.
func ParseNodes(text string) map[string]NodeLine {
	out := map[string]NodeLine{}
	for _, l := range strings.Split(strings.TrimSpace(text), "\n") {
		f := strings.Fields(l)
		if len(f) < 8 || strings.Contains(f[2], "handshake") {
			continue
		}
		e, _ := strconv.Atoi(f[6])
		out[f[0]] = NodeLine{ID: f[0], Addr: f[1], Flags: f[2], Master: f[3], Epoch: e, Link: f[7], Slots: f[8:]}
	}
	return out
}

// NodesView reduces a CLUSTER NODES reply to what every node of a settled
// cluster must agree on, so that the replies of different nodes can be
// compared as strings: one line per node with its ID, address, flags
// without "myself", master, config epoch and owned slots (open-slot
// markers dropped: only the two nodes of a migration show them). Ping
// times and link states, which differ from node to node, are left out.
// Lines are sorted and joined by "\n".
func NodesView(text string) string {
	var lines []string
	for id, n := range ParseNodes(text) {
		var flags []string
		for _, f := range strings.Split(n.Flags, ",") {
			if f != "myself" {
				flags = append(flags, f)
			}
		}
		var slots []string
		for _, s := range n.Slots {
			if !strings.HasPrefix(s, "[") {
				slots = append(slots, s)
			}
		}
		lines = append(lines, strings.Join([]string{id, n.Addr, strings.Join(flags, ","), n.Master,
			strconv.Itoa(n.Epoch), strings.Join(slots, " ")}, " "))
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// InfoField returns the value of field name in an INFO-style reply
// ("name:value" lines, CRLF or LF), "" when the field is absent.
func InfoField(text, name string) string {
	for _, l := range strings.Split(text, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimRight(l, "\r"), name+":"); ok {
			return v
		}
	}
	return ""
}

// KeysInSlot returns the first n keys "prefix:0", "prefix:1", ... that
// hash to slot s.
func KeysInSlot(prefix string, s, n int) []string {
	var keys []string
	for i := 0; len(keys) < n; i++ {
		if k := prefix + ":" + strconv.Itoa(i); slot.OfString(k) == s {
			keys = append(keys, k)
		}
	}
	return keys
}
