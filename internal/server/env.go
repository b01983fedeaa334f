package server

import (
	"github.com/reefkv/reef/internal/command"
)

// The Server is the command.Env of every handler.

// KeyModified invalidates WATCHes on key. REQUIRES: key's slot locked.
func (s *Server) KeyModified(db int, key []byte) { s.watches.touch(db, key) }

// KeyReady wakes clients blocked on key. Blocking commands are not served
// yet, so there is nobody to wake.
func (s *Server) KeyReady(db int, key []byte) {}

// Notify fires keyspace notifications; they are delivered once pub/sub
// exists, and cost nothing while notify-keyspace-events is empty.
func (s *Server) Notify(class command.NotifyClass, event string, db int, key []byte) {}

// KeyExpired accounts for a key removed by expiry.
func (s *Server) KeyExpired(db int, key []byte) {
	s.stats.expiredKeys.Add(1)
	s.feedExpired(db, key)
	s.Notify(command.NotifyExpired, "expired", db, key)
}

// IsReplica reports whether this node follows a master.
func (s *Server) IsReplica() bool { return s.repl.IsReplica() }

// LRUClock returns the current LRU clock.
func (s *Server) LRUClock() uint32 { return s.lruClock.Load() }

// DBFlushed invalidates WATCHes on a flushed database (-1: all).
func (s *Server) DBFlushed(db int) { s.watches.touchDB(db) }

// DBSwapped invalidates WATCHes on both swapped databases.
func (s *Server) DBSwapped(a, b int) {
	s.watches.touchDB(a)
	s.watches.touchDB(b)
}

// clientOf returns the client a server-level handler runs for.
func clientOf(ctx *command.Ctx) *Client { return ctx.Conn.(*Client) }
