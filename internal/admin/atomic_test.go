package admin

import (
	"bytes"
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/reefkv/reef/internal/resp"
)

// fakeNode is a scripted RESP server: handler gets each command and returns
// the encoded reply. It records the commands it saw.
type fakeNode struct {
	ln      net.Listener
	mu      sync.Mutex
	seen    []string
	handler func(args []string) []byte
	wg      sync.WaitGroup
}

func startFake(t *testing.T, h func(f *fakeNode, args []string) []byte) *fakeNode {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeNode{ln: ln}
	f.handler = func(a []string) []byte { return h(f, a) }
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			f.wg.Add(1)
			go func() {
				defer f.wg.Done()
				defer c.Close()
				rr := resp.NewRequestReader(c)
				for {
					args, err := rr.ReadCommand()
					if err != nil {
						return
					}
					s := make([]string, len(args))
					for i, a := range args {
						s[i] = string(a)
					}
					f.mu.Lock()
					f.seen = append(f.seen, strings.Join(s, " "))
					f.mu.Unlock()
					c.Write(f.handler(s))
				}
			}()
		}
	}()
	t.Cleanup(func() { ln.Close(); f.wg.Wait() })
	return f
}

func (f *fakeNode) saw(prefix string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, s := range f.seen {
		if strings.HasPrefix(s, prefix) {
			return true
		}
	}
	return false
}

func (f *fakeNode) port() int { return f.ln.Addr().(*net.TCPAddr).Port }

func helpReply(lines ...string) []byte { return resp.AppendBulkStrings(nil, lines) }

// TestAtomicDialects checks detection from COMMAND INFO / CLUSTER HELP and
// that a job between two nodes of the Valkey dialect is handed to the
// source with CLUSTER MIGRATESLOTS and finishes when the target owns the
// slots; the Redis 8.4 dialect sends CLUSTER MIGRATION IMPORT to the target.
func TestAtomicDialects(t *testing.T) {
	const srcID, dstID = "1111111111111111111111111111111111111111", "2222222222222222222222222222222222222222"
	for _, c := range []struct {
		dialect string
		help    []string
		cmd     string // expected command prefix, sent to cmdOn
		onDst   bool
	}{
		{DialectValkey, []string{"CLUSTER <subcommand>", "MIGRATESLOTS SLOTSRANGE start-slot end-slot NODE node-id"}, "CLUSTER MIGRATESLOTS SLOTSRANGE 5 7 NODE " + dstID, false},
		{DialectRedis84, []string{"CLUSTER <subcommand>", "MIGRATION IMPORT <start-slot> <end-slot> [...]"}, "CLUSTER MIGRATION IMPORT 5 7", true},
		{"", []string{"CLUSTER <subcommand>", "SETSLOT <slot> IMPORTING <node-id>"}, "", false},
	} {
		var mu sync.Mutex
		moved := false
		h := func(id string) func(f *fakeNode, a []string) []byte {
			return func(f *fakeNode, a []string) []byte {
				cmd := strings.ToUpper(strings.Join(a, " "))
				switch {
				case strings.HasPrefix(cmd, "COMMAND INFO"):
					return []byte("*0\r\n")
				case cmd == "CLUSTER HELP":
					return helpReply(c.help...)
				case strings.HasPrefix(cmd, "CLUSTER MIGRATESLOTS"), strings.HasPrefix(cmd, "CLUSTER MIGRATION IMPORT"):
					mu.Lock()
					moved = true
					mu.Unlock()
					return resp.AppendOK(nil)
				case cmd == "CLUSTER NODES":
					mu.Lock()
					defer mu.Unlock()
					slots := ""
					if moved && id == dstID {
						slots = " 5-7"
					}
					return resp.AppendBulkString(nil, id+" 127.0.0.1:1@2 myself,master - 0 0 1 connected"+slots+"\n")
				}
				return resp.AppendError(nil, "ERR unexpected "+cmd)
			}
		}
		src, dst := startFake(t, h(srcID)), startFake(t, h(dstID))
		m := New(DefaultOptions(), &bytes.Buffer{}, &bytes.Buffer{}, nil, false)
		sn, dn := m.newNode("127.0.0.1", src.port()), m.newNode("127.0.0.1", dst.port())
		sn.ID, dn.ID = srcID, dstID
		if got := m.atomicDialect(sn, dn); got != c.dialect {
			t.Errorf("dialect = %q, want %q", got, c.dialect)
			continue
		}
		if c.dialect == "" {
			continue
		}
		w := &mover{m: m, job: &job{Src: sn, Dst: dn, Slots: []int{5, 6, 7}}}
		if err := w.atomicMove(c.dialect, []int{5, 6, 7}); err != nil {
			t.Errorf("%s: atomicMove: %v", c.dialect, err)
		}
		w.close()
		on := src
		if c.onDst {
			on = dst
		}
		if !on.saw(c.cmd) {
			t.Errorf("%s: %q not sent; saw src %v dst %v", c.dialect, c.cmd, src.seen, dst.seen)
		}
	}
}
