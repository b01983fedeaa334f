// Package crc64 implements the CRC-64 variant Redis uses for RDB files and
// DUMP payloads: CRC-64/Jones, reflected, polynomial 0xAD93D23594C935A9
// (0x95AC9329AC4BC9B5 reflected), initial value 0, no final xor.
//
// It owns only the checksum arithmetic. The register is the plain CRC value
// (no inversion before or after), so Update can be chained over consecutive
// chunks: Update(Update(0, a), b) == Checksum(a+b). It never allocates and
// imports nothing of ours.
package crc64
