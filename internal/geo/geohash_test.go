package geo

import (
	"math"
	"strconv"
	"strings"
	"testing"
)

// human is Redis's "%.17Lf" less trailing zeros, as GEOPOS prints.
func human(f float64) string {
	s := strings.TrimRight(strconv.FormatFloat(f, 'f', 17, 64), "0")
	return strings.TrimSuffix(s, ".")
}

// Vectors captured from redis-server 7.0.15: GEOADD's score, GEOHASH and
// GEOPOS, for positions GEOADD wrote and for scores ZADD wrote.
func TestRedisVectors(t *testing.T) {
	added := []struct {
		lon, lat float64
		score    uint64
	}{
		{13.361389, 38.115556, 3479099956230698},
		{15.087269, 37.502669, 3479447370796909},
		{-180, -85.05112878, 0},
		{180, 85.05112878, 13510798882111488},
		{0, 0, 3377699720527872},
		{-0.1278, 51.5074, 2163557714755072},
	}
	for _, v := range added {
		h, ok := Encode(v.lon, v.lat)
		if !ok || h.Score() != v.score {
			t.Errorf("Encode(%v, %v) = %d %v, want %d", v.lon, v.lat, h.Score(), ok, v.score)
		}
	}
	if _, ok := Encode(0, 85.06); ok {
		t.Error("latitude 85.06 encoded")
	}
	decoded := []struct {
		score    float64
		hash     string
		lon, lat string
	}{
		{3479099956230698, "sqc8b49rny0", "13.36138933897018433", "38.11555639549629859"},
		{3479447370796909, "sqdtr74hyu0", "15.08726745843887329", "37.50266842333162032"},
		{0, "00bh0hbj200", "-179.99999731779098511", "-85.05112751263942528"},
		{13510798882111488, "bp05b5048p0", "180", "85.0511287799999991"},
		{3377699720527872, "s0000000000", "0.00000268220901489", "0.00000126736058093"},
		{2163557714755072, "gcpvj0duq50", "-0.12779921293258667", "51.50740077990133159"},
		// Scores GEOADD never writes decode as C's conversions make them.
		{-5, "bp05b5048p0", "180", "85.0511287799999991"},
		{1e30, "00bh0hbj200", "-179.99999731779098511", "-85.05112751263942528"},
		{math.Inf(1), "00bh0hbj200", "-179.99999731779098511", "-85.05112751263942528"},
		{math.Inf(-1), "00bh0hbj200", "180", "-85.05112751263942528"},
		{3.5, "00bh0hbj210", "-179.99999195337295532", "-85.05112497791824921"},
	}
	for _, v := range decoded {
		if got := String(v.score); got != v.hash {
			t.Errorf("String(%v) = %s, want %s", v.score, got, v.hash)
		}
		lon, lat := Decode(v.score)
		if human(lon) != v.lon || human(lat) != v.lat {
			t.Errorf("Decode(%v) = %s %s, want %s %s", v.score, human(lon), human(lat), v.lon, v.lat)
		}
	}
}

// Distances GEODIST printed on redis-server 7.0.15 ("%.4f" meters).
func TestDistance(t *testing.T) {
	lon1, lat1 := Decode(3479099956230698)
	lon2, lat2 := Decode(3479447370796909)
	if got := strconv.FormatFloat(Distance(lon1, lat1, lon2, lat2), 'f', 4, 64); got != "166274.1516" {
		t.Errorf("Palermo-Catania = %s, want 166274.1516", got)
	}
}

// Every box a search scans is a neighbour of the centre or the centre,
// and the centre's box contains the search's centre.
func TestBoxesCoverCentre(t *testing.T) {
	for _, s := range []Shape{
		{Lon: 15, Lat: 37, Radius: 200, Conversion: 1000},
		{Lon: -179.9, Lat: 84, Radius: 5000, Conversion: 1000},
		{Lon: 0, Lat: 0, Box: true, Width: 10, Height: 3, Conversion: 1},
		{Lon: 10, Lat: -70, Radius: 0, Conversion: 1},
	} {
		boxes := s.Boxes()
		c := boxes[0]
		lo, hi := c.ScoreRange()
		h, _ := Encode(s.Lon, s.Lat)
		if sc := h.Score(); sc < lo || sc >= hi {
			t.Errorf("%+v: centre score %d outside [%d, %d)", s, sc, lo, hi)
		}
		for i, b := range boxes[1:] {
			if !b.IsZero() && b.Step != c.Step {
				t.Errorf("%+v: box %d step %d, centre %d", s, i+1, b.Step, c.Step)
			}
		}
	}
}
