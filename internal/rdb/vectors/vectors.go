// Package vectors loads the RDB/DUMP/HLL test vectors captured from
// redis-server 7.0.15 (testdata/rdb at the repository root) for the tests
// of rdb, digest and hll. Only tests import it.
package vectors

import (
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"
)

// Dir returns the absolute path of testdata/rdb.
func Dir() string {
	_, f, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(f), "..", "..", "..", "testdata", "rdb")
}

// Dump is one entry of expected.json's "dump" section.
type Dump struct {
	Cmd              string `json:"cmd"`
	Type             string `json:"type"`
	Encoding         string `json:"encoding"`
	DumpTypeByte     int    `json:"dump_type_byte"`
	DumpLen          int    `json:"dump_len"`
	DigestValue      string `json:"digest_value"`
	PexpiretimeMs    int64  `json:"pexpiretime_ms"`
	Pfcount          *int64 `json:"pfcount"`
	AfterPfcountFile string `json:"after_pfcount_file"`
}

// Legacy is one entry of the "legacy" section.
type Legacy struct {
	TypeByte             int     `json:"type_byte"`
	PayloadRDBVersion    int     `json:"payload_rdb_version"`
	EncodingAfterRestore string  `json:"encoding_after_restore"`
	DigestValue          string  `json:"digest_value"`
	NativeEquivalent     *string `json:"native_equivalent"`
	RedumpTypeByte       int     `json:"redump_type_byte"`
}

// RDBFile is one entry of the "rdb" section.
type RDBFile struct {
	DebugDigest       string   `json:"debug_digest"`
	KeysDB0           int      `json:"keys_db0"`
	KeysDB1           int      `json:"keys_db1"`
	Expires           int      `json:"expires"`
	Functions         []string `json:"functions"`
	Aux               []string `json:"aux"`
	DB1KeyDigestValue string   `json:"db1_key_digest_value"`
}

// Expected is expected.json.
type Expected struct {
	Dump   map[string]Dump    `json:"dump"`
	Legacy map[string]Legacy  `json:"legacy"`
	RDB    map[string]RDBFile `json:"rdb"`
}

// Load reads expected.json.
func Load(t testing.TB) *Expected {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(Dir(), "expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	var e Expected
	if err := json.Unmarshal(b, &e); err != nil {
		t.Fatal(err)
	}
	return &e
}

// Hex reads a .hex file relative to Dir.
func Hex(t testing.TB, rel string) []byte {
	t.Helper()
	s, err := os.ReadFile(filepath.Join(Dir(), rel))
	if err != nil {
		t.Fatal(err)
	}
	b, err := hex.DecodeString(strings.TrimSpace(string(s)))
	if err != nil {
		t.Fatalf("%s: %v", rel, err)
	}
	return b
}

// File reads a file relative to Dir.
func File(t testing.TB, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(Dir(), rel))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Names returns the keys of m, sorted.
func Names[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
