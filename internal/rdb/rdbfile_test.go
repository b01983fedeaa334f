package rdb

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/reefkv/reef/internal/rdb/vectors"
)

type fileRecord struct {
	*Record
	raw []byte // the record's bytes in the file
}

// readAll reads every record of an RDB file, keeping each one's bytes.
func readAll(t testing.TB, data []byte, opts *ReadOptions) []fileRecord {
	t.Helper()
	r, err := NewReader(bytes.NewReader(data), opts)
	if err != nil {
		t.Fatal(err)
	}
	var out []fileRecord
	for {
		rec, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, fileRecord{Record: rec})
		if n := len(out); n > 1 {
			out[n-2].raw = data[out[n-2].Offset:rec.Offset]
		}
	}
	last := &out[len(out)-1]
	last.raw = data[last.Offset:]
	if last.Kind != RecordEOF {
		t.Fatal("no EOF record")
	}
	if r.Offset() != int64(len(data)) {
		t.Fatalf("reader stopped at %d of %d", r.Offset(), len(data))
	}
	return out
}

var streamOK = &ReadOptions{DecodeOptions: DecodeOptions{AllowStreams: true}}

func TestRDBFiles(t *testing.T) {
	exp := vectors.Load(t)
	for _, name := range vectors.Names(exp.RDB) {
		e := exp.RDB[name]
		t.Run(name, func(t *testing.T) {
			data := vectors.File(t, name)
			recs := readAll(t, data, streamOK)
			keys := map[int]int{}
			expires := 0
			var aux, funcs []string
			for _, r := range recs {
				switch r.Kind {
				case RecordAux:
					aux = append(aux, string(r.AuxKey))
				case RecordFunction:
					funcs = append(funcs, string(r.Function))
				case RecordKey:
					keys[r.DB]++
					if r.HasExpire {
						expires++
					}
				}
			}
			if e.Aux != nil && !slices.Equal(aux, e.Aux) {
				t.Errorf("aux %v, want %v", aux, e.Aux)
			}
			if e.KeysDB0 != 0 && (keys[0] != e.KeysDB0 || keys[1] != e.KeysDB1 || expires != e.Expires) {
				t.Errorf("keys %v expires %d", keys, expires)
			}
			for _, f := range e.Functions {
				if len(funcs) != 1 || !strings.HasPrefix(funcs[0], "#!lua name="+f+"\n") {
					t.Errorf("functions %q", funcs)
				}
			}
			eof := recs[len(recs)-1]
			if strings.HasPrefix(name, "nochecksum") != (eof.Checksum == 0) {
				t.Errorf("checksum %x", eof.Checksum)
			}
		})
	}
}

// TestAllTypesMatchesDumps checks every key of the SAVE file against the
// DUMP vector of the same key: same content, and our writer reproduces the
// value bytes.
func TestAllTypesMatchesDumps(t *testing.T) {
	exp := vectors.Load(t)
	for _, file := range []string{"all-types-7.0.15.rdb", "fullsync-payload-7.0.15.rdb"} {
		recs := readAll(t, vectors.File(t, file), streamOK)
		seen := 0
		for _, r := range recs {
			if r.Kind == RecordResizeDB && r.DB == 0 && (r.DBSize != 36 || r.ExpiresSize != 1) {
				t.Errorf("%s: RESIZEDB %d %d", file, r.DBSize, r.ExpiresSize)
			}
			if r.Kind != RecordKey {
				continue
			}
			name := string(r.Key)
			if _, ok := exp.Dump[name]; !ok {
				if name != "db1_key" {
					t.Errorf("%s: unexpected key %q", file, name)
				}
				continue
			}
			seen++
			payload := vectors.Hex(t, "dump/"+name+".hex")
			d, err := DecodeDump(payload, &DecodeOptions{AllowStreams: true})
			if err != nil {
				t.Fatal(err)
			}
			if r.Value.Type == TypeStream {
				if fmt.Sprint(streamSummary(r.Value.Stream)) != fmt.Sprint(streamSummary(d.Stream)) {
					t.Errorf("%s: stream %s differs from its DUMP", file, name)
				}
				continue
			}
			if err := sameContent(d, r.Value); err != nil {
				t.Errorf("%s: %s: %v", file, name, err)
			}
			// The file holds TYPE key VALUE; the DUMP holds TYPE VALUE.
			var w bytes.Buffer
			wr := NewWriter(&w, nil)
			if err := wr.WriteKey(r.Key, r.Value, KeyMeta{ExpireAt: r.ExpireAt, HasExpire: r.HasExpire}); err != nil {
				t.Fatal(err)
			}
			wr.Flush()
			if got := w.Bytes()[9:]; !bytes.Equal(got, r.raw) {
				t.Errorf("%s: %s: rewritten record differs\n got %x\nwant %x", file, name, head(got), head(r.raw))
			}
			if name == "str_ttl" && (!r.HasExpire || r.ExpireAt != 4102444800000) {
				t.Errorf("str_ttl expire %v %d", r.HasExpire, r.ExpireAt)
			}
		}
		if seen != 36 {
			t.Errorf("%s: %d vector keys", file, seen)
		}
	}
}

// TestNoCompressionFile rewrites every key of the rdbcompression-no file
// byte for byte, FREQ prefixes and the in-memory-compressed list node
// included.
func TestNoCompressionFile(t *testing.T) {
	recs := readAll(t, vectors.File(t, "nochecksum-nocompress-lfu-7.0.15.rdb"), streamOK)
	opts := &WriteOptions{DisableCompression: true, DisableChecksum: true}
	n := 0
	for _, r := range recs {
		if r.Kind != RecordKey || r.Value.Type == TypeStream {
			continue
		}
		if !r.HasFreq {
			t.Errorf("%s: no FREQ", r.Key)
		}
		var w bytes.Buffer
		wr := NewWriter(&w, opts)
		meta := KeyMeta{ExpireAt: r.ExpireAt, HasExpire: r.HasExpire, Freq: r.Freq, HasFreq: r.HasFreq}
		if err := wr.WriteKey(r.Key, r.Value, meta); err != nil {
			t.Fatal(err)
		}
		wr.Flush()
		if got := w.Bytes()[9:]; !bytes.Equal(got, r.raw) {
			t.Errorf("%s differs\n got %x\nwant %x", r.Key, head(got), head(r.raw))
		}
		n++
	}
	if n != 6 {
		t.Fatalf("%d keys, the file holds 6", n)
	}
}

func TestIdleAndLegacyFiles(t *testing.T) {
	idle := map[string]uint64{}
	for _, r := range readAll(t, vectors.File(t, "lru-idle-7.0.15.rdb"), nil) {
		if r.Kind == RecordKey {
			if !r.HasIdle {
				t.Errorf("%s: no IDLE", r.Key)
			}
			idle[string(r.Key)] = r.Idle
		}
	}
	if idle["lru_key"] != 3 || idle["lru_key2"] != 0 || len(idle) != 2 {
		t.Errorf("idle %v", idle)
	}
	var got []string
	for _, r := range readAll(t, vectors.File(t, "legacy-v9-crafted.rdb"), nil) {
		switch r.Kind {
		case RecordAux:
			got = append(got, "aux:"+string(r.AuxKey))
		case RecordKey:
			s := fmt.Sprintf("%s/%v", r.Key, r.Value.Encoding)
			if r.HasExpire {
				s += fmt.Sprintf("@%d", r.ExpireAt)
			}
			got = append(got, s)
		}
	}
	want := "[aux:redis-ver aux:redis-bits aux:ctime aux:used-mem aux:aof-preamble aux:unknown-future-field " +
		"legacy_list_type1/quicklist legacy_zset_type3/listpack legacy_hash_zipmap/listpack legacy_list_ziplist/quicklist " +
		"legacy_zset_ziplist/listpack legacy_hash_ziplist/listpack legacy_list_quicklist/quicklist " +
		"legacy_expire_sec/embstr@2147483000000 legacy_expire_ms/embstr@4102444800000]"
	if fmt.Sprint(got) != want {
		t.Errorf("legacy file:\n%v\nwant\n%s", got, want)
	}
}

func TestReaderErrors(t *testing.T) {
	good := vectors.File(t, "lru-idle-7.0.15.rdb")
	try := func(data []byte, opts *ReadOptions) error {
		r, err := NewReader(bytes.NewReader(data), opts)
		if err != nil {
			return err
		}
		for {
			_, err := r.Next()
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return err
			}
		}
	}
	flip := func(i int) []byte {
		b := append([]byte(nil), good...)
		b[i] ^= 0x40
		return b
	}
	if err := try(flip(len(good)-3), nil); !errors.Is(err, ErrChecksum) {
		t.Errorf("bad checksum: %v", err)
	}
	if err := try(flip(len(good)-3), &ReadOptions{SkipChecksum: true}); err != nil {
		t.Errorf("SkipChecksum: %v", err)
	}
	if err := try(flip(len(good)-12), nil); err == nil {
		t.Error("corrupt body accepted")
	}
	for _, hdr := range []string{"REDIS0011", "REDIS0000", "REDIT0010", "REDIS00x9", "REDIS"} {
		if err := try([]byte(hdr), nil); err == nil {
			t.Errorf("header %q accepted", hdr)
		}
	}
	for cut := 9; cut < len(good); cut += 7 {
		if err := try(good[:cut], nil); err == nil {
			t.Errorf("file cut at %d accepted", cut)
		}
	}
	// A stream key is refused unless allowed, with the key named.
	err := try(vectors.File(t, "all-types-7.0.15.rdb"), nil)
	if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "stream") {
		t.Errorf("stream: %v", err)
	}
	// SELECTDB beyond the configured databases.
	var w bytes.Buffer
	wr := NewWriter(&w, nil)
	wr.SelectDB(20, 1, 0)
	wr.WriteKey([]byte("k"), &Object{Type: TypeString, Str: []byte("v")}, KeyMeta{})
	wr.Close()
	if err := try(w.Bytes(), nil); err == nil || !strings.Contains(err.Error(), "databases") {
		t.Errorf("db 20: %v", err)
	}
	if err := try(w.Bytes(), &ReadOptions{Databases: 32}); err != nil {
		t.Errorf("db 20 of 32: %v", err)
	}
}

func TestEmptyKeysSkipped(t *testing.T) {
	data := []byte("REDIS0010")
	data = append(data, opSelectDB, 0, opExpireTimeMs, 1, 2, 3, 4, 5, 6, 7, 8, byte(RDBTypeList), 1, 'e', 0)
	data = append(data, byte(RDBTypeString), 1, 'k', 1, 'v', opEOF)
	data = appendCRC(data)
	r, err := NewReader(bytes.NewReader(data), nil)
	if err != nil {
		t.Fatal(err)
	}
	r.Next() // SELECTDB
	rec, err := r.Next()
	if err != nil || rec.Kind != RecordKey || string(rec.Key) != "k" || rec.HasExpire {
		t.Fatalf("after empty key: %+v %v (the expire belonged to the skipped key)", rec, err)
	}
	if r.EmptyKeysSkipped() != 1 {
		t.Fatal("skip not counted")
	}
}

// TestWriterRoundTrip writes a file with every feature and reads it back.
func TestWriterRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	w := NewWriter(&buf, nil)
	w.WriteAuxFields(AuxFields{RedisVer: "7.0.15", RedisBits: 64, CTime: 1700000000, UsedMem: 1 << 20,
		Repl: &ReplInfo{StreamDB: 0, ID: strings.Repeat("ab", 20), Offset: 14}})
	w.WriteFunction([]byte("#!lua name=mylib\nredis.register_function('f', function() return 1 end)"))
	w.SelectDB(0, 2, 1)
	w.WriteKey([]byte("s"), &Object{Type: TypeString, Str: []byte("hello")}, KeyMeta{ExpireAt: 4102444800000, HasExpire: true, Idle: 7, HasIdle: true})
	w.WriteKey([]byte("h"), &Object{Type: TypeHash, Hash: hashOf("a", "1", "b", "2")}, KeyMeta{Freq: 9, HasFreq: true})
	w.SelectDB(3, 1, 0)
	w.WriteKey([]byte("z"), &Object{Type: TypeZSet, ZSet: zaddOf(t, "2", "b", "1", "a")}, KeyMeta{})
	if err := w.WriteKey([]byte("e"), &Object{Type: TypeList}, KeyMeta{}); !errors.Is(err, ErrEmptyKey) {
		t.Fatalf("empty list written: %v", err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if w.Written() != int64(buf.Len()) {
		t.Fatalf("Written %d, buffer %d", w.Written(), buf.Len())
	}
	var got []string
	for _, r := range readAll(t, buf.Bytes(), nil) {
		switch r.Kind {
		case RecordAux:
			got = append(got, string(r.AuxKey)+"="+string(r.AuxValue))
		case RecordFunction:
			got = append(got, "fn:"+strings.SplitN(string(r.Function), "\n", 2)[0])
		case RecordSelectDB:
			got = append(got, fmt.Sprint("db", r.DB))
		case RecordResizeDB:
			got = append(got, fmt.Sprint("resize", r.DBSize, r.ExpiresSize))
		case RecordKey:
			got = append(got, fmt.Sprintf("%s:%v:%v exp=%v/%d idle=%v/%d freq=%v/%d", r.Key, r.Value.Type, r.Value.Encoding,
				r.HasExpire, r.ExpireAt, r.HasIdle, r.Idle, r.HasFreq, r.Freq))
		case RecordEOF:
			got = append(got, "eof")
		}
	}
	want := []string{"redis-ver=7.0.15", "redis-bits=64", "ctime=1700000000", "used-mem=1048576", "repl-stream-db=0",
		"repl-id=" + strings.Repeat("ab", 20), "repl-offset=14", "aof-base=0", "fn:#!lua name=mylib", "db0", "resize2 1",
		"s:string:embstr exp=true/4102444800000 idle=true/7 freq=false/0", "h:hash:listpack exp=false/0 idle=false/0 freq=true/9",
		"db3", "resize1 0", "z:zset:listpack exp=false/0 idle=false/0 freq=false/0", "eof"}
	if !slices.Equal(got, want) {
		t.Errorf("round trip:\n%q\nwant\n%q", got, want)
	}
	// redis-bits is int-encoded like Redis writes it.
	if !bytes.Contains(buf.Bytes(), []byte("\x0aredis-bits\xc0\x40")) {
		t.Error("redis-bits not int-encoded")
	}
}

// TestAuxBytes writes the AUX fields of Redis's own files with
// WriteAuxFields and compares the bytes, header included.
func TestAuxBytes(t *testing.T) {
	for _, name := range []string{"all-types-7.0.15.rdb", "fullsync-payload-7.0.15.rdb"} {
		data := vectors.File(t, name)
		recs := readAll(t, data, streamOK)
		aux := map[string]string{}
		end := int64(0)
		for _, r := range recs {
			if r.Kind != RecordAux {
				break
			}
			aux[string(r.AuxKey)] = string(r.AuxValue)
			end = r.Offset + int64(len(r.raw))
		}
		num := func(k string) int64 {
			v, err := strconv.ParseInt(aux[k], 10, 64)
			if err != nil {
				t.Fatalf("%s: aux %s=%q", name, k, aux[k])
			}
			return v
		}
		f := AuxFields{RedisVer: aux["redis-ver"], RedisBits: int(num("redis-bits")), CTime: num("ctime"),
			UsedMem: num("used-mem"), AOFBase: aux["aof-base"] == "1"}
		if id, ok := aux["repl-id"]; ok {
			f.Repl = &ReplInfo{StreamDB: int(num("repl-stream-db")), ID: id, Offset: num("repl-offset")}
		}
		var buf bytes.Buffer
		w := NewWriter(&buf, nil)
		w.WriteAuxFields(f)
		w.Flush()
		if !bytes.Equal(buf.Bytes(), data[:end]) {
			t.Errorf("%s: AUX bytes differ\n got %x\nwant %x", name, buf.Bytes(), data[:end])
		}
	}
}

// TestFunctionAndSelectBytes rewrites the FUNCTION2 record and every
// SELECTDB+RESIZEDB pair of Redis's SAVE file byte for byte.
func TestFunctionAndSelectBytes(t *testing.T) {
	recs := readAll(t, vectors.File(t, "all-types-7.0.15.rdb"), streamOK)
	checked := 0
	for i, r := range recs {
		var buf bytes.Buffer
		w := NewWriter(&buf, nil)
		var want []byte
		switch {
		case r.Kind == RecordFunction:
			w.WriteFunction(r.Function)
			want = r.raw
		case r.Kind == RecordSelectDB && i+1 < len(recs) && recs[i+1].Kind == RecordResizeDB:
			w.SelectDB(r.DB, recs[i+1].DBSize, recs[i+1].ExpiresSize)
			want = append(append([]byte(nil), r.raw...), recs[i+1].raw...)
		default:
			continue
		}
		w.Flush()
		if got := buf.Bytes()[9:]; !bytes.Equal(got, want) {
			t.Errorf("record %d (%v): got %x want %x", i, r.Kind, head(got), head(want))
		}
		checked++
	}
	if checked != 3 {
		t.Fatalf("checked %d records, want 1 function and 2 databases", checked)
	}
}

// TestWholeFileRewrite re-emits every record of Redis's stream-free files
// through the Writer: the output, CRC trailer included, is byte-identical.
func TestWholeFileRewrite(t *testing.T) {
	cases := map[string]*WriteOptions{
		"lru-idle-7.0.15.rdb":                  nil,
		"nochecksum-nocompress-lfu-7.0.15.rdb": {DisableCompression: true, DisableChecksum: true},
	}
	for name, opts := range cases {
		data := vectors.File(t, name)
		recs := readAll(t, data, nil)
		var buf bytes.Buffer
		w := NewWriter(&buf, opts)
		for i, r := range recs {
			switch r.Kind {
			case RecordAux:
				w.WriteAux(string(r.AuxKey), string(r.AuxValue))
			case RecordFunction:
				w.WriteFunction(r.Function)
			case RecordSelectDB:
				next := recs[i+1]
				w.SelectDB(r.DB, next.DBSize, next.ExpiresSize)
			case RecordKey:
				meta := KeyMeta{ExpireAt: r.ExpireAt, HasExpire: r.HasExpire, Idle: r.Idle, HasIdle: r.HasIdle, Freq: r.Freq, HasFreq: r.HasFreq}
				if err := w.WriteKey(r.Key, r.Value, meta); err != nil {
					t.Fatal(err)
				}
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(buf.Bytes(), data) {
			t.Errorf("%s: rewritten file differs (%d vs %d bytes)", name, buf.Len(), len(data))
		}
	}
}
