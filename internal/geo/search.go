package geo

import "math"

const (
	// EarthRadius is the Earth's quadratic mean radius for WGS-84, in
	// meters: the sphere every distance is measured on.
	EarthRadius = 6372797.560856
	mercatorMax = 20037726.37
)

// degToRad is C's M_PI/180.0, folded in double precision (not Go's exact
// constant arithmetic, which can round differently).
var degToRad = func() float64 { pi := math.Pi; return pi / 180.0 }()

func radians(deg float64) float64 { return deg * degToRad }
func degrees(rad float64) float64 { return rad / degToRad }

// Distance is the haversine great-circle distance in meters between two
// positions, as Redis computes it (geohashGetDistance): the same formula
// in the same order of operations (the explicit conversions keep the
// compiler from fusing a multiply and an add, which C on a baseline x86-64
// does not do either), with the C library's correctly rounded sin, cos and
// asin (libm.go).
func Distance(lon1, lat1, lon2, lat2 float64) float64 {
	return haversine(lon1, lat1, lon2, lat2, cSin, cCos, cAsin)
}

// roughDistance is Distance with Go's math functions: within a few ulps
// of it, and five to ten times cheaper, to rule out the points that are
// clearly outside a search.
func roughDistance(lon1, lat1, lon2, lat2 float64) float64 {
	return haversine(lon1, lat1, lon2, lat2, math.Sin, math.Cos, math.Asin)
}

func haversine(lon1, lat1, lon2, lat2 float64, sin, cos, asin func(float64) float64) float64 {
	lat1r, lon1r := radians(lat1), radians(lon1)
	lat2r, lon2r := radians(lat2), radians(lon2)
	u := sin((lat2r - lat1r) / 2)
	v := sin((lon2r - lon1r) / 2)
	a := float64(u*u) + float64(float64(float64(cos(lat1r)*cos(lat2r))*v)*v)
	return 2.0 * EarthRadius * asin(math.Sqrt(a))
}

// clearlyBeyond reports whether a rough distance is beyond limit by more
// than the rough computation's error can explain.
func clearlyBeyond(rough, limit float64) bool {
	return rough > limit*(1+1e-12)+1e-9
}

// Shape is the area of a search: a circle of Radius, or a box of Width by
// Height, centred on (Lon, Lat). Sizes are in the unit whose length in
// meters is Conversion.
type Shape struct {
	Lon, Lat      float64
	Box           bool
	Radius        float64
	Width, Height float64
	Conversion    float64
}

// Contains reports whether the position is inside the shape, and its
// distance in meters from the centre (geoAppendIfWithinShape).
func (s *Shape) Contains(lon, lat float64) (dist float64, ok bool) {
	if !s.Box {
		limit := s.Radius * s.Conversion
		if clearlyBeyond(roughDistance(s.Lon, s.Lat, lon, lat), limit) {
			return 0, false
		}
		dist = Distance(s.Lon, s.Lat, lon, lat)
		return dist, dist <= limit
	}
	halfWidth, halfHeight := s.Width*s.Conversion/2, s.Height*s.Conversion/2
	if beyond(lon, lat, s.Lon, lat, halfWidth) || beyond(lon, lat, lon, s.Lat, halfHeight) {
		return 0, false
	}
	return Distance(s.Lon, s.Lat, lon, lat), true
}

// beyond reports whether Distance(lon1, lat1, lon2, lat2) > limit,
// computing it exactly only when the rough distance is near the limit.
func beyond(lon1, lat1, lon2, lat2, limit float64) bool {
	rough := roughDistance(lon1, lat1, lon2, lat2)
	if rough < limit*(1-1e-12)-1e-9 {
		return false
	}
	if clearlyBeyond(rough, limit) {
		return true
	}
	return Distance(lon1, lat1, lon2, lat2) > limit
}

// estimateStep is geohashEstimateStepsByRadius: the precision whose boxes
// are about as large as the radius.
func estimateStep(meters, lat float64) uint8 {
	if meters == 0 {
		return 26
	}
	step := 1
	for meters < mercatorMax {
		meters *= 2
		step++
	}
	step -= 2 // make sure the range is covered in most cases
	// Boxes narrow towards the poles.
	if lat > 66 || lat < -66 {
		step--
		if lat > 80 || lat < -80 {
			step--
		}
	}
	return uint8(min(max(step, 1), 26))
}

// bounds is geohashBoundingBox: the longitude and latitude limits of the
// shape (min lon, min lat, max lon, max lat).
func (s *Shape) bounds() (minLon, minLat, maxLon, maxLat float64) {
	halfHeight, halfWidth := s.Radius, s.Radius
	if s.Box {
		halfHeight, halfWidth = s.Height/2, s.Width/2
	}
	height := s.Conversion * halfHeight
	width := s.Conversion * halfWidth
	latDelta := degrees(height / EarthRadius)
	lonDeltaTop := degrees(width / EarthRadius / cCos(radians(s.Lat+latDelta)))
	lonDeltaBottom := degrees(width / EarthRadius / cCos(radians(s.Lat-latDelta)))
	// The box is widest on the side nearer the equator.
	lonDelta := lonDeltaTop
	if s.Lat < 0 {
		lonDelta = lonDeltaBottom
	}
	return s.Lon - lonDelta, s.Lat - latDelta, s.Lon + lonDelta, s.Lat + latDelta
}

// Boxes returns the hashes whose score ranges a search scans, in Redis's
// order (centre, N, S, E, W, NE, NW, SE, SW), with the zero Hash for the
// neighbours it leaves out (geohashCalculateAreasByShapeWGS84).
func (s *Shape) Boxes() [9]Hash {
	minLon, minLat, maxLon, maxLat := s.bounds()
	meters := s.Radius
	if s.Box {
		meters = math.Sqrt(float64(s.Width/2*(s.Width/2)) + float64(s.Height/2*(s.Height/2)))
	}
	meters *= s.Conversion

	step := estimateStep(meters, s.Lat)
	centre, _ := encode(mercatorLon, mercatorLat, s.Lon, s.Lat, step)
	// At the edge of a box the estimated step can be too fine for one of
	// the four direct neighbours to reach past the shape: go one coarser.
	north := decode(mercatorLon, mercatorLat, centre.moved(0, 1))
	south := decode(mercatorLon, mercatorLat, centre.moved(0, -1))
	east := decode(mercatorLon, mercatorLat, centre.moved(1, 0))
	west := decode(mercatorLon, mercatorLat, centre.moved(-1, 0))
	if step > 1 && (north.lat.max < maxLat || south.lat.min > minLat || east.lon.max < maxLon || west.lon.min > minLon) {
		step--
		centre, _ = encode(mercatorLon, mercatorLat, s.Lon, s.Lat, step)
	}
	boxes := [9]Hash{
		centre,
		centre.moved(0, 1),   // north
		centre.moved(0, -1),  // south
		centre.moved(1, 0),   // east
		centre.moved(-1, 0),  // west
		centre.moved(1, 1),   // north-east
		centre.moved(-1, 1),  // north-west
		centre.moved(1, -1),  // south-east
		centre.moved(-1, -1), // south-west
	}
	// Leave out the neighbours on a side the centre box already covers.
	if step >= 2 {
		a := decode(mercatorLon, mercatorLat, centre)
		const n, so, e, w, ne, nw, se, sw = 1, 2, 3, 4, 5, 6, 7, 8
		drop := func(idx ...int) {
			for _, i := range idx {
				boxes[i] = Hash{}
			}
		}
		if a.lat.min < minLat {
			drop(so, sw, se)
		}
		if a.lat.max > maxLat {
			drop(n, ne, nw)
		}
		if a.lon.min < minLon {
			drop(w, sw, nw)
		}
		if a.lon.max > maxLon {
			drop(e, se, ne)
		}
	}
	return boxes
}

// ScoreRange is the range [min, max) of the scores of the positions inside
// a box (scoresOfGeoHashBox).
func (h Hash) ScoreRange() (lo, hi uint64) {
	lo = h.Score()
	h.Bits++
	return lo, h.Score()
}
