package geo

import (
	"math"
	"testing"
)

// FuzzGeo feeds arbitrary doubles to the decoder and the search geometry:
// a score of any value decodes to a position within the indexable limits,
// a position that encodes decodes back into its own cell, and computing a
// search's boxes and testing a point never panics.
func FuzzGeo(f *testing.F) {
	f.Add(13.361389, 38.115556, 200.0, 10.0, 10.0, 3479099956230698.0)
	f.Add(-180.0, -85.05112878, 0.0, 0.0, 0.0, -5.0)
	f.Add(179.99, 84.9, 1e7, 1e9, 1e-9, math.Inf(1))
	f.Add(0.0, 0.0, math.Inf(1), math.Inf(1), 0.0, math.NaN())
	f.Fuzz(func(t *testing.T, lon, lat, radius, width, height, score float64) {
		dlon, dlat := Decode(score)
		if !(dlon >= LonMin && dlon <= LonMax && dlat >= LatMin && dlat <= LatMax) {
			t.Fatalf("Decode(%v) = %v, %v: outside the limits", score, dlon, dlat)
		}
		_ = String(score)
		h, ok := Encode(lon, lat)
		if !ok {
			return
		}
		back, backLat := Decode(float64(h.Score()))
		// The cell is 360/2^26 degrees of longitude wide and 170/2^26 of
		// latitude high; its centre is within one cell of the position.
		// At longitude 180 the score passes 2^53 and, stored as a double
		// as Redis stores it, loses its last bit: one more cell.
		cells := 1.0
		if h.Score() >= 1<<53 {
			cells = 2
		}
		if math.Abs(back-lon) > cells*360.0/(1<<26) || math.Abs(backLat-lat) > cells*171.0/(1<<26) {
			t.Fatalf("%v,%v encoded to %d decodes to %v,%v", lon, lat, h.Score(), back, backLat)
		}
		for _, s := range []Shape{
			{Lon: lon, Lat: lat, Radius: math.Abs(radius), Conversion: 1},
			{Lon: lon, Lat: lat, Box: true, Width: math.Abs(width), Height: math.Abs(height), Conversion: 1000},
		} {
			for _, b := range s.Boxes() {
				if !b.IsZero() {
					lo, hi := b.ScoreRange()
					if hi < lo {
						t.Fatalf("box %+v: range [%d, %d)", b, lo, hi)
					}
				}
			}
			if d, in := s.Contains(dlon, dlat); in && d < 0 {
				t.Fatalf("negative distance %v", d)
			}
		}
	})
}
