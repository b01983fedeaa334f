package state

import "testing"

func TestSnapshot(t *testing.T) {
	m := fresh(t)
	other := m.newNode(NodeID{}, 0)
	copy(other.id[:], "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb")
	other.flags = 0x001 // master
	other.ip, other.port = "10.0.0.2", 7001
	m.addNode(other)
	do(m, "ADDSLOTSRANGE", "0", "99")
	m.addSlot(other, 200)
	do(m, "SETSLOT", "5", "MIGRATING", other.id.String())
	do(m, "SETSLOT", "300", "IMPORTING", other.id.String())
	s := m.Snapshot()
	if !s.Mine(5) || s.Mine(200) || s.Owner(100) != nil || s.IsReplica() || s.MasterServes(200) {
		t.Fatal("ownership")
	}
	if o := s.Owner(200); o == nil || o.Addr() != "10.0.0.2:7001" || o.ID != other.id {
		t.Fatalf("owner of 200: %+v", o)
	}
	if mt := s.MigratingTo(5); mt == nil || mt.ID != other.id || s.MigratingTo(6) != nil {
		t.Fatal("migrating")
	}
	if im := s.ImportingFrom(300); im == nil || im.ID != other.id || s.ImportingFrom(5) != nil {
		t.Fatal("importing")
	}
	v := m.Version()
	if m.Snapshot().Version != v {
		t.Fatal("version")
	}
	do(m, "SETSLOT", "5", "STABLE")
	if m.Version() == v || m.Snapshot().MigratingTo(5) != nil {
		t.Fatal("SETSLOT STABLE did not change the snapshot")
	}
	// Replica view: my master's slots.
	do(m, "FLUSHSLOTS")
	do(m, "SETSLOT", "300", "STABLE")
	if r := do(m, "REPLICATE", other.id.String()); r != Status("OK") {
		t.Fatalf("replicate: %#v", r)
	}
	s = m.Snapshot()
	if !s.IsReplica() || !s.MasterServes(200) || s.MasterServes(0) {
		t.Fatal("replica view")
	}
	cfg := m.Config()
	cfg.PreferredEndpoint = "unknown-endpoint"
	m.SetConfig(cfg)
	if a := m.Snapshot().Owner(200).Addr(); a != ":7001" {
		t.Fatalf("unknown-endpoint addr %q", a)
	}
	cfg.PreferredEndpoint = "hostname"
	m.SetConfig(cfg)
	if a := m.Snapshot().Owner(200).Addr(); a != "?:7001" {
		t.Fatalf("hostname addr %q", a)
	}
	sl := m.Slots()
	if len(sl) != 1 || sl[0].Start != 200 || sl[0].End != 200 || sl[0].Nodes[0].Endpoint != "?" || sl[0].Nodes[0].Extra[0] != (KV{"ip", "10.0.0.2"}) {
		t.Fatalf("SLOTS %+v", sl)
	}
}
