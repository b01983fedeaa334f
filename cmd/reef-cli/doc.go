// Command reef-cli is Reef's command-line client and cluster manager, a
// drop-in for redis-cli 7.0 in daily use: one-shot commands, an interactive
// prompt with history, line editing and argument hints, replies printed
// exactly as redis-cli prints them, -c cluster redirections, --scan,
// --bigkeys, --latency, --stat, and `--cluster <subcommand>` (see
// internal/admin) with redis-cli's and redis-trib.rb's option spellings.
//
// Everything printed goes through this package's formatting helpers and the
// admin package; internal/client does the talking.
package main
