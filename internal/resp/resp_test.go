package resp

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

// chunkReader returns the input in pieces of n bytes, to exercise the
// incremental parser.
type chunkReader struct {
	data []byte
	n    int
}

func (r *chunkReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, io.EOF
	}
	k := min(r.n, len(p), len(r.data))
	copy(p, r.data[:k])
	r.data = r.data[k:]
	return k, nil
}

func readAll(t *testing.T, input string, chunk int) ([]string, error) {
	t.Helper()
	rd := NewRequestReader(&chunkReader{data: []byte(input), n: chunk})
	var out []string
	for {
		args, err := rd.ReadCommand()
		if err != nil {
			return out, err
		}
		var parts []string
		for _, a := range args {
			parts = append(parts, string(a))
		}
		out = append(out, strings.Join(parts, "|"))
	}
}

func TestRequestParsing(t *testing.T) {
	input := "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nhello\r\n" +
		"PING\r\n" +
		"\r\n" + // empty inline line is skipped
		"*0\r\n" + // empty multibulk is skipped
		"set \"a b\" 'c\\'d'\n" +
		"*1\r\n$4\r\nPING\r\n"
	for _, chunk := range []int{1, 2, 3, 7, 1000} {
		got, err := readAll(t, input, chunk)
		if err != io.EOF {
			t.Fatalf("chunk %d: err %v", chunk, err)
		}
		want := []string{"SET|k|hello", "PING", "set|a b|c'd", "PING"}
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Fatalf("chunk %d: got %q want %q", chunk, got, want)
		}
	}
}

func TestProtocolErrors(t *testing.T) {
	cases := map[string]string{
		"*abc\r\n":                            "Protocol error: invalid multibulk length",
		"*2147483648\r\n":                     "Protocol error: invalid multibulk length",
		"*1\r\n+foo\r\n":                      "Protocol error: expected '$', got '+'",
		"*1\r\n$-1\r\n":                       "Protocol error: invalid bulk length",
		"*1\r\n$4294967295\r\n":               "Protocol error: invalid bulk length",
		"set \"unbalanced\n":                  "Protocol error: unbalanced quotes in request",
		"*1\r\n" + strings.Repeat("x", 70000): "Protocol error: too big bulk count string",
		strings.Repeat("x", 70000):            "Protocol error: too big inline request",
		"*" + strings.Repeat("1", 70000):      "Protocol error: too big mbulk count string",
	}
	for input, want := range cases {
		_, err := readAll(t, input, 4096)
		var pe *ProtocolError
		if !errors.As(err, &pe) || pe.Msg != want {
			t.Errorf("input %.30q: err %v, want %q", input, err, want)
		}
	}
}

func TestUnauthenticatedLimits(t *testing.T) {
	rd := NewRequestReader(bytes.NewReader([]byte("*11\r\n")))
	rd.Unauthenticated = true
	_, err := rd.ReadCommand()
	var pe *ProtocolError
	if !errors.As(err, &pe) || pe.Msg != "Protocol error: unauthenticated multibulk length" {
		t.Fatalf("err %v", err)
	}
	rd = NewRequestReader(bytes.NewReader([]byte("*1\r\n$16385\r\n")))
	rd.Unauthenticated = true
	_, err = rd.ReadCommand()
	if !errors.As(err, &pe) || pe.Msg != "Protocol error: unauthenticated bulk length" {
		t.Fatalf("err %v", err)
	}
}

func TestHugeHeaderDoesNotAllocate(t *testing.T) {
	// A header announcing 2^31-1 arguments followed by nothing must not make
	// the reader allocate for them.
	rd := NewRequestReader(bytes.NewReader([]byte("*2147483647\r\n$1\r\na\r\n")))
	_, err := rd.ReadCommand()
	if err != io.EOF {
		t.Fatalf("err %v", err)
	}
	if rd.BufferSize() > 1<<20 {
		t.Fatalf("buffer grew to %d", rd.BufferSize())
	}
}

func TestQueryBufferLimit(t *testing.T) {
	rd := NewRequestReader(&chunkReader{data: []byte("*1\r\n$100000\r\n" + strings.Repeat("x", 100000)), n: 8192})
	rd.MaxQueryBuffer = 50000
	if _, err := rd.ReadCommand(); err != ErrQueryBufferLimit {
		t.Fatalf("err %v", err)
	}
}

func TestReplyRoundTripAndDowngrade(t *testing.T) {
	var b []byte
	b = AppendMapLen(b, RESP3, 2)
	b = AppendBulkString(b, "a")
	b = AppendDouble(b, RESP3, 1.5)
	b = AppendBulkString(b, "b")
	b = AppendSetLen(b, RESP3, 2)
	b = AppendNull(b, RESP3)
	b = AppendBool(b, RESP3, true)
	down := Downgrade(nil, b)
	want := "*4\r\n$1\r\na\r\n$3\r\n1.5\r\n$1\r\nb\r\n*2\r\n$-1\r\n:1\r\n"
	if string(down) != want {
		t.Fatalf("downgrade = %q", down)
	}
	v, err := NewReplyReader(bytes.NewReader(b)).ReadReply()
	if err != nil || v.Kind != KindMap || len(v.Elems) != 4 || string(v.Elems[1].Str) != "1.5" {
		t.Fatalf("read back: %+v %v", v, err)
	}
}

func TestFormatDouble(t *testing.T) {
	cases := map[float64]string{1.1: "1.1000000000000001", 1e20: "1e+20", 0.5: "0.5", 100000: "100000", -3: "-3"}
	for f, want := range cases {
		if got := string(FormatDouble(nil, f)); got != want {
			t.Errorf("FormatDouble(%v) = %s, want %s", f, got, want)
		}
	}
}

func FuzzRequestReader(f *testing.F) {
	f.Add([]byte("*2\r\n$3\r\nGET\r\n$1\r\nk\r\n"))
	f.Add([]byte("PING \"a\\x41\" 'b'\r\n"))
	f.Add([]byte("*-1\r\n*1\r\n$0\r\n\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		rd := NewRequestReader(&chunkReader{data: data, n: 3})
		rd.MaxQueryBuffer = 1 << 20
		for i := 0; i < 1000; i++ {
			args, err := rd.ReadCommand()
			if err != nil {
				return
			}
			if len(args) == 0 {
				t.Fatal("empty command returned")
			}
		}
	})
}

func FuzzReplyReader(f *testing.F) {
	f.Add([]byte("*2\r\n$1\r\na\r\n%1\r\n+k\r\n:1\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		rd := NewReplyReader(bytes.NewReader(data))
		for i := 0; i < 100; i++ {
			if _, err := rd.ReadReply(); err != nil {
				return
			}
		}
	})
}

// An event loop parses commands ahead and rewinds to give back those it did
// not run, including after a command whose tail had not arrived yet.
func TestRewind(t *testing.T) {
	pr, pw := io.Pipe()
	rd := NewRequestReader(pr)
	go func() {
		pw.Write([]byte("*2\r\n$3\r\nGET\r\n$1\r\na\r\nPING\r\n*2\r\n$3\r\nGET\r\n$1"))
	}()
	if err := rd.FillOnce(); err != nil {
		t.Fatal(err)
	}
	var marks []int
	for {
		args, err := rd.ReadBuffered()
		if err != nil {
			t.Fatal(err)
		}
		if args == nil {
			break
		}
		marks = append(marks, rd.Pos())
	}
	if len(marks) != 2 {
		t.Fatalf("parsed %d complete commands, want 2", len(marks))
	}
	// The third command is half parsed; rewind to after the first.
	gen := rd.Gen()
	if _, err := rd.ReadBuffered(); err != nil || rd.Gen() != gen {
		t.Fatalf("a ReadBuffered that found no complete command changed Gen (%v)", err)
	}
	rd.Rewind(marks[0])
	go func() { pw.Write([]byte("\r\nb\r\n")) }()
	var got []string
	for len(got) < 2 {
		args, err := rd.ReadCommand()
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, string(bytes.Join(args, []byte("|"))))
	}
	if want := "PING,GET|b"; strings.Join(got, ",") != want {
		t.Fatalf("after rewind: %q, want %q", got, want)
	}
	// Commands taken and reads made since move Gen on: positions from
	// before are no longer valid.
	if rd.Gen() == gen {
		t.Fatalf("Gen unchanged after two commands and a read")
	}
}
