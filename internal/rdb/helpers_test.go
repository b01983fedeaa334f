package rdb

import (
	"encoding/binary"

	"github.com/reefkv/reef/internal/encoding/crc64"
)

func appendCRC(p []byte) []byte {
	return binary.LittleEndian.AppendUint64(p, crc64.Checksum(p))
}
