package latency

import (
	"fmt"
	"strconv"
	"strings"
)

// graphColumns is the width of LATENCY GRAPH's sparkline.
const graphColumns = 80

// Graph returns LATENCY GRAPH's text for event at Unix second now, and
// whether the event has a series.
func (m *Monitor) Graph(event string, now int64) (string, bool) {
	m.mu.Lock()
	ts := m.events[event]
	var samples []Sample
	var allTimeHigh int64
	if ts != nil {
		samples, allTimeHigh = ts.inOrder(), ts.max
	}
	m.mu.Unlock()
	if ts == nil {
		return "", false
	}
	values := make([]float64, len(samples))
	labels := make([]string, len(samples))
	var lo, hi int64
	for i, s := range samples {
		if i == 0 {
			lo, hi = s.Latency, s.Latency
		} else {
			lo, hi = min(lo, s.Latency), max(hi, s.Latency)
		}
		values[i] = float64(s.Latency)
		labels[i] = ago(now - s.Time)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s - high %d ms, low %d ms (all time high %d ms)\n", event, hi, lo, allTimeHigh)
	b.WriteString(strings.Repeat("-", graphColumns))
	b.WriteByte('\n')
	sparkline(&b, values, labels, graphColumns, 4)
	return b.String(), true
}

// ago labels a sample with how long ago it was taken: seconds, minutes,
// hours or days.
func ago(elapsed int64) string {
	switch {
	case elapsed < 60:
		return strconv.FormatInt(elapsed, 10) + "s"
	case elapsed < 3600:
		return strconv.FormatInt(elapsed/60, 10) + "m"
	case elapsed < 3600*24:
		return strconv.FormatInt(elapsed/3600, 10) + "h"
	default:
		return strconv.FormatInt(elapsed/(3600*24), 10) + "d"
	}
}

// sparkline draws values as Redis's filled ASCII sparkline: rows lines of
// bars, each line worth three steps ('_', 'o', '#', and '|' below the top),
// then, after a blank line, each sample's label written vertically under
// it. More samples than columns wrap into further blocks, separated by an
// empty line.
func sparkline(b *strings.Builder, values []float64, labels []string, columns, rows int) {
	if len(values) == 0 {
		return
	}
	lo, hi := values[0], values[0]
	for _, v := range values[1:] {
		// Redis updates the minimum or else the maximum: a value can only
		// be one of them, as it is compared to the minimum first.
		if v < lo {
			lo = v
		} else if v > hi {
			hi = v
		}
	}
	withLabels := false
	for _, l := range labels {
		withLabels = withLabels || l != ""
	}
	for from := 0; from < len(values); from += columns {
		if from != 0 {
			b.WriteByte('\n')
		}
		to := min(from+columns, len(values))
		sparklineRange(b, values[from:to], labels[from:to], lo, hi, rows, withLabels)
	}
}

const fillChars = "_o#"

func sparklineRange(b *strings.Builder, values []float64, labels []string, lo, hi float64, rows int, withLabels bool) {
	relMax := hi - lo
	if relMax == 0 {
		relMax = 1
	}
	steps := len(fillChars) * rows
	line := make([]byte, len(values))
	for row := 0; ; row++ {
		more := false
		for j := range line {
			line[j] = ' '
		}
		if row < rows {
			more = true
			for j, v := range values {
				// Truncated twice, as Redis's (int)(relval*steps)/relmax.
				step := int(float64(int(float64(v-lo)*float64(steps))) / relMax)
				step = max(0, min(step, steps-1))
				idx := step - (rows-row-1)*len(fillChars)
				if idx >= 0 && idx < len(fillChars) {
					line[j] = fillChars[idx]
				} else if idx >= len(fillChars) {
					line[j] = '|'
				}
			}
		} else if withLabels && row == rows {
			more = true // the blank line between the bars and the labels
		} else if withLabels {
			k := row - rows - 1 // the labels' k-th characters
			for j, l := range labels {
				if k < len(l) {
					line[j] = l[k]
					more = true
				}
			}
		}
		if !more {
			return
		}
		b.Write(line)
		b.WriteByte('\n')
	}
}
