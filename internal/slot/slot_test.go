package slot

import "testing"

func TestKeySlotMatchesRedis(t *testing.T) {
	// Values captured from CLUSTER KEYSLOT on Redis 7.0.15.
	cases := map[string]int{
		"123456789":            12739,
		"foo":                  12182,
		"{user1000}.following": 3443,
		"foo{}bar":             14292,
		"foo{{bar}}zap":        4015,
		"":                     0,
		"a":                    15495,
		"b":                    3300,
		"c":                    7365,
		"x":                    16287,
	}
	for k, want := range cases {
		if got := OfString(k); got != want {
			t.Errorf("slot(%q) = %d, want %d", k, got, want)
		}
	}
	if CRC16([]byte("123456789")) != 0x31C3 {
		t.Fatalf("CRC16 check value wrong")
	}
}

func TestSetRanges(t *testing.T) {
	var s Set
	for i := 0; i <= 5460; i++ {
		s.Add(i)
	}
	s.Add(5462)
	s.Add(16383)
	if got := string(s.AppendRanges(nil)); got != "0-5460 5462 16383" {
		t.Fatalf("ranges = %q", got)
	}
	if s.Len() != 5463 {
		t.Fatalf("len = %d", s.Len())
	}
	s.Remove(5462)
	if s.Has(5462) || !s.Has(0) {
		t.Fatal("remove/has wrong")
	}
}
