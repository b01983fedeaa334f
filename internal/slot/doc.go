// Package slot maps keys to Redis Cluster hash slots and holds slot sets.
//
// It owns CRC16 (XMODEM, as Redis Cluster uses it), the hash-tag rule, and
// a 16384-bit Set with the range formatting Redis prints ("0-5460 5461").
// It imports nothing of ours.
package slot
