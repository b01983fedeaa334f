package migrate

import (
	"errors"

	"github.com/reefkv/reef/internal/config"
	"github.com/reefkv/reef/internal/keyspace"
	"github.com/reefkv/reef/internal/rdb"
	"github.com/reefkv/reef/internal/repl"
	"github.com/reefkv/reef/internal/types"
)

// Codec converts keyspace values to DUMP payloads and back, through the
// rdb object model and the collections bridge of internal/repl. It
// implements command.DumpCodec.
type Codec struct{}

// WriteOptions are the rdb writer options cfg implies (rdbcompression and
// the list layout settings), as Redis's DUMP uses its configuration.
func WriteOptions(cfg *config.Config) *rdb.WriteOptions {
	return &rdb.WriteOptions{
		DisableCompression:  !cfg.RDBCompression,
		ListMaxListpackSize: cfg.ListMaxListpackSize,
		ListCompressDepth:   cfg.ListCompressDepth,
		Limits:              RDBLimits(cfg),
	}
}

// RDBLimits are the encoding thresholds of cfg in the rdb package's terms.
func RDBLimits(cfg *config.Config) rdb.Limits {
	return rdb.Limits{
		HashMaxListpackEntries: cfg.HashMaxListpackEntries,
		HashMaxListpackValue:   cfg.HashMaxListpackValue,
		SetMaxIntsetEntries:    cfg.SetMaxIntsetEntries,
		ZSetMaxListpackEntries: cfg.ZSetMaxListpackEntries,
		ZSetMaxListpackValue:   cfg.ZSetMaxListpackValue,
	}
}

// TypeLimits are the encoding thresholds of cfg in the types package's terms.
func TypeLimits(cfg *config.Config) *types.Limits {
	return &types.Limits{
		HashMaxListpackEntries: cfg.HashMaxListpackEntries,
		HashMaxListpackValue:   cfg.HashMaxListpackValue,
		SetMaxIntsetEntries:    cfg.SetMaxIntsetEntries,
		ZSetMaxListpackEntries: cfg.ZSetMaxListpackEntries,
		ZSetMaxListpackValue:   cfg.ZSetMaxListpackValue,
		ListMaxListpackSize:    cfg.ListMaxListpackSize,
	}
}

// errUnsupportedValue is returned for a value the payload format cannot
// hold (none today: every keyspace type has an RDB form).
var errUnsupportedValue = errors.New("value cannot be serialized")

// Dump returns v's DUMP payload. REQUIRES: v's slot locked (the object
// aliases v's memory until the payload is built).
func (Codec) Dump(v keyspace.Value, cfg *config.Config) ([]byte, error) {
	return AppendDump(nil, v, cfg)
}

// AppendDump appends v's DUMP payload to dst.
func AppendDump(dst []byte, v keyspace.Value, cfg *config.Config) ([]byte, error) {
	var o rdb.Object
	if !repl.ValueToObject(v, &o) {
		return dst, errUnsupportedValue
	}
	return rdb.AppendDump(dst, &o, WriteOptions(cfg))
}

// Restore verifies and decodes a payload into a value with the encodings
// cfg gives it. Errors are rdb's, printing as Redis's texts; a value the
// keyspace cannot hold (a stream) is "Bad data format" as in a Redis
// without that type.
func (Codec) Restore(payload []byte, cfg *config.Config) (keyspace.Value, error) {
	o, err := rdb.DecodeDump(payload, &rdb.DecodeOptions{Limits: RDBLimits(cfg)})
	if err != nil {
		return keyspace.Value{}, err
	}
	v, err := repl.ObjectToValue(o, TypeLimits(cfg))
	if err != nil {
		return keyspace.Value{}, rdb.ErrBadDataFormat
	}
	return v, nil
}
