package latency

import (
	"strings"
	"sync"
	"time"
)

// SeriesLen is how many samples an event keeps (Redis's LATENCY_TS_LEN).
const SeriesLen = 160

// Sample is one spike: when (Unix seconds) and how long (milliseconds).
type Sample struct {
	Time    int64
	Latency int64
}

type series struct {
	next    int // where the next sample goes
	max     int64
	samples [SeriesLen]Sample // a ring; Time 0 marks an unused place
}

// Monitor holds the time series of every event that had a spike. It is
// safe for concurrent use: spikes come from every event loop.
type Monitor struct {
	mu     sync.Mutex
	order  []string // event names in order of first spike
	events map[string]*series
}

// NewMonitor returns an empty monitor.
func NewMonitor() *Monitor { return &Monitor{events: map[string]*series{}} }

// AddIfNeeded records a spike of ms milliseconds for event when the monitor
// is enabled (threshold > 0, in milliseconds) and ms reaches the threshold,
// as Redis's latencyAddSampleIfNeeded.
func (m *Monitor) AddIfNeeded(threshold int64, event string, ms int64) {
	if threshold > 0 && ms >= threshold {
		m.Add(event, ms, time.Now().Unix())
	}
}

// Add records a spike of ms milliseconds at Unix second now. Spikes in the
// same second keep the worst one.
func (m *Monitor) Add(event string, ms, now int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	ts := m.events[event]
	if ts == nil {
		ts = &series{}
		m.events[event] = ts
		m.order = append(m.order, event)
	}
	ts.max = max(ts.max, ms)
	prev := &ts.samples[(ts.next+SeriesLen-1)%SeriesLen]
	if prev.Time == now {
		prev.Latency = max(prev.Latency, ms)
		return
	}
	ts.samples[ts.next] = Sample{Time: now, Latency: ms}
	ts.next = (ts.next + 1) % SeriesLen
}

// Reset drops the series of event (compared without case, as Redis does)
// and returns how many it dropped.
func (m *Monitor) Reset(event string) int {
	return m.drop(func(name string) bool { return strings.EqualFold(name, event) })
}

// ResetAll drops every series and returns how many there were.
func (m *Monitor) ResetAll() int {
	return m.drop(func(string) bool { return true })
}

func (m *Monitor) drop(match func(name string) bool) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	kept := m.order[:0]
	for _, name := range m.order {
		if match(name) {
			delete(m.events, name)
			n++
			continue
		}
		kept = append(kept, name)
	}
	clear(m.order[len(kept):])
	m.order = kept
	return n
}

// Latest is LATENCY LATEST's entry for one event.
type Latest struct {
	Event   string
	Time    int64 // of the latest spike
	Latency int64 // of the latest spike
	Max     int64 // the worst spike since the event's last reset
}

// Latest returns the latest spike of every event.
func (m *Monitor) Latest() []Latest {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]Latest, 0, len(m.order))
	for _, name := range m.order {
		ts := m.events[name]
		last := ts.samples[(ts.next+SeriesLen-1)%SeriesLen]
		out = append(out, Latest{Event: name, Time: last.Time, Latency: last.Latency, Max: ts.max})
	}
	return out
}

// History returns event's samples, oldest first, and whether the event has
// a series at all (its name is compared exactly, as Redis does).
func (m *Monitor) History(event string) ([]Sample, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	ts := m.events[event]
	if ts == nil {
		return nil, false
	}
	return ts.inOrder(), true
}

// inOrder returns the used samples, oldest first.
func (ts *series) inOrder() []Sample {
	var out []Sample
	for j := 0; j < SeriesLen; j++ {
		if s := ts.samples[(ts.next+j)%SeriesLen]; s.Time != 0 {
			out = append(out, s)
		}
	}
	return out
}

// stats are the figures DOCTOR gives for one event (Redis's latencyStats).
type stats struct {
	samples       int
	avg, mad      int64 // milliseconds, integer division as Redis's
	period        int64 // seconds from the oldest sample to now, 1 for 0
	allTimeHigh   int64
	minMs, highMs int64
}

func (ts *series) analyze(now int64) stats {
	st := stats{allTimeHigh: ts.max}
	var sum, oldest int64
	for _, s := range ts.samples {
		if s.Time == 0 {
			continue
		}
		st.samples++
		if st.samples == 1 {
			st.minMs, st.highMs = s.Latency, s.Latency
		} else {
			st.minMs, st.highMs = min(st.minMs, s.Latency), max(st.highMs, s.Latency)
		}
		sum += s.Latency
		if oldest == 0 || s.Time < oldest {
			oldest = s.Time
		}
	}
	if st.samples == 0 {
		return st
	}
	st.avg = sum / int64(st.samples)
	if st.period = now - oldest; st.period == 0 {
		st.period = 1
	}
	var dev int64
	for _, s := range ts.samples {
		if s.Time != 0 {
			d := st.avg - s.Latency
			if d < 0 {
				d = -d
			}
			dev += d
		}
	}
	st.mad = dev / int64(st.samples)
	return st
}
