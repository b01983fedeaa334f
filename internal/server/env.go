package server

import (
	"github.com/reefkv/reef/internal/command"
)

// The Server is the command.Env of every handler.

// KeyModified invalidates WATCHes on key. REQUIRES: key's slot locked.
func (s *Server) KeyModified(db int, key []byte) { s.watches.touch(db, key) }

// KeyReady is in blocking.go, Notify in pubsub.go.

// KeyExpired accounts for a key removed by expiry.
func (s *Server) KeyExpired(db int, key []byte) { s.keyExpired(nil, db, key) }

// keyExpired is KeyExpired for a key a command of self found expired.
func (s *Server) keyExpired(self *Client, db int, key []byte) {
	s.stats.expiredKeys.Add(1)
	s.feedExpired(db, key)
	s.notify(self, command.NotifyExpired, "expired", db, key)
}

// IsReplica reports whether this node follows a master.
func (s *Server) IsReplica() bool { return s.repl.IsReplica() }

// LRUClock returns the current LRU clock.
func (s *Server) LRUClock() uint32 { return s.lruClock.Load() }

// DBFlushed invalidates WATCHes on a flushed database (-1: all).
func (s *Server) DBFlushed(db int) {
	s.watches.touchDB(db)
	if db < 0 {
		s.flushallSave()
	}
	// An emptied database forgets its average TTL, as Redis's emptyDb.
	for i := range s.avgTTL {
		if db == -1 || db == i {
			s.avgTTL[i].Store(0)
		}
	}
}

// DBSwapped invalidates WATCHes on both swapped databases, and marks the
// keys clients are blocked on in them as ready (Redis's
// scanDatabaseForReadyKeys): they are served when SWAPDB's call ends.
// REQUIRES: no slot lock held (SWAPDB calls it after releasing them).
func (s *Server) DBSwapped(a, b int) {
	s.watches.touchDB(a)
	s.watches.touchDB(b)
	s.readyAfterSwap(a, b)
	// The average TTL estimate goes with the data, as in Redis's SWAPDB.
	x, y := s.avgTTL[a].Load(), s.avgTTL[b].Load()
	s.avgTTL[a].Store(y)
	s.avgTTL[b].Store(x)
}

// clientOf returns the client a server-level handler runs for.
func clientOf(ctx *command.Ctx) *Client { return ctx.Conn.(*Client) }

// clientEnv is the command.Env of a client's commands: the server, with
// the keyspace notifications they fire marked as theirs, so that the
// client, if subscribed, gets them among its replies (publishLocal).
type clientEnv struct {
	*Server
	c *Client
}

func (e clientEnv) Notify(class command.NotifyClass, event string, db int, key []byte) {
	e.Server.notify(e.c, class, event, db, key)
}

func (e clientEnv) KeyExpired(db int, key []byte) { e.Server.keyExpired(e.c, db, key) }
