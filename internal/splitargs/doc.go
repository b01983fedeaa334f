// Package splitargs splits a line into arguments exactly as Redis's
// sdssplitargs does. Inline requests (internal/resp) and redis.conf lines
// (internal/config) share it. It imports nothing of ours.
package splitargs
