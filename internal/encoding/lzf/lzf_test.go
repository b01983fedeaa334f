package lzf

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/reefkv/reef/internal/encoding/crc64"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Blobs taken from DUMP replies of Redis 7.0.15 (testdata/rdb/dump).
func TestRedisVectors(t *testing.T) {
	cases := []struct {
		name string
		in   []byte
		out  string
	}{
		// 21 x "a": position 0 is never referenced and the match length
		// overshoots the bound (spec §3.2).
		{"str_lzf_min", bytes.Repeat([]byte("a"), 21), "016161e00a00"},
		{"str_lzf", bytes.Repeat([]byte("abcdefghij"), 30), "0a6162636465666768696a61e0ff09e10e0d01696a"},
		{"list_plain", bytes.Repeat([]byte("x"), 200), "017878e0bb00017878"},
	}
	for _, c := range cases {
		got, ok := Compress(nil, c.in, len(c.in)-4)
		if !ok || hex.EncodeToString(got) != c.out {
			t.Errorf("%s: Compress = %x, %v; want %s", c.name, got, ok, c.out)
		}
		back, err := Decompress(nil, unhex(t, c.out), len(c.in))
		if err != nil || !bytes.Equal(back, c.in) {
			t.Errorf("%s: Decompress = %q, %v", c.name, back, err)
		}
	}
}

func TestCompressAppendsAndRefuses(t *testing.T) {
	in := bytes.Repeat([]byte("abc"), 20)
	got, ok := Compress([]byte("prefix"), in, len(in))
	if !ok || !bytes.HasPrefix(got, []byte("prefix")) {
		t.Fatalf("Compress did not append: %q %v", got, ok)
	}
	back, err := Decompress([]byte("xy"), got[6:], len(in))
	if err != nil || string(back[:2]) != "xy" || !bytes.Equal(back[2:], in) {
		t.Fatalf("Decompress did not append: %q %v", back, err)
	}
	// Incompressible input under Redis's limit of n-4 is refused and dst
	// comes back unchanged.
	r := rand.New(rand.NewPCG(7, 7))
	noise := make([]byte, 500)
	for i := range noise {
		noise[i] = byte(r.Uint32())
	}
	dst := []byte("keep")
	got, ok = Compress(dst, noise, len(noise)-4)
	if ok || string(got) != "keep" {
		t.Fatalf("noise compressed: ok=%v got=%q", ok, got)
	}
	for _, in := range [][]byte{nil, {1}, {1, 2}} {
		if _, ok := Compress(nil, in, 100); ok {
			t.Fatalf("Compress(%v) succeeded; Redis never compresses fewer than 3 bytes", in)
		}
	}
}

func TestDecompressRejects(t *testing.T) {
	cases := []struct {
		name   string
		src    string
		outLen int
		err    error
	}{
		{"empty stream, nonzero length", "", 1, ErrTooLarge},
		{"negative length", "00", -1, ErrTooLarge},
		{"length beyond any expansion", "016161e0ff00", 6*MaxExpansion + 1, ErrTooLarge},
		{"literal runs past input", "0461", 5, ErrCorrupt},
		{"literal longer than declared", "0361626364", 3, ErrCorrupt},
		{"reference before output start", "0061200a", 4, ErrCorrupt},
		{"reference at very start", "2000", 3, ErrCorrupt},
		{"truncated long reference", "0061e0", 10, ErrCorrupt},
		{"truncated reference offset", "006120", 4, ErrCorrupt},
		{"reference longer than declared", "016161e00a00", 20, ErrCorrupt},
		{"short output", "016161", 3, ErrCorrupt},
	}
	for _, c := range cases {
		_, err := Decompress(nil, unhex(t, c.src), c.outLen)
		if err != c.err {
			t.Errorf("%s: err = %v, want %v", c.name, err, c.err)
		}
	}
}

// gen builds deterministic test inputs with tunable redundancy: symbols from
// an alphabet of size alph, with copies of earlier stretches mixed in for
// two seeds out of three.
func gen(seed uint64, n, alph int) []byte {
	r := rand.New(rand.NewPCG(seed, 0x5eed))
	b := make([]byte, 0, n)
	copies := seed%3 != 0
	for len(b) < n {
		if copies && len(b) > 8 && r.IntN(4) == 0 {
			from := r.IntN(len(b))
			l := 1 + r.IntN(300)
			for i := 0; i < l && len(b) < n; i++ {
				b = append(b, b[from+i])
			}
			continue
		}
		b = append(b, byte('a'+r.IntN(alph)))
	}
	return b
}

func TestRoundTripRandom(t *testing.T) {
	for seed := uint64(0); seed < 300; seed++ {
		n := 3 + int(seed*37%9000)
		in := gen(seed, n, 1+int(seed%60))
		c, ok := Compress(nil, in, n+n/16+64)
		if !ok {
			t.Fatalf("seed %d: generous limit refused", seed)
		}
		back, err := Decompress(nil, c, n)
		if err != nil || !bytes.Equal(back, in) {
			t.Fatalf("seed %d: round trip failed: %v", seed, err)
		}
		// A successful result does not depend on the limit.
		if c2, ok := Compress(nil, in, len(c)); ok && !bytes.Equal(c, c2) {
			t.Fatalf("seed %d: output depends on limit", seed)
		}
	}
}

func goldenPath() string {
	_, f, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(f), "..", "..", "..", "testdata", "rdb", "lzf-golden.txt")
}

// TestRedisGolden replays inputs whose DUMP encodings were captured from
// redis-server 7.0.15 (see TestRegenerateGolden): each line is
// "seed n alph result" where result is "-" (Redis stored the string
// verbatim) or "<compressed length>:<crc64 of the compressed bytes>".
func TestRedisGolden(t *testing.T) {
	f, err := os.Open(goldenPath())
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	lines := 0
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		lines++
		var seed uint64
		var n, alph int
		var want string
		if _, err := fmt.Sscanf(line, "%d %d %d %s", &seed, &n, &alph, &want); err != nil {
			t.Fatalf("bad golden line %q", line)
		}
		in := gen(seed, n, alph)
		c, ok := Compress(nil, in, n-4)
		got := "-"
		if ok {
			got = strconv.Itoa(len(c)) + ":" + strconv.FormatUint(crc64.Checksum(c), 16)
		}
		if got != want {
			t.Errorf("seed %d n %d alph %d: got %s, Redis wrote %s", seed, n, alph, got, want)
		}
	}
	if lines < 100 {
		t.Fatalf("only %d golden lines", lines)
	}
}

func FuzzDecompress(f *testing.F) {
	f.Add([]byte{0x01, 'a', 'a', 0xe0, 0x0a, 0x00}, 21)
	f.Add([]byte{0x00, 'a', 0x20, 0x00}, 4)
	f.Add([]byte{}, 0)
	f.Add([]byte(strings.Repeat("\x1f", 40)), 100)
	f.Fuzz(func(t *testing.T, src []byte, n int) {
		out, err := Decompress(nil, src, n)
		if err != nil {
			return
		}
		if len(out) != n {
			t.Fatalf("len %d, declared %d", len(out), n)
		}
		// Anything we decode must survive our own round trip.
		if c, ok := Compress(nil, out, len(out)+len(out)/16+64); ok {
			back, err := Decompress(nil, c, len(out))
			if err != nil || !bytes.Equal(back, out) {
				t.Fatalf("round trip of decoded data failed: %v", err)
			}
		}
	})
}

func BenchmarkCompress4K(b *testing.B) {
	in := gen(1, 4096, 20)
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	var dst []byte
	for i := 0; i < b.N; i++ {
		dst, _ = Compress(dst[:0], in, len(in))
	}
}

func BenchmarkCompressSmall(b *testing.B) {
	in := gen(1, 40, 5)
	b.ReportAllocs()
	var dst []byte
	for i := 0; i < b.N; i++ {
		dst, _ = Compress(dst[:0], in, len(in))
	}
}

func BenchmarkDecompress(b *testing.B) {
	in := gen(1, 8000, 20)
	c, _ := Compress(nil, in, len(in))
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	var dst []byte
	for i := 0; i < b.N; i++ {
		dst, _ = Decompress(dst[:0], c, len(in))
	}
}
