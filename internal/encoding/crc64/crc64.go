package crc64

import "encoding/binary"

// poly is the reflected form of the Jones polynomial 0xAD93D23594C935A9.
const poly = 0x95AC9329AC4BC9B5

// tables[0] is the classic byte table; tables[1..7] extend it for the
// slicing-by-8 loop, which processes eight input bytes per step. RDB files
// are checksummed in full, so the bulk path matters.
var tables = func() *[8][256]uint64 {
	t := new([8][256]uint64)
	for i := 0; i < 256; i++ {
		c := uint64(i)
		for j := 0; j < 8; j++ {
			if c&1 == 1 {
				c = c>>1 ^ poly
			} else {
				c >>= 1
			}
		}
		t[0][i] = c
	}
	for i := 0; i < 256; i++ {
		c := t[0][i]
		for k := 1; k < 8; k++ {
			c = t[0][c&0xff] ^ c>>8
			t[k][i] = c
		}
	}
	return t
}()

// Update returns the CRC of the bytes that gave crc followed by p. Start
// from 0 for a new checksum.
func Update(crc uint64, p []byte) uint64 {
	t := tables
	for len(p) >= 8 {
		crc ^= binary.LittleEndian.Uint64(p)
		crc = t[7][crc&0xff] ^ t[6][crc>>8&0xff] ^ t[5][crc>>16&0xff] ^ t[4][crc>>24&0xff] ^
			t[3][crc>>32&0xff] ^ t[2][crc>>40&0xff] ^ t[1][crc>>48&0xff] ^ t[0][crc>>56]
		p = p[8:]
	}
	for _, b := range p {
		crc = t[0][byte(crc)^b] ^ crc>>8
	}
	return crc
}

// Checksum returns the CRC of p.
func Checksum(p []byte) uint64 { return Update(0, p) }
