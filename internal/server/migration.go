package server

import (
	"time"

	"github.com/reefkv/reef/internal/command"
	"github.com/reefkv/reef/internal/migrate"
)

// Slot migration in the server: DUMP/RESTORE/RESTORE-ASKING and MIGRATE
// (the legacy protocol, internal/command/dump.go and internal/migrate), and
// the glue of atomic slot migration (docs/MIGRATION.md).

// migrationNode is the server's migration state.
type migrationNode struct {
	// sockets caches MIGRATE's connections to targets.
	sockets *migrate.Sockets
}

// migrationFamilies returns DUMP, RESTORE, RESTORE-ASKING and MIGRATE.
func (s *Server) migrationFamilies() []command.Family {
	if s.mig.sockets == nil {
		s.mig.sockets = migrate.NewSockets()
	}
	return []command.Family{
		command.DumpCommands(migrate.Codec{}),
		migrate.Commands(s.mig.sockets, migrate.Codec{}),
	}
}

// migrationCron runs from the server cron: idle MIGRATE connections close
// after 10 seconds, as Redis's migrateCloseTimedoutSockets.
func (s *Server) migrationCron(now time.Time) {
	if s.mig.sockets != nil {
		s.mig.sockets.CloseIdle(now)
	}
}
