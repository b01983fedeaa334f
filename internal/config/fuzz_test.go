package config

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// roundTripSkip lists parameters whose printed value cannot always be set
// back: immutable and protected ones are refused by CONFIG SET, and
// proc-title-template's validity depends on parameters set after it.
func roundTripSkip(p *param) bool {
	return p.flags&(fImmutable|fProtected) != 0 || p.name == "proc-title-template"
}

// checkRoundTrip sets every settable parameter to the value CONFIG GET
// prints for it, which Redis accepts (but for one quirk, below), and checks
// nothing changes.
func checkRoundTrip(t *testing.T, l *Live) {
	t.Helper()
	before := l.Get()
	for _, p := range params {
		if roundTripSkip(p) {
			continue
		}
		v := p.get(before)
		if p.name == "save" && strings.Contains(v, "-") {
			// Redis keeps a save point's change count in a C int: "save
			// 1 2170000000" prints back as "1 -2124967296", which it
			// then refuses (checked against redis-server 7.0.15).
			continue
		}
		if got := l.Set([][]byte{[]byte(p.name), []byte(v)}); got != "" {
			t.Fatalf("CONFIG SET %s %q (its own value): %s", p.name, v, got)
		}
		if after := p.get(l.Get()); after != v {
			t.Fatalf("%s: %q became %q", p.name, v, after)
		}
	}
}

func checkFatal(t *testing.T, err error) {
	t.Helper()
	var fe *FatalError
	if !errors.As(err, &fe) {
		t.Fatalf("error %T %v is not a *FatalError", err, err)
	}
	if fe.Error() == "" {
		t.Fatal("empty fatal error")
	}
	if fe.Stderr != "" && (!strings.HasPrefix(fe.Stderr, "\n*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***\n") || !strings.HasSuffix(fe.Stderr, "\n")) {
		t.Fatalf("malformed block %q", fe.Stderr)
	}
}

// FuzzLoadConfigFile feeds arbitrary redis.conf text to Load. Load must not
// panic, must fail only with a *FatalError, and a loaded configuration must
// print values CONFIG SET accepts back unchanged, and survive CONFIG REWRITE
// and a reload without panicking.
func FuzzLoadConfigFile(f *testing.F) {
	for _, tc := range loadCases {
		for _, c := range tc.files {
			f.Add([]byte(strings.ReplaceAll(c, "{port}", "7000")))
		}
	}
	for _, s := range []string{
		"port 1\nsave 1 2\nsave \"\"\n", "bind \"a b\" c\nhz 0\n", "client-output-buffer-limit normal 18446744073709551615 1 1\n",
		"maxmemory 18446744073709551615\n", "latency-tracking-info-percentiles 0x1p-3 1e-310\n", "'\\'' x\n",
		"\"a\\x41\" \"\\xzz\"\n", "shutdown-on-sigint \"save now\" force\n", "user x on\nrename-command a b\n",
	} {
		f.Add([]byte(s))
	}
	if b, err := os.ReadFile("/etc/redis/redis.conf"); err == nil {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		low := strings.ToLower(string(data))
		if strings.Contains(low, "logfile") || strings.Contains(low, "include") && (strings.Contains(low, "/") || strings.Contains(low, "dir")) {
			// These reach outside the test directory (creating a log
			// file, reading devices that never end).
			t.Skip()
		}
		dir := t.TempDir()
		path := filepath.Join(dir, "c.conf")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		c, err := LoadWith([]string{"c.conf"}, LoadOptions{Dir: dir, Stdin: bytes.NewReader(nil)})
		if err != nil {
			checkFatal(t, err)
			return
		}
		l := NewLive(c, path)
		l.GetPatterns([][]byte{[]byte("*")})
		checkRoundTrip(t, l)
		if err := l.Rewrite(); err != nil {
			t.Fatalf("rewrite: %v", err)
		}
		if _, err := LoadWith([]string{"c.conf"}, LoadOptions{Dir: dir, Stdin: bytes.NewReader(nil)}); err != nil {
			checkFatal(t, err)
		}
	})
}

// FuzzConfigSet feeds arbitrary CONFIG SET arguments to a Live. It must not
// panic, must answer "" or a Redis error, must change nothing on error, and
// what it accepts must print values it accepts back.
func FuzzConfigSet(f *testing.F) {
	for _, args := range setSequence {
		if len(args) >= 2 {
			n2, v2 := "", ""
			if len(args) >= 4 {
				n2, v2 = args[2], args[3]
			}
			f.Add(args[0], args[1], n2, v2)
		}
	}
	for _, v := range probeValues {
		f.Add("maxmemory-clients", v, "save", v)
		f.Add("latency-tracking-info-percentiles", v, "client-output-buffer-limit", v)
	}
	f.Fuzz(func(t *testing.T, n1, v1, n2, v2 string) {
		l := NewLive(Default(), "")
		before := l.Get()
		args := [][]byte{[]byte(n1), []byte(v1)}
		if n2 != "" {
			args = append(args, []byte(n2), []byte(v2))
		}
		got := l.SetWith(args, SetContext{Local: true})
		if got != "" {
			if !strings.HasPrefix(got, "ERR ") && !strings.HasPrefix(got, "LOADING ") {
				t.Fatalf("reply %q", got)
			}
			if l.Get() != before {
				t.Fatal("a failed CONFIG SET published a snapshot")
			}
			return
		}
		for _, kv := range l.GetPatterns([][]byte{[]byte("*")}) {
			if kv[1] != mustValue(t, before, kv[0]) && lookup(kv[0]).p != lookup(n1).p && (n2 == "" || lookup(kv[0]).p != lookup(n2).p) {
				t.Fatalf("%s changed without being set", kv[0])
			}
		}
		checkRoundTrip(t, l)
	})
}

func mustValue(t *testing.T, c *Config, name string) string {
	v, ok := c.Value(name)
	if !ok {
		t.Fatalf("no %s", name)
	}
	return v
}
