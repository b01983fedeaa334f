package rdb

import (
	"encoding/binary"
	"fmt"
	"io"
	"strconv"
)

// RecordKind tells which fields of a Record are set.
type RecordKind uint8

// Record kinds, in the order they usually appear in a file.
const (
	RecordAux      RecordKind = iota + 1 // AuxKey, AuxValue
	RecordFunction                       // Function: library code
	RecordSelectDB                       // DB
	RecordResizeDB                       // DB, DBSize, ExpiresSize
	RecordKey                            // DB, Key, Value, expire/idle/freq
	RecordEOF                            // Checksum
)

// Record is one element of an RDB file. Byte slices are owned by the
// record.
type Record struct {
	Kind RecordKind
	// Offset is where the record starts in the file.
	Offset int64

	AuxKey, AuxValue []byte

	// Function is the full source of a Function library
	// ("#!lua name=mylib\n...").
	Function []byte

	// DB is the selected database for SelectDB, ResizeDB and Key records.
	DB                  int
	DBSize, ExpiresSize uint64

	Key   []byte
	Value *Object
	// ExpireAt is the absolute expire time in Unix ms when HasExpire.
	ExpireAt  int64
	HasExpire bool
	// Idle is the LRU idle time in seconds when HasIdle.
	Idle    uint64
	HasIdle bool
	// Freq is the LFU counter when HasFreq.
	Freq    uint8
	HasFreq bool

	// Checksum is the stored CRC-64 of an EOF record (0: none was written).
	Checksum uint64
}

// ReadOptions configure a Reader. The zero value suits loading a file
// written by Redis 7.0 with the default configuration.
type ReadOptions struct {
	DecodeOptions
	// Databases is the number of databases; a SELECTDB beyond it is an
	// error. 0 means 16.
	Databases int
	// SkipChecksum disables the CRC-64 check (rdbchecksum no on load).
	SkipChecksum bool
}

// Reader reads an RDB file one record at a time. It is not safe for
// concurrent use.
type Reader struct {
	in        *input
	dec       *decoder
	version   int
	databases int
	verify    bool
	db        int
	done      bool
	skipped   int
}

// NewReader reads and checks the header ("REDIS" and a version from 1 to
// 10) from r and returns a Reader positioned at the first record.
func NewReader(r io.Reader, opts *ReadOptions) (*Reader, error) {
	in := newStreamInput(r)
	if opts == nil {
		opts = &ReadOptions{}
	}
	rd := &Reader{in: in, dec: newDecoder(in, &opts.DecodeOptions), databases: opts.Databases, verify: !opts.SkipChecksum}
	if rd.databases <= 0 {
		rd.databases = 16
	}
	hdr, err := in.readFixed(9)
	if err != nil {
		return nil, fmt.Errorf("rdb: reading header: %w", err)
	}
	if string(hdr[:5]) != "REDIS" {
		return nil, &Error{Offset: 0, Msg: "wrong signature trying to load DB from file"}
	}
	v, err := strconv.Atoi(string(hdr[5:9]))
	if err != nil || v < 1 || v > Version {
		return nil, &Error{Offset: 5, Msg: fmt.Sprintf("can't handle RDB format version %q", hdr[5:9])}
	}
	rd.version = v
	return rd, nil
}

// Version returns the file's RDB version.
func (r *Reader) Version() int { return r.version }

// Offset returns the number of bytes consumed so far.
func (r *Reader) Offset() int64 { return r.in.offset() }

// EmptyKeysSkipped returns how many keys holding empty collections were
// skipped, as Redis skips them with a warning.
func (r *Reader) EmptyKeysSkipped() int { return r.skipped }

// Next returns the next record. After the EOF record (whose checksum has
// been verified) it returns io.EOF. Errors are *Error values carrying the
// offset, or wrap ErrChecksum, ErrUnsupported or an I/O error.
func (r *Reader) Next() (*Record, error) {
	if r.done {
		return nil, io.EOF
	}
	in := r.in
	rec := &Record{DB: r.db, Offset: in.offset()}
	for {
		op, err := in.readByte()
		if err != nil {
			return nil, err
		}
		switch op {
		case opExpireTimeMs:
			if rec.ExpireAt, err = in.readMillis(); err != nil {
				return nil, err
			}
			rec.HasExpire = true
			continue
		case opExpireTime:
			p, err := in.readFixed(4)
			if err != nil {
				return nil, err
			}
			rec.ExpireAt, rec.HasExpire = int64(int32(binary.LittleEndian.Uint32(p)))*1000, true
			continue
		case opIdle:
			if rec.Idle, err = in.readCount(); err != nil {
				return nil, err
			}
			rec.HasIdle = true
			continue
		case opFreq:
			if rec.Freq, err = in.readByte(); err != nil {
				return nil, err
			}
			rec.HasFreq = true
			continue
		case opAux:
			rec.Kind = RecordAux
			if rec.AuxKey, err = in.readStr(); err != nil {
				return nil, err
			}
			rec.AuxValue, err = in.readStr()
			return r.ret(rec, err)
		case opFunction2:
			rec.Kind = RecordFunction
			rec.Function, err = in.readStr()
			return r.ret(rec, err)
		case opFunction:
			rec.Kind = RecordFunction
			rec.Function, err = r.oldFunction()
			return r.ret(rec, err)
		case opModuleAux:
			return nil, in.errf(ErrUnsupported, "the RDB file contains module AUX data, and Reef has no modules")
		case opSelectDB:
			db, err := in.readCount()
			if err != nil {
				return nil, err
			}
			if db >= uint64(r.databases) {
				return nil, in.errf(nil, "FATAL: data file was created with a Redis server configured to handle more than %d databases", r.databases)
			}
			r.db = int(db)
			rec.Kind, rec.DB = RecordSelectDB, int(db)
			return rec, nil
		case opResizeDB:
			rec.Kind = RecordResizeDB
			if rec.DBSize, err = in.readCount(); err != nil {
				return nil, err
			}
			rec.ExpiresSize, err = in.readCount()
			return r.ret(rec, err)
		case opEOF:
			return r.eof(rec)
		}
		if !isObjectType(op) {
			return nil, in.errf(nil, "unknown RDB type %d", op)
		}
		rec.Kind = RecordKey
		if rec.Key, err = in.readStr(); err != nil {
			return nil, err
		}
		rec.Value, err = r.dec.readObject(op)
		if err != nil {
			if e, ok := err.(*Error); ok && e.Err == ErrEmptyKey {
				// Redis drops empty collections with a warning and goes on;
				// so do we, forgetting this key's prefix opcodes.
				r.skipped++
				rec = &Record{DB: r.db, Offset: in.offset()}
				continue
			}
			return nil, fmt.Errorf("rdb: key %q: %w", rec.Key, err)
		}
		return rec, nil
	}
}

func (r *Reader) ret(rec *Record, err error) (*Record, error) {
	if err != nil {
		return nil, err
	}
	return rec, nil
}

// oldFunction reads the FUNCTION opcode of 7.0-rc1/rc2 and converts it to
// library source as Redis does: "#!<engine> name=<name>\n<code>".
func (r *Reader) oldFunction() ([]byte, error) {
	in := r.in
	name, err := in.readStr()
	if err != nil {
		return nil, err
	}
	engine, err := in.readStr()
	if err != nil {
		return nil, err
	}
	hasDesc, err := in.readCount()
	if err != nil {
		return nil, err
	}
	if hasDesc != 0 {
		if _, err := in.readStr(); err != nil {
			return nil, err
		}
	}
	code, err := in.readStr()
	if err != nil {
		return nil, err
	}
	out := append([]byte("#!"), engine...)
	out = append(append(out, " name="...), name...)
	out = append(append(out, '\n'), code...)
	return out, nil
}

func (r *Reader) eof(rec *Record) (*Record, error) {
	r.done = true
	rec.Kind = RecordEOF
	if r.version < 5 {
		return rec, nil // no checksum before RDB 5
	}
	sum := r.in.checksum()
	p, err := r.in.readFixed(8)
	if err != nil {
		return nil, err
	}
	rec.Checksum = binary.LittleEndian.Uint64(p)
	if r.verify && rec.Checksum != 0 && rec.Checksum != sum {
		return nil, &Error{Offset: rec.Offset + 1, Msg: fmt.Sprintf("stored %016x, computed %016x", rec.Checksum, sum), Err: ErrChecksum}
	}
	return rec, nil
}
