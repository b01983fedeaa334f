// Package logging formats log records the way redis-server does, so that
// operators' greps and log shippers keep working:
//
//	pid:role dd Mon yyyy hh:mm:ss.mmm <level> message
//
// where role is M (master), S (replica) or C (startup/child) and level is
// '.' debug, '-' verbose, '*' notice, '#' warning. It is an slog.Handler;
// structured attributes (node, slot, epoch, peer, offset) follow the
// message as key=value.
package logging
