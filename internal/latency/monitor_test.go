package latency

import (
	"strings"
	"testing"
)

func TestSeries(t *testing.T) {
	m := NewMonitor()
	m.Add("command", 10, 100)
	m.Add("command", 30, 100) // same second: the worst is kept
	m.Add("command", 20, 100)
	m.Add("fast-command", 5, 101)
	m.Add("command", 7, 102)
	h, ok := m.History("command")
	if !ok || len(h) != 2 || h[0] != (Sample{100, 30}) || h[1] != (Sample{102, 7}) {
		t.Fatalf("history %v %v", h, ok)
	}
	if _, ok := m.History("COMMAND"); ok {
		t.Error("HISTORY matched a name in another case")
	}
	l := m.Latest()
	if len(l) != 2 || l[0] != (Latest{"command", 102, 7, 30}) || l[1] != (Latest{"fast-command", 101, 5, 5}) {
		t.Fatalf("latest %v", l)
	}
	// The ring keeps the newest SeriesLen seconds.
	for i := int64(0); i < SeriesLen+5; i++ {
		m.Add("expire-cycle", i+1, 1000+i)
	}
	h, _ = m.History("expire-cycle")
	if len(h) != SeriesLen || h[0].Time != 1005 || h[SeriesLen-1].Time != 1000+SeriesLen+4 {
		t.Fatalf("ring: %d samples, %v .. %v", len(h), h[0], h[len(h)-1])
	}
	if n := m.Reset("COMMAND"); n != 1 {
		t.Errorf("Reset = %d", n)
	}
	if n := m.Reset("nosuch"); n != 0 {
		t.Errorf("Reset(nosuch) = %d", n)
	}
	if l := m.Latest(); len(l) != 2 || l[0].Event != "fast-command" || l[1].Event != "expire-cycle" {
		t.Errorf("after reset: %v", l)
	}
	if n := m.ResetAll(); n != 2 || len(m.Latest()) != 0 {
		t.Errorf("ResetAll = %d, left %v", n, m.Latest())
	}
	m.AddIfNeeded(0, "command", 1000) // monitor disabled
	m.AddIfNeeded(50, "command", 49)  // under the threshold
	if l := m.Latest(); len(l) != 0 {
		t.Errorf("recorded %v", l)
	}
}

func TestGraph(t *testing.T) {
	m := NewMonitor()
	if _, ok := m.Graph("command", 0); ok {
		t.Fatal("graph of no samples")
	}
	// Redis 7.0.15 drew this for spikes of 120 ms and 200 ms taken 1 s
	// and 0 s before.
	m.Add("command", 120, 999)
	m.Add("command", 200, 1000)
	got, _ := m.Graph("command", 1000)
	want := "command - high 200 ms, low 120 ms (all time high 200 ms)\n" +
		strings.Repeat("-", 80) + "\n" +
		" #\n |\n |\n_|\n  \n10\nss\n"
	if got != want {
		t.Errorf("graph\n%s\nwant\n%s", got, want)
	}
	// Three levels: each row is three steps, '|' fills below the top.
	m.ResetAll()
	m.Add("x", 0, 1)
	m.Add("x", 50, 2)
	m.Add("x", 100, 3*3600+2)
	got, _ = m.Graph("x", 3*3600+2)
	want = "x - high 100 ms, low 0 ms (all time high 100 ms)\n" + strings.Repeat("-", 80) + "\n" +
		"  #\n _|\n ||\n_||\n   \n330\nhhs\n"
	if got != want {
		t.Errorf("graph\n%s\nwant\n%s", got, want)
	}
}

func TestGraphWraps(t *testing.T) {
	var b strings.Builder
	values := make([]float64, 85)
	labels := make([]string, 85)
	sparkline(&b, values, labels, 80, 4)
	lines := strings.Split(b.String(), "\n")
	// Two blocks of four rows, no label rows, an empty line between.
	if len(lines) != 10 || len(lines[0]) != 80 || lines[4] != "" || len(lines[5]) != 5 || lines[8] != "_____" {
		t.Fatalf("%q", lines)
	}
}

func TestDoctor(t *testing.T) {
	m := NewMonitor()
	cfg := DoctorConfig{Threshold: 0, SlowlogLogSlowerThan: 10000, Hz: 10}
	if got := m.Doctor(cfg, 0); !strings.HasPrefix(got, "I'm sorry, Dave, I can't do that.") {
		t.Errorf("disabled: %q", got)
	}
	cfg.Threshold = 50
	if got := m.Doctor(cfg, 0); !strings.HasPrefix(got, "Dave, no latency spike was observed") {
		t.Errorf("nothing seen: %q", got)
	}
	m.Add("command", 120, 100)
	m.Add("command", 200, 101)
	m.Add("expire-cycle", 60, 101)
	got := m.Doctor(cfg, 102)
	for _, want := range []string{
		"1. command: 2 latency spikes (average 160ms, mean deviation 40ms, period 1.00 sec). Worst all time event 200ms.\n",
		"2. expire-cycle: 1 latency spikes (average 60ms, mean deviation 0ms, period 1.00 sec). Worst all time event 60ms.\n",
		"\nI have a few advices for you:\n\n- Check your Slow Log",
		"try to set the 'hz' configuration parameter to 100",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("report lacks %q:\n%s", want, got)
		}
	}
	if strings.Count(got, "- Deleting, expiring or evicting") != 1 {
		t.Errorf("advice given twice:\n%s", got)
	}
	cfg.Hz = 100
	if got := m.Doctor(cfg, 102); strings.Contains(got, "'hz'") {
		t.Errorf("hz advice at hz 100:\n%s", got)
	}
	m.ResetAll()
	m.Add("aof-fsync-always", 60, 101) // advice counted but moot under everysec
	if got := m.Doctor(cfg, 102); !strings.HasSuffix(got, "I have a few advices for you:\n\n") {
		t.Errorf("moot advice:\n%s", got)
	}
	m.ResetAll()
	m.Add("while-blocked-cron", 60, 101)
	if got := m.Doctor(cfg, 102); !strings.Contains(got, "I'm not able to suggest any easy fix") {
		t.Errorf("no advice:\n%s", got)
	}
}
