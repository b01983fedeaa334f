// Package glob is Redis's stringmatchlen: the glob patterns of KEYS, the
// SCAN family's MATCH, PSUBSCRIBE, PUBSUB CHANNELS, CONFIG GET and COMMAND
// LIST FILTERBY PATTERN. It imports nothing of ours.
package glob
