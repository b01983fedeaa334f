// Package splitargs splits a line into arguments exactly as Redis's
// sdssplitargs does, and quotes an argument back as sdscatrepr does
// (AppendRepr). Inline requests (internal/resp), redis.conf lines and
// CONFIG REWRITE (internal/config), MONITOR (internal/server) and reef-cli's
// output (internal/client) share it. It imports nothing of ours.
package splitargs
