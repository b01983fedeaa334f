package admin

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/reefkv/reef/internal/resp"
)

// Move options, as redis-cli's CLUSTER_MANAGER_OPT_*.
const (
	optCold    = 1 << 1 // do not open the slot nor set the owner at the end
	optUpdate  = 1 << 2 // update the in-memory slot tables
	optQuiet   = 1 << 3 // print nothing
	optVerbose = 1 << 4 // print one dot per key
)

// setSlot is clusterManagerSetSlot: CLUSTER SETSLOT <slot> <status> <target-id>
// sent to n, printing the error.
func (m *Manager) setSlot(n, target *Node, s int, status string) error {
	v, err := n.Do("CLUSTER", "SETSLOT", strconv.Itoa(s), status, target.ID)
	if err != nil {
		return err
	}
	if v.IsError() {
		m.printReplyError(n, v.Text())
		return v.Err()
	}
	return nil
}

func (m *Manager) clearSlotStatus(n *Node, s int) bool {
	v, err := n.Do("CLUSTER", "SETSLOT", strconv.Itoa(s), "STABLE")
	if err != nil {
		return false
	}
	if v.IsError() {
		m.printReplyError(n, v.Text())
		return false
	}
	return true
}

// migrateArgs builds MIGRATE's arguments for keys going to target.
func (m *Manager) migrateArgs(target *Node, replace, copyOnly bool, keys []string) []string {
	args := []string{"MIGRATE", target.IP, strconv.Itoa(target.Port), "", "0", strconv.Itoa(m.Opts.Timeout)}
	if copyOnly {
		args = append(args, "COPY")
	}
	if replace {
		args = append(args, "REPLACE")
	}
	if m.Opts.Password != "" {
		if m.Opts.User != "" {
			args = append(args, "AUTH2", m.Opts.User, m.Opts.Password)
		} else {
			args = append(args, "AUTH", m.Opts.Password)
		}
	}
	args = append(args, "KEYS")
	return append(args, keys...)
}

// slotOwnerFromSource asks n's CLUSTER SLOTS who serves s; "" when nobody.
func (m *Manager) slotServed(n *Node, s int) (bool, error) {
	v, err := n.DoErr("CLUSTER", "SLOTS")
	if err != nil {
		return false, err
	}
	for _, r := range v.Elems {
		if len(r.Elems) >= 3 && int(r.Elems[0].Int) <= s && s <= int(r.Elems[1].Int) {
			return true, nil
		}
	}
	return false, nil
}

// compareKeyValues is clusterManagerCompareKeysValues: returns the keys whose
// DEBUG DIGEST-VALUE differs between the two nodes.
func (m *Manager) compareKeyValues(src, dst *Node, keys []string) ([]string, error) {
	a, err := src.DoErr(append([]string{"DEBUG", "DIGEST-VALUE"}, keys...)...)
	if err != nil {
		return nil, err
	}
	b, err := dst.DoErr(append([]string{"DEBUG", "DIGEST-VALUE"}, keys...)...)
	if err != nil {
		return nil, err
	}
	const none = "0000000000000000000000000000000000000000"
	var diffs []string
	for i, k := range keys {
		if i >= len(a.Elems) || i >= len(b.Elems) {
			break
		}
		da, db := a.Elems[i].Text(), b.Elems[i].Text()
		if da == none || db == none {
			continue
		}
		if da != db {
			diffs = append(diffs, k)
		}
	}
	return diffs, nil
}

// migrateKeysInSlot is clusterManagerMigrateKeysInSlot.
func (m *Manager) migrateKeysInSlot(src, dst *Node, s int, verbose, fix bool) (bool, string) {
	pipeline := m.Opts.Pipeline
	if pipeline <= 0 {
		pipeline = 10
	}
	for {
		v, err := src.Do("CLUSTER", "GETKEYSINSLOT", strconv.Itoa(s), strconv.Itoa(pipeline))
		if err != nil {
			return false, err.Error()
		}
		if v.IsError() {
			m.printReplyError(src, v.Text())
			return false, v.Text()
		}
		if len(v.Elems) == 0 {
			return true, ""
		}
		keys := make([]string, len(v.Elems))
		for i, e := range v.Elems {
			keys[i] = e.Text()
		}
		r, err := src.Do(m.migrateArgs(dst, m.Opts.Replace, false, keys)...)
		if err != nil {
			return false, err.Error()
		}
		if r.IsError() {
			msg := r.Text()
			busy := strings.Contains(msg, "BUSYKEY")
			notServed := false
			if !busy {
				served, err := m.slotServed(src, s)
				if err != nil {
					m.printReplyError(src, err.Error())
				} else {
					notServed = !served
				}
			}
			ok := false
			if busy || notServed {
				if fix && notServed {
					m.logWarn("*** Slot was not served, setting owner to node %s.\n", dst.Name())
					m.setSlot(src, dst, s, "node")
				}
				if busy {
					m.logWarn("\n*** Target key exists\n")
					if !m.Opts.Replace {
						m.logWarn("*** Checking key values on both nodes...\n")
						diffs, err := m.compareKeyValues(src, dst, keys)
						if err != nil {
							m.logErr("*** Value check failed!\n")
							return false, err.Error()
						}
						if len(diffs) > 0 {
							m.logErr("*** Found %d key(s) in both source node and target node having different values.\n    Source node: %s\n    Target node: %s\n    Keys(s):\n", len(diffs), src.Name(), dst.Name())
							for _, k := range diffs {
								m.logErr("    - %s\n", k)
							}
							m.logErr("Please fix the above key(s) manually and try again or relaunch the command \nwith --cluster-replace option to force key overriding.\n")
							return false, ""
						}
					}
					m.logWarn("*** Replacing target keys...\n")
				}
				r, err = src.Do(m.migrateArgs(dst, busy || m.Opts.Replace, false, keys)...)
				ok = err == nil && !r.IsError()
			}
			if !ok {
				if err != nil {
					return false, err.Error()
				}
				m.printf("\n")
				m.printReplyError(src, r.Text())
				return false, r.Text()
			}
		}
		if verbose {
			m.printf("%s", strings.Repeat(".", len(keys)))
		}
	}
}

// moveSlot is clusterManagerMoveSlot: redis-cli's one-slot protocol.
func (m *Manager) moveSlot(src, dst *Node, s int, opts int) (bool, string) {
	if opts&optQuiet == 0 {
		m.printf("Moving slot %d from %s to %s: ", s, src.Name(), dst.Name())
	}
	cold := opts&optCold != 0
	if !cold {
		if err := m.setSlot(dst, src, s, "importing"); err != nil {
			return false, err.Error()
		}
		if err := m.setSlot(src, dst, s, "migrating"); err != nil {
			return false, err.Error()
		}
	}
	ok, errText := m.migrateKeysInSlot(src, dst, s, opts&optVerbose != 0, m.fixing)
	if opts&optQuiet == 0 {
		m.printf("\n")
	}
	if !ok {
		return false, errText
	}
	if !cold {
		// Target first: it bumps its epoch and wins the slot; then the
		// source, which may have just turned into a replica of the target.
		if v, err := dst.Do("CLUSTER", "SETSLOT", strconv.Itoa(s), "node", dst.ID); err != nil || v.IsError() {
			return false, replyText(v, err)
		}
		if v, err := src.Do("CLUSTER", "SETSLOT", strconv.Itoa(s), "node", dst.ID); err != nil || (v.IsError() && !strings.Contains(v.Text(), "Please use SETSLOT only with masters")) {
			return false, replyText(v, err)
		}
		for _, n := range m.masters() {
			if n == src || n == dst {
				continue
			}
			// A master emptied by an earlier move may be a replica by now.
			if v, err := n.Do("CLUSTER", "SETSLOT", strconv.Itoa(s), "node", dst.ID); err != nil || (v.IsError() && !strings.Contains(v.Text(), "Please use SETSLOT only with masters")) {
				return false, replyText(v, err)
			}
		}
	}
	if opts&optUpdate != 0 {
		m.setOwner(s, src, dst)
	}
	return true, ""
}

// setOwner updates the in-memory tables after s moved from src to dst.
func (m *Manager) setOwner(s int, src, dst *Node) {
	if src != nil && src.Slots[s] {
		src.Slots[s] = false
		src.SlotsCount--
	}
	if !dst.Slots[s] {
		dst.Slots[s] = true
		dst.SlotsCount++
	}
	if src != nil {
		delete(src.Migrating, s)
	}
	delete(dst.Importing, s)
}

func replyText(v resp.Value, err error) string {
	if err != nil {
		return err.Error()
	}
	return v.Text()
}

var _ = fmt.Sprintf
