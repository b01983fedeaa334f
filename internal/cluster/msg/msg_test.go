package msg

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/reefkv/reef/internal/slot"
)

func manifest(t *testing.T) map[string]string {
	t.Helper()
	b, err := os.ReadFile("testdata/manifest.txt")
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		k, v, _ := strings.Cut(line, " ")
		m[k] = v
	}
	return m
}

func id(t *testing.T, s string) NodeID {
	t.Helper()
	n, ok := ParseNodeID(s)
	if !ok {
		t.Fatalf("bad id %q", s)
	}
	return n
}

// TestGolden decodes every message captured from a real redis-server 7.0
// (see TestCapture), checks what it says, and re-encodes it to the same bytes.
func TestGolden(t *testing.T) {
	man := manifest(t)
	r1, r2, a, c, a2 := id(t, man["r1"]), id(t, man["r2"]), id(t, man["a"]), id(t, man["c"]), id(t, man["a2"])
	tests := []struct {
		file  string
		check func(t *testing.T, m *Message)
	}{
		{"meet", func(t *testing.T, m *Message) {
			want(t, m.Type == TypeMeet && m.Sender == r1 && m.Flags == FlagMaster|FlagMyself && m.Hostname() == "node1.example")
			want(t, m.MFlags[0] == MFlagExtData && len(m.Exts) == 1 && len(m.Exts[0].Data) == 16)
			want(t, m.CurrentEpoch == 5 && m.ConfigEpoch == 5 && m.MySlots.Len() == 8192 && m.MySlots.Has(0) && !m.MySlots.Has(8192))
			want(t, m.SlaveOf.IsZero() && m.MyIP == "" && m.State == StateFail && int(m.CPort) == int(m.Port)+10000)
		}},
		{"ping", func(t *testing.T, m *Message) {
			want(t, m.Type == TypePing && m.Sender == r1 && m.Hostname() == "node1.example")
		}},
		{"pong", func(t *testing.T, m *Message) { want(t, m.Type == TypePong && m.Sender == r1 && len(m.Gossip) == 0) }},
		{"ping-gossip", func(t *testing.T, m *Message) {
			want(t, m.Type == TypePing && len(m.Gossip) == 1 && m.Flags == FlagMaster|FlagMyself|FlagMigrateTo)
			g := m.Gossip[0]
			want(t, g.Node == a && g.IP == "127.0.0.1" && g.Flags == FlagMaster|FlagFail|FlagMigrateTo && g.PingSent > 1e9 && g.PongReceived > 1e9)
		}},
		{"ping-replica", func(t *testing.T, m *Message) {
			want(t, m.Type == TypePing && m.Sender == r2 && m.SlaveOf == a2 && m.Flags == FlagSlave|FlagMyself)
			want(t, m.MySlots.Len() == slot.Count && m.ConfigEpoch == 1 && m.MFlags == [3]byte{} && len(m.Exts) == 0)
		}},
		{"publish", func(t *testing.T, m *Message) {
			want(t, m.Type == TypePublish && string(m.Channel) == "news" && string(m.Payload) == "hello world")
		}},
		{"publishshard", func(t *testing.T, m *Message) {
			want(t, m.Type == TypePublishShard && string(m.Channel) == "news" && string(m.Payload) == "shard hello")
		}},
		{"fail", func(t *testing.T, m *Message) { want(t, m.Type == TypeFail && m.Fail == c && m.Len() == FailSize) }},
		{"update", func(t *testing.T, m *Message) {
			want(t, m.Type == TypeUpdate && m.Update.Node == r1 && m.Update.ConfigEpoch == 5 && m.Update.Slots.Len() == 8192)
		}},
		{"auth-ack", func(t *testing.T, m *Message) {
			want(t, m.Type == TypeFailoverAuthAck && m.Sender == r1 && m.CurrentEpoch == 6)
		}},
		{"auth-req", func(t *testing.T, m *Message) {
			want(t, m.Type == TypeFailoverAuthRequest && m.Sender == r2 && m.MFlags[0] == MFlagForceAck && m.CurrentEpoch == 2)
		}},
		{"mfstart", func(t *testing.T, m *Message) { want(t, m.Type == TypeMFStart && m.Sender == r2 && m.SlaveOf == a2) }},
	}
	files, _ := filepath.Glob("testdata/*.bin")
	if len(files) != len(tests) {
		t.Errorf("%d capture files, %d tests", len(files), len(tests))
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			raw, err := os.ReadFile("testdata/" + tc.file + ".bin")
			if err != nil {
				t.Fatal(err)
			}
			m, err := Decode(raw)
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, m)
			if m.Len() != len(raw) {
				t.Errorf("Len() = %d, capture is %d bytes", m.Len(), len(raw))
			}
			if got := Append(nil, m); !bytes.Equal(got, raw) {
				t.Errorf("re-encoding differs from capture at byte %d", firstDiff(got, raw))
			}
		})
	}
}

func want(t *testing.T, ok bool) {
	t.Helper()
	if !ok {
		t.Error("unexpected field values")
	}
}

func firstDiff(a, b []byte) int {
	for i := range a {
		if i >= len(b) || a[i] != b[i] {
			return i
		}
	}
	return len(a)
}

func TestRoundTrip(t *testing.T) {
	var slots slot.Set
	slots.Add(1)
	slots.Add(16383)
	base := Message{Ver: ProtoVer, Port: 7000, CPort: 17000, PPort: 1, CurrentEpoch: 9, ConfigEpoch: 3, Offset: 1 << 40,
		Sender: id(t, strings.Repeat("ab", 20)), MySlots: slots, MyIP: "::1", Flags: FlagSlave | FlagMyself, State: StateFail}
	base.SlaveOf = id(t, strings.Repeat("cd", 20))
	msgs := []Message{}
	add := func(f func(m *Message)) { m := base; f(&m); msgs = append(msgs, m) }
	add(func(m *Message) {
		m.Type = TypePing
		m.Gossip = []Gossip{{Node: m.SlaveOf, PingSent: 1, PongReceived: 2, IP: "10.0.0.1", Port: 1, CPort: 2, Flags: FlagPFail, PPort: 3}}
		m.Exts = []Ext{HostnameExt("node1.example"), ForgottenNodeExt(m.Sender, 60)}
		m.MFlags[0] = MFlagExtData
	})
	add(func(m *Message) { m.Type = TypeMeet })
	add(func(m *Message) { m.Type = TypeFail; m.Fail = m.SlaveOf })
	add(func(m *Message) { m.Type = TypePublish; m.Channel = []byte("c"); m.Payload = []byte("") })
	add(func(m *Message) {
		m.Type = TypeUpdate
		m.Update = &Update{ConfigEpoch: 7, Node: m.Sender, Slots: slots}
	})
	add(func(m *Message) {
		m.Type = TypeModule
		m.Module = &Module{ModuleID: 42, Type: 3, Payload: []byte("xyz")}
	})
	add(func(m *Message) { m.Type = TypeMFStart })
	add(func(m *Message) { m.Type = 77; m.Body = []byte("future") })
	for _, m := range msgs {
		b := Append([]byte("prefix"), &m)
		b = b[len("prefix"):]
		if len(b) != m.Len() {
			t.Fatalf("%s: encoded %d bytes, Len %d", m.Type, len(b), m.Len())
		}
		got, err := Decode(b)
		if err != nil {
			t.Fatalf("%s: %v", m.Type, err)
		}
		if again := Append(nil, got); !bytes.Equal(again, b) {
			t.Errorf("%s: round trip differs", m.Type)
		}
	}
	// Extension accessors.
	d, _ := Decode(Append(nil, &msgs[0]))
	if d.Hostname() != "node1.example" || len(d.Exts[0].Data) != 16 {
		t.Errorf("hostname ext: %q %d", d.Hostname(), len(d.Exts[0].Data))
	}
	if n, ttl, ok := d.Exts[1].ForgottenNode(); !ok || n != base.Sender || ttl != 60 {
		t.Error("forgotten node ext")
	}
}

func TestDecodeErrors(t *testing.T) {
	ping := Append(nil, &Message{Type: TypePing, Gossip: make([]Gossip, 2)})
	set16 := func(b []byte, off int, v uint16) []byte {
		b = append([]byte{}, b...)
		be.PutUint16(b[off:], v)
		return b
	}
	set32 := func(b []byte, off int, v uint32) []byte {
		b = append([]byte{}, b...)
		be.PutUint32(b[off:], v)
		return b
	}
	pub := Append(nil, &Message{Type: TypePublish, Channel: []byte("ch"), Payload: []byte("m")})
	ext := Append(nil, &Message{Type: TypePong, Exts: []Ext{HostnameExt("h")}, MFlags: [3]byte{MFlagExtData}})
	tests := []struct {
		name string
		b    []byte
		want error
	}{
		{"empty", nil, ErrLength},
		{"short header", ping[:100], ErrLength},
		{"signature", append([]byte("RCmc"), ping[4:]...), ErrFrame},
		{"totlen lies long", set32(ping, 4, uint32(len(ping)+1)), ErrLength},
		{"totlen lies short", set32(ping, 4, uint32(len(ping)-1)), ErrLength},
		{"totlen below header", set32(ping, 4, 100), ErrFrame},
		{"version", set16(ping, 8, 2), ErrVersion},
		{"count too big", set16(ping, 14, 3), ErrLength},
		{"count too small", set16(ping, 14, 1), ErrLength},
		{"fail short", Append(nil, &Message{Type: TypeFail})[:FailSize-1], ErrLength},
		{"publish lengths", set32(pub, HeaderSize, 50), ErrLength},
		{"auth body", append(set32(Append(nil, &Message{Type: TypeFailoverAuthAck}), 4, HeaderSize+1), 0), ErrLength},
		{"ext not aligned", set32(ext, HeaderSize, 12), ErrLength},
		{"ext overruns", set32(ext, HeaderSize, 64), ErrLength},
		{"ext zero", set32(ext, HeaderSize, 0), ErrLength},
		{"ext count", set16(ext, 2214, 2), ErrLength},
		{"update short", set32(Append(nil, &Message{Type: TypeUpdate})[:UpdateSize-8], 4, UpdateSize-8), ErrLength},
		{"module len", set32(Append(nil, &Message{Type: TypeModule, Module: &Module{}}), HeaderSize+8, 1), ErrLength},
	}
	for _, tc := range tests {
		if _, err := Decode(tc.b); !errors.Is(err, tc.want) {
			t.Errorf("%s: err = %v, want %v", tc.name, err, tc.want)
		}
	}
	// Extensions without the EXT_DATA flag are not parsed: the bytes are extra.
	noflag := append([]byte{}, ext...)
	noflag[2253] = 0
	if _, err := Decode(noflag); !errors.Is(err, ErrLength) {
		t.Errorf("ext without flag: %v", err)
	}
}

func TestParseNodeID(t *testing.T) {
	for s, ok := range map[string]bool{
		strings.Repeat("a", 40): true, strings.Repeat("z9", 20): true,
		strings.Repeat("a", 39): false, strings.Repeat("A", 40): false, strings.Repeat("-", 40): false,
	} {
		if _, got := ParseNodeID(s); got != ok {
			t.Errorf("%q: %v", s, got)
		}
	}
	if TypeFailoverAuthRequest.String() != "auth-req" || Type(99).String() != "unknown(99)" {
		t.Error("type names")
	}
}

func FuzzDecode(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.bin")
	for _, p := range files {
		b, _ := os.ReadFile(p)
		f.Add(b)
	}
	f.Add(Append(nil, &Message{Type: TypeModule, Module: &Module{Payload: []byte("x")}}))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Decode(b)
		if err != nil {
			return
		}
		// A message that decodes re-encodes to a message that decodes the same way.
		again := Append(nil, m)
		if len(again) != len(b) {
			t.Fatalf("re-encoded length %d, input %d", len(again), len(b))
		}
		m2, err := Decode(again)
		if err != nil {
			t.Fatalf("re-encoded message does not decode: %v", err)
		}
		if !bytes.Equal(Append(nil, m2), again) {
			t.Fatal("encoding is not stable")
		}
	})
}
