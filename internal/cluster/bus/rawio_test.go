package bus

import (
	"bytes"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/reefkv/reef/internal/testutil"
)

// writeAll delivers every buffer in order through a socket far too small
// to take them at once (partial writes, waits for writability), and Read
// sees them whole, then io.EOF once the writer closes.
func TestRawSocketWritesEverythingInOrder(t *testing.T) {
	w, r := testutil.TCPPair(t)
	// Small socket buffers, so that writev writes part of what it is
	// given and waits. (Tiny ones make TCP itself crawl.)
	w.SetWriteBuffer(64 << 10)
	r.SetReadBuffer(64 << 10)
	var bufs [][]byte
	var want []byte
	for i := range 3000 { // more than one writev's IOV_MAX
		b := bytes.Repeat([]byte{byte(i)}, 1+i%1400)
		bufs = append(bufs, b)
		want = append(want, b...)
	}
	bufs = append(bufs, nil) // an empty buffer is skipped
	ws, err := newRawSocket(w)
	if err != nil {
		t.Fatal(err)
	}
	type result struct {
		n   int64
		err error
	}
	done := make(chan result, 1)
	go func() {
		n, err := ws.writeAll(bufs)
		w.CloseWrite()
		done <- result{n, err}
	}()
	rs, err := newRawSocket(r)
	if err != nil {
		t.Fatal(err)
	}
	r.SetReadDeadline(time.Now().Add(30 * time.Second)) // against a hang only
	got, err := io.ReadAll(rs)
	if err != nil {
		t.Fatal(err)
	}
	res := <-done
	if res.err != nil || res.n != int64(len(want)) {
		t.Fatalf("writeAll = %d, %v; want %d bytes", res.n, res.err, len(want))
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("read %d bytes, not the %d written in order", len(got), len(want))
	}
}

// A read waiting for data ends when its connection is closed.
func TestRawSocketReadEndsOnClose(t *testing.T) {
	_, r := testutil.TCPPair(t)
	rs, err := newRawSocket(r)
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() {
		_, err := rs.Read(make([]byte, 16))
		errc <- err
	}()
	time.Sleep(10 * time.Millisecond) // let it wait in the poller (either way the read must end)
	r.Close()
	select {
	case err := <-errc:
		if !errors.Is(err, net.ErrClosed) {
			t.Fatalf("read after close: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("read still waiting after close")
	}
}

func TestConsume(t *testing.T) {
	bufs := [][]byte{[]byte("abc"), []byte("de"), []byte("fgh")}
	bufs = consume(bufs, 4)
	if len(bufs) != 2 || string(bufs[0]) != "e" || string(bufs[1]) != "fgh" {
		t.Fatalf("consume(4) left %q", bufs)
	}
	if bufs = consume(bufs, 4); len(bufs) != 0 {
		t.Fatalf("consume of everything left %q", bufs)
	}
}
