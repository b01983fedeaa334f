// Package latency is the latency monitor behind the LATENCY command: a
// time series per event class ("command", "fast-command", "expire-cycle",
// ...) of the spikes that reached latency-monitor-threshold, one sample per
// second at most, as Redis's latency.c keeps them; and the replies built
// from them: LATEST, HISTORY, the ASCII GRAPH and the DOCTOR report, whose
// texts are Redis 7.0's.
package latency
