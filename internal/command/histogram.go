package command

import (
	"math/bits"
	"sync/atomic"
)

// Histogram is a per-command latency histogram with the resolution of the
// HdrHistogram Redis uses for INFO latencystats (2 significant digits:
// exact below 256, then 128 buckets per power of two), so that
// percentiles print like Redis's. Recording is lock-free and touches one
// counter: the total, needed only by INFO and LATENCY HISTOGRAM, is summed
// when read rather than kept in a second counter every command would write.
type Histogram struct {
	counts [histBuckets]atomic.Int64
}

const (
	histSubBits = 8
	histBuckets = (64 - histSubBits + 2) << (histSubBits - 1)
)

// histIndex maps a value to its bucket.
func histIndex(v uint64) int {
	if v < 1<<histSubBits {
		return int(v)
	}
	e := bits.Len64(v) - histSubBits
	return e<<(histSubBits-1) + int(v>>e)
}

// histHighest is the largest value of bucket i (hdr's highest equivalent
// value).
func histHighest(i int) uint64 {
	if i < 1<<histSubBits {
		return uint64(i)
	}
	e := i>>(histSubBits-1) - 1
	sub := uint64(i - e<<(histSubBits-1))
	return sub<<e + 1<<e - 1
}

// Record adds one value (nanoseconds).
func (h *Histogram) Record(v uint64) {
	h.counts[histIndex(v)].Add(1)
}

// Total is the number of recorded values.
func (h *Histogram) Total() int64 {
	var n int64
	for i := range h.counts {
		n += h.counts[i].Load()
	}
	return n
}

// ValueAt is hdr_value_at_percentile: the highest equivalent value of the
// bucket where the cumulative count reaches p percent.
func (h *Histogram) ValueAt(p float64) uint64 {
	total := h.Total()
	want := int64(p/100*float64(total) + 0.5)
	if want < 1 {
		want = 1
	}
	var seen int64
	for i := range h.counts {
		seen += h.counts[i].Load()
		if seen >= want {
			return histHighest(i)
		}
	}
	return 0
}

// HistogramOf returns the latency histogram of s, creating it on first
// use (commands never called cost no memory).
func (s *Spec) HistogramOf() *Histogram {
	if h := s.Stats.Latency.Load(); h != nil {
		return h
	}
	s.Stats.Latency.CompareAndSwap(nil, new(Histogram))
	return s.Stats.Latency.Load()
}

// LogCDF is hdr's logarithmic iteration from first (doubling each step)
// as Redis's LATENCY HISTOGRAM uses it: for each reporting level with new
// values, the level's highest equivalent value and the cumulative count of
// values up to it.
func (h *Histogram) LogCDF(first uint64) [][2]uint64 {
	total := h.Total()
	var out [][2]uint64
	var cum, prev int64
	i := 0
	for level := first; cum < total && level != 0; level <<= 1 {
		top := histIndex(level)
		for ; i <= top && i < histBuckets; i++ {
			cum += h.counts[i].Load()
		}
		if cum > prev {
			out = append(out, [2]uint64{histHighest(top), uint64(cum)})
		}
		prev = cum
	}
	return out
}
