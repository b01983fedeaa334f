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

// crc16Bytewise is the textbook one-byte-at-a-time CRC-16/XMODEM, the
// reference for the sliced CRC16.
func crc16Bytewise(b []byte) uint16 {
	var crc uint16
	for _, c := range b {
		crc ^= uint16(c) << 8
		for j := 0; j < 8; j++ {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
	}
	return crc
}

// hashPartBytewise is HashPart by its definition, the reference for the
// IndexByte version.
func hashPartBytewise(key []byte) []byte {
	for i, c := range key {
		if c == '{' {
			for j := i + 1; j < len(key); j++ {
				if key[j] == '}' {
					if j == i+1 {
						return key
					}
					return key[i+1 : j]
				}
			}
			return key
		}
	}
	return key
}

func FuzzSlot(f *testing.F) {
	for _, s := range []string{"", "a", "123456789", "key:000000012345", "{user1000}.following", "foo{}bar", "{", "}{a}", "0123456789abcdefghij{x}"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, key []byte) {
		if got, want := CRC16(key), crc16Bytewise(key); got != want {
			t.Fatalf("CRC16(%q) = %#x, want %#x", key, got, want)
		}
		if got, want := HashPart(key), hashPartBytewise(key); string(got) != string(want) {
			t.Fatalf("HashPart(%q) = %q, want %q", key, got, want)
		}
	})
}

func BenchmarkOf(b *testing.B) {
	key := []byte("counter:000000012345")
	for i := 0; i < b.N; i++ {
		Of(key)
	}
}
