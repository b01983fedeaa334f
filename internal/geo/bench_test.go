package geo

import "testing"

var sink float64

func BenchmarkDistance(b *testing.B) {
	for i := 0; i < b.N; i++ {
		sink += Distance(13.361389, 38.115556, 15.087269, 37.502669+float64(i&7)*1e-3)
	}
}

func BenchmarkCSin(b *testing.B) {
	for i := 0; i < b.N; i++ {
		sink += cSin(0.7 + float64(i&7)*1e-3)
	}
}
