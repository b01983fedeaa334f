// Package glob is Redis's stringmatchlen: the glob patterns of KEYS, SCAN
// MATCH, PSUBSCRIBE, CONFIG GET and CLIENT KILL. It imports nothing of ours.
package glob
