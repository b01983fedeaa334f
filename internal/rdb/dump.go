package rdb

import (
	"encoding/binary"
	"errors"

	"github.com/reefkv/reef/internal/encoding/crc64"
)

// The two RESTORE failures, with Redis's exact texts (the server prefixes
// "ERR "). Errors from DecodeDump match one of them with errors.Is and print
// exactly its text; the underlying cause is reachable with errors.As.
var (
	ErrDumpPayload   = errors.New("DUMP payload version or checksum are wrong")
	ErrBadDataFormat = errors.New("Bad data format")
)

// dumpError prints as its Redis text and unwraps to both that text's
// sentinel and the detailed cause.
type dumpError struct {
	kind, cause error
}

func (e *dumpError) Error() string   { return e.kind.Error() }
func (e *dumpError) Unwrap() []error { return []error{e.kind, e.cause} }

// footerSize is the RDB version (2 bytes) plus the CRC-64 (8 bytes).
const footerSize = 10

// AppendDump appends the DUMP payload of o to dst: type byte, value, RDB
// version 10 as uint16 LE, CRC-64 LE of everything before it.
func AppendDump(dst []byte, o *Object, opts *WriteOptions) ([]byte, error) {
	start := len(dst)
	dst = append(dst, 0)
	dst, t, err := AppendValue(dst, o, opts)
	if err != nil {
		return dst[:start], err
	}
	dst[start] = byte(t)
	dst = binary.LittleEndian.AppendUint16(dst, Version)
	return binary.LittleEndian.AppendUint64(dst, crc64.Checksum(dst[start:])), nil
}

// EncodeDump returns the DUMP payload of o, as Redis's DUMP command would
// produce it for the same value and encoding. opts may be nil (defaults).
func EncodeDump(o *Object, opts *WriteOptions) ([]byte, error) {
	return AppendDump(nil, o, opts)
}

// VerifyDump checks a payload's length, version and CRC the way RESTORE
// does: at least 10 bytes, an RDB version of at most 10 (any lower version,
// 0 included, is accepted), and a matching CRC-64. A zero CRC has no
// special meaning.
func VerifyDump(payload []byte) error {
	if len(payload) < footerSize {
		return &dumpError{ErrDumpPayload, errors.New("payload shorter than its footer")}
	}
	f := payload[len(payload)-footerSize:]
	if v := binary.LittleEndian.Uint16(f); v > Version {
		return &dumpError{ErrDumpPayload, errors.New("payload RDB version too new")}
	}
	if crc64.Checksum(payload[:len(payload)-8]) != binary.LittleEndian.Uint64(f[2:]) {
		return &dumpError{ErrDumpPayload, ErrChecksum}
	}
	return nil
}

// DecodeDump verifies and decodes a DUMP payload (the RESTORE argument).
// Errors print as Redis's RESTORE texts: "DUMP payload version or checksum
// are wrong" or "Bad data format" (also for empty collections, streams,
// modules and unknown types). opts may be nil (Redis defaults). The returned
// Object does not alias payload.
func DecodeDump(payload []byte, opts *DecodeOptions) (*Object, error) {
	if err := VerifyDump(payload); err != nil {
		return nil, err
	}
	return decodeDumpValue(payload, opts)
}

// DecodeDumpUnchecked decodes a payload without checking its version and
// CRC, for RESTORE after DEBUG SET-SKIP-CHECKSUM-VALIDATION 1. It still
// needs the 10-byte footer.
func DecodeDumpUnchecked(payload []byte, opts *DecodeOptions) (*Object, error) {
	if len(payload) < footerSize {
		return nil, &dumpError{ErrDumpPayload, errors.New("payload shorter than its footer")}
	}
	return decodeDumpValue(payload, opts)
}

// decodeDumpValue decodes the value at the start of a payload. Like Redis,
// which parses the payload buffer footer included, a value may run into the
// version and CRC bytes: only real Redis payloads are guaranteed to end
// before them, and RESTORE accepts the others too.
func decodeDumpValue(body []byte, opts *DecodeOptions) (*Object, error) {
	if !isObjectType(body[0]) {
		return nil, &dumpError{ErrBadDataFormat, &Error{Offset: 0, Msg: "unknown RDB object type"}}
	}
	in := newMemInput(body)
	in.pos = 1
	o, err := newDecoder(in, opts).readObject(body[0])
	if err != nil {
		return nil, &dumpError{ErrBadDataFormat, err}
	}
	// Like Redis, bytes left after the value are not checked.
	return o, nil
}
