// Package clock reads the time on the command path cheaply.
//
// Every command needs its start time twice over: as unix milliseconds (for
// expiry) and as a monotonic reading (for its duration in INFO
// commandstats, the latency histograms and the slow log). time.Now reads
// two clocks for that and time.Since a third; here one monotonic reading
// gives both, the wall time being derived from a base the server's cron
// refreshes (Resync), so that a step of the system clock is followed within
// one cron tick.
//
// It also keeps the process's pulse (Pulse): one ticker that the node's
// periodic duties share, so that an idle node wakes up once per period
// rather than once per duty.
package clock
