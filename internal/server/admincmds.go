package server

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/reefkv/reef/internal/command"
	"github.com/reefkv/reef/internal/config"
	"github.com/reefkv/reef/internal/keyspace"
	"github.com/reefkv/reef/internal/logging"
	"github.com/reefkv/reef/internal/rconv"
	"github.com/reefkv/reef/internal/slot"
)

// registerConfigHooks applies runtime configuration changes that need more
// than reading the new snapshot.
func (s *Server) registerConfigHooks() {
	s.cfg.OnApply([]string{"loglevel"}, func(old, new *config.Config) error {
		s.logOut.SetLevel(logging.ParseLevel(new.LogLevel))
		return nil
	})
	s.cfg.OnResetStat(func() {
		s.stats.totalConnections.Store(0)
		s.stats.totalCommands.Store(0)
		s.stats.rejectedConnections.Store(0)
		s.stats.netInput.Store(0)
		s.stats.netOutput.Store(0)
		s.stats.expiredKeys.Store(0)
		s.stats.totalErrorReplies.Store(0)
		s.ks.ResetHitsMisses()
		s.errStats.reset()
		for _, sp := range s.table.All() {
			resetSpecStats(sp)
		}
	})
}

func resetSpecStats(sp *command.Spec) {
	sp.Stats.Calls.Store(0)
	sp.Stats.Usec.Store(0)
	sp.Stats.RejectedCalls.Store(0)
	sp.Stats.FailedCalls.Store(0)
	for _, sub := range sp.Subs {
		resetSpecStats(sub)
	}
}

func configGet(ctx *command.Ctx) {
	pairs := clientOf(ctx).srv.cfg.GetPatterns(ctx.Args[2:])
	ctx.MapLen(len(pairs))
	for _, p := range pairs {
		ctx.BulkString(p[0])
		ctx.BulkString(p[1])
	}
}

func configSet(ctx *command.Ctx) {
	c := clientOf(ctx)
	if msg := c.srv.cfg.SetWith(ctx.Args[2:], config.SetContext{Local: isLocal(c.conn)}); msg != "" {
		ctx.Err(msg)
		return
	}
	ctx.OK()
}

func configResetstat(ctx *command.Ctx) {
	clientOf(ctx).srv.cfg.ResetStat()
	ctx.OK()
}

func configRewrite(ctx *command.Ctx) {
	s := clientOf(ctx).srv
	if err := s.cfg.Rewrite(); err != nil {
		s.log.Warn("CONFIG REWRITE failed: " + err.Error())
		ctx.Err(err.Error())
		return
	}
	s.log.Info("CONFIG REWRITE executed with success.")
	ctx.OK()
}

func configHelp(ctx *command.Ctx) {
	command.HelpReply(ctx, "CONFIG", []string{
		"GET <pattern>",
		"    Return parameters matching the glob-like <pattern> and their values.",
		"SET <directive> <value>",
		"    Set the configuration <directive> to <value>.",
		"RESETSTAT",
		"    Reset statistics reported by the INFO command.",
		"REWRITE",
		"    Rewrite the configuration file.",
	})
}

// shutdownCommand is SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE] [ABORT].
func shutdownCommand(ctx *command.Ctx) {
	c := clientOf(ctx)
	var save, noSave, abort bool
	for _, a := range ctx.Args[1:] {
		switch {
		case command.EqualFold(a, "nosave"):
			noSave = true
		case command.EqualFold(a, "save"):
			save = true
		case command.EqualFold(a, "now"), command.EqualFold(a, "force"):
		case command.EqualFold(a, "abort"):
			abort = true
		default:
			ctx.Err(command.ErrSyntax)
			return
		}
	}
	if (save && noSave) || (abort && len(ctx.Args) != 2) {
		ctx.Err(command.ErrSyntax)
		return
	}
	if abort {
		ctx.Err("ERR No shutdown in progress.")
		return
	}
	done := make(chan error, 1)
	c.srv.shutdownCh <- shutdownRequest{save: save, noSave: noSave, done: done}
	if err := <-done; err != nil {
		ctx.Err("ERR Errors trying to SHUTDOWN. Check logs.")
		return
	}
	// The server is gone: the connection closes without a reply, as in Redis.
	c.closeAfter = true
}

// saveOnShutdown writes the dataset when save points are configured. Reef
// has no persistence yet, so there is nothing it could write: refusing to
// pretend, it logs that no snapshot was taken.
func (s *Server) saveOnShutdown() error {
	s.log.Warn("Saving the final RDB snapshot before exiting is not supported yet: the dataset is not persisted.")
	return nil
}

// debugCommand implements the DEBUG subcommands Reef supports.
func debugCommand(ctx *command.Ctx) {
	c := clientOf(ctx)
	s := c.srv
	sub := strings.ToLower(string(ctx.Args[1]))
	switch {
	case sub == "sleep" && len(ctx.Args) == 3:
		f, ok := rconv.ParseFloat(ctx.Args[2])
		if !ok {
			ctx.Err(command.ErrNotFloat)
			return
		}
		time.Sleep(time.Duration(f * float64(time.Second)))
		ctx.OK()
	case sub == "set-active-expire" && len(ctx.Args) == 3:
		n, ok := rconv.ParseInt(ctx.Args[2])
		if !ok {
			ctx.Err(command.ErrNotInt)
			return
		}
		s.activeExpire.Store(n != 0)
		ctx.OK()
	case sub == "populate" && len(ctx.Args) >= 3 && len(ctx.Args) <= 5:
		debugPopulate(ctx)
	case sub == "object" && len(ctx.Args) == 3:
		key := ctx.Args[2]
		sl := slot.Of(key)
		s.ks.Lock(sl)
		v := s.ks.Get(ctx.DB, sl, key)
		var line string
		if v != nil {
			line = fmt.Sprintf("Value at:%p refcount:1 encoding:%s serializedlength:%d lru:%d lru_seconds_idle:%d",
				v.Ptr(), command.EncodingOf(*v), command.SerializedLength(*v), v.LRU(), command.IdleSeconds(s.lruClock.Load(), v.LRU()))
		}
		s.ks.Unlock(sl)
		if v == nil {
			ctx.Err("ERR no such key")
			return
		}
		ctx.Simple(line)
	case sub == "help":
		command.HelpReply(ctx, "DEBUG", []string{
			"OBJECT <key>",
			"    Show low level info about the `key` and associated value.",
			"POPULATE <count> [<prefix>] [<size>]",
			"    Create <count> string keys named key:<num>. If <prefix> is specified then",
			"    it is used instead of the 'key' prefix. These are not propagated to",
			"    replicas. Cluster slots are not respected so keys not belonging to the",
			"    current node can be created in cluster mode.",
			"SET-ACTIVE-EXPIRE <0|1>",
			"    Setting it to 0 disables expiring keys in background when they are not",
			"    accessed (otherwise the Redis behavior). Setting it to 1 reenables back the",
			"    default.",
			"SLEEP <seconds>",
			"    Stop the server for <seconds>. Decimals allowed.",
		})
	default:
		ctx.Err("ERR unknown subcommand or wrong number of arguments for '" + string(ctx.Args[1]) + "'. Try DEBUG HELP.")
	}
}

// debugPopulate is DEBUG POPULATE count [prefix] [size]: keys prefix:N with
// values "value:N" padded with zero bytes (or truncated) to size.
func debugPopulate(ctx *command.Ctx) {
	count, ok := rconv.ParseInt(ctx.Args[2])
	if !ok || count < 0 {
		ctx.Err("ERR value is out of range, must be positive")
		return
	}
	prefix := []byte("key")
	if len(ctx.Args) >= 4 {
		prefix = ctx.Args[3]
	}
	size := int64(-1)
	if len(ctx.Args) == 5 {
		n, ok := rconv.ParseInt(ctx.Args[4])
		if !ok || n < 0 {
			ctx.Err("ERR value is out of range, must be positive")
			return
		}
		size = n
	}
	ks := ctx.KS
	key := make([]byte, 0, len(prefix)+24)
	for j := int64(0); j < count; j++ {
		key = append(append(key[:0], prefix...), ':')
		key = strconv.AppendInt(key, j, 10)
		sl := slot.Of(key)
		ks.Lock(sl)
		if ks.Get(ctx.DB, sl, key) != nil {
			ks.Unlock(sl)
			continue
		}
		var val []byte
		if size < 0 {
			val = strconv.AppendInt([]byte("value:"), j, 10)
		} else {
			val = make([]byte, size)
			copy(val, strconv.AppendInt([]byte("value:"), j, 10))
		}
		ks.Put(ctx.DB, sl, key, keyspace.StringValue(val, keyspace.StringEncodingFor(len(val))), false)
		ks.Unlock(sl)
	}
	ctx.OK()
}

// latency monitor: Reef records no latency events yet, so the replies are
// the empty ones Redis gives when nothing crossed the threshold.
func latencyLatest(ctx *command.Ctx) { ctx.ArrayLen(0) }

func latencyHistory(ctx *command.Ctx) { ctx.ArrayLen(0) }

func latencyReset(ctx *command.Ctx) { ctx.Int(0) }

func latencyHelp(ctx *command.Ctx) {
	command.HelpReply(ctx, "LATENCY", []string{
		"DOCTOR",
		"    Return a human readable latency analysis report.",
		"GRAPH <event>",
		"    Return an ASCII latency graph for the <event> class.",
		"HISTORY <event>",
		"    Return time-latency samples for the <event> class.",
		"LATEST",
		"    Return the latest latency samples for all events.",
		"RESET [<event> ...]",
		"    Reset latency data of one or more <event> classes.",
		"    (default: reset all data for all event classes)",
		"HISTOGRAM [COMMAND ...]",
		"    Return a cumulative distribution of latencies in the format of a histogram for the specified command names.",
		"    If no commands are specified then all histograms are replied.",
	})
}

// memoryUsage is MEMORY USAGE key [SAMPLES n]: an estimate of the bytes the
// key and its value take.
func memoryUsage(ctx *command.Ctx) {
	if len(ctx.Args) != 3 && len(ctx.Args) != 5 {
		ctx.Err(command.ErrSyntax)
		return
	}
	if len(ctx.Args) == 5 {
		if !command.EqualFold(ctx.Args[3], "samples") {
			ctx.Err(command.ErrSyntax)
			return
		}
		if n, ok := rconv.ParseInt(ctx.Args[4]); !ok || n < 0 {
			ctx.Err(command.ErrNotInt)
			return
		}
	}
	// The server has locked the key's slot (MEMORY USAGE has a key spec).
	key := ctx.Args[2]
	v := ctx.KS.Get(ctx.DB, slot.Of(key), key)
	if v == nil {
		ctx.Null()
		return
	}
	ctx.Int(command.MemoryUsage(key, *v))
}

func memoryHelp(ctx *command.Ctx) {
	command.HelpReply(ctx, "MEMORY", []string{
		"DOCTOR",
		"    Return memory problems reports.",
		"MALLOC-STATS",
		"    Return internal statistics report from the memory allocator.",
		"PURGE",
		"    Attempt to purge dirty pages for reclamation by the allocator.",
		"STATS",
		"    Return information about the memory usage of the server.",
		"USAGE <key> [SAMPLES <count>]",
		"    Return memory in bytes used by <key> and its value. Nested values are",
		"    sampled up to <count> times (default: 5, 0 means sample all).",
	})
}
