// Package server holds black-box tests of a real reef-server process:
// startup and shutdown (log format, PID line, port taken, signals,
// SHUTDOWN), command-line and config-file options (--logfile, --pidfile,
// --dir, --requirepass, --maxclients, --protected-mode, --databases,
// timeout, include and quoting, unknown directives), hostile input
// (protocol errors, huge length headers, half-sent commands, thousands of
// idle connections, the query buffer limit), and the real clients people
// use: go-redis and redis-cli.
//
// Every test starts its own server on a free port (internal/testutil) and
// the server is killed by PID when the test ends. Where behaviour should
// match Redis exactly, the test runs the same steps against a real
// redis-server 7.0 and compares.
package server
