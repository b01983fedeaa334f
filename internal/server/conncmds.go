package server

import (
	"crypto/subtle"
	"strconv"
	"strings"
	"time"

	"github.com/reefkv/reef/internal/command"
	"github.com/reefkv/reef/internal/rconv"
	"github.com/reefkv/reef/internal/resp"
)

// serverFamily returns the commands implemented by the server itself: those
// about connections, clients, transactions and the server's own state.
func (s *Server) serverFamily() command.Family {
	return command.Family{
		Commands: map[string]command.Handler{
			"ping":     pingCommand,
			"echo":     func(ctx *command.Ctx) { ctx.Bulk(ctx.Args[1]) },
			"hello":    helloCommand,
			"auth":     authCommand,
			"select":   selectCommand,
			"quit":     quitCommand,
			"reset":    resetCommand,
			"client":   nil,
			"command":  commandCommand,
			"multi":    multiCommand,
			"exec":     execCommand,
			"discard":  discardCommand,
			"watch":    watchCommand,
			"unwatch":  unwatchCommand,
			"info":     infoCommand,
			"config":   nil,
			"time":     timeCommand,
			"lastsave": func(ctx *command.Ctx) { ctx.Int(clientOf(ctx).srv.lastSave.Load()) },
			"slowlog":  nil,
			"latency":  nil,
			"memory":   nil,
			"debug":    debugCommand,
			"monitor":  monitorCommand,
			"shutdown": shutdownCommand,
		},
		Subcommands: map[string]map[string]command.Handler{
			"client": {
				"id":      func(ctx *command.Ctx) { ctx.Int(int64(clientOf(ctx).id)) },
				"setname": clientSetname,
				"getname": clientGetname,
				"list":    clientList,
				"info": func(ctx *command.Ctx) {
					ctx.Out = resp.AppendVerbatim(ctx.Out, ctx.Proto, "txt", []byte(clientOf(ctx).infoLine(true)+"\n"))
				},
				"kill":     clientKill,
				"unblock":  clientUnblock,
				"pause":    clientPause,
				"unpause":  clientUnpause,
				"reply":    clientReply,
				"no-evict": clientNoEvict,
				"help":     clientHelp,
			},
			"command": {
				"count":           func(ctx *command.Ctx) { ctx.Int(int64(clientOf(ctx).srv.table.Count())) },
				"info":            commandInfo,
				"docs":            commandDocs,
				"getkeys":         func(ctx *command.Ctx) { commandGetKeys(ctx, false) },
				"getkeysandflags": func(ctx *command.Ctx) { commandGetKeys(ctx, true) },
				"list":            commandList,
				"help":            commandHelp,
			},
			"config": {
				"get":       configGet,
				"set":       configSet,
				"resetstat": configResetstat,
				"rewrite":   configRewrite,
				"help":      configHelp,
			},
			"slowlog": {
				"get":   slowlogGet,
				"len":   func(ctx *command.Ctx) { ctx.Int(int64(clientOf(ctx).srv.slowlog.len())) },
				"reset": func(ctx *command.Ctx) { clientOf(ctx).srv.slowlog.reset(); ctx.OK() },
				"help":  slowlogHelp,
			},
			"latency": {
				"latest":    latencyLatest,
				"history":   latencyHistory,
				"reset":     latencyReset,
				"doctor":    latencyDoctor,
				"graph":     latencyGraph,
				"histogram": latencyHistogram,
				"help":      latencyHelp,
			},
			"memory": {
				"usage":        memoryUsage,
				"doctor":       memoryDoctor,
				"stats":        memoryStats,
				"purge":        memoryPurge,
				"malloc-stats": func(ctx *command.Ctx) { ctx.BulkString("Stats not supported for the current allocator") },
				"help":         memoryHelp,
			},
		},
		SelfLocking: map[string]bool{"debug": true},
	}
}

func pingCommand(ctx *command.Ctx) {
	if len(ctx.Args) > 2 {
		ctx.Err(command.ErrArity("ping"))
		return
	}
	if pingSubscribed(ctx) {
		return
	}
	if len(ctx.Args) == 2 {
		ctx.Bulk(ctx.Args[1])
		return
	}
	ctx.Simple("PONG")
}

// checkPassword compares in constant time.
func checkPassword(given []byte, want string) bool {
	return subtle.ConstantTimeCompare(given, []byte(want)) == 1
}

const errWrongPass = "WRONGPASS invalid username-password pair or user is disabled."

// authCommand is AUTH [username] password for the default user, the only
// user Reef has.
func authCommand(ctx *command.Ctx) {
	c := clientOf(ctx)
	cfg := ctx.Cfg
	if len(ctx.Args) > 3 {
		ctx.Err(command.ErrSyntax)
		return
	}
	if len(ctx.Args) == 2 && cfg.RequirePass == "" {
		ctx.Err("ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?")
		return
	}
	user, pass := []byte("default"), ctx.Args[1]
	if len(ctx.Args) == 3 {
		user, pass = ctx.Args[1], ctx.Args[2]
	}
	if !c.authenticate(user, pass) {
		ctx.Err(errWrongPass)
		return
	}
	ctx.OK()
}

// authenticate checks credentials for the default user.
func (c *Client) authenticate(user, pass []byte) bool {
	cfg := c.srv.cfg.Get()
	if string(user) != "default" {
		return false
	}
	if cfg.RequirePass != "" && !checkPassword(pass, cfg.RequirePass) {
		return false
	}
	c.authenticated = true
	return true
}

// helloCommand is HELLO [protover [AUTH username password] [SETNAME name]].
func helloCommand(ctx *command.Ctx) {
	c := clientOf(ctx)
	ver := int64(0)
	next := 1
	if len(ctx.Args) >= 2 {
		n, ok := rconv.ParseInt(ctx.Args[1])
		if !ok {
			ctx.Err("ERR Protocol version is not an integer or out of range")
			return
		}
		next = 2
		if n < 2 || n > 3 {
			ctx.Err("NOPROTO unsupported protocol version")
			return
		}
		ver = n
	}
	var setname []byte
	hasName := false
	for j := next; j < len(ctx.Args); j++ {
		more := len(ctx.Args) - j - 1
		switch {
		case command.EqualFold(ctx.Args[j], "auth") && more >= 2:
			if !c.authenticate(ctx.Args[j+1], ctx.Args[j+2]) {
				ctx.Err(errWrongPass)
				return
			}
			j += 2
		case command.EqualFold(ctx.Args[j], "setname") && more >= 1:
			setname = ctx.Args[j+1]
			hasName = true
			j++
		default:
			ctx.Err("ERR Syntax error in HELLO option '" + cstr(ctx.Args[j]) + "'")
			return
		}
	}
	if !c.authenticated {
		ctx.Err("NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time")
		return
	}
	if hasName {
		if msg := validClientName(setname); msg != "" {
			ctx.Err(msg)
			return
		}
		c.mu.Lock()
		c.name = string(setname)
		c.mu.Unlock()
	}
	if ver != 0 {
		c.mu.Lock()
		c.proto = int(ver)
		c.mu.Unlock()
		ctx.Proto = int(ver)
	}
	role := "master"
	if c.srv.IsReplica() {
		role = "replica"
	}
	ctx.MapLen(7)
	ctx.BulkString("server")
	ctx.BulkString("redis")
	ctx.BulkString("version")
	ctx.BulkString(command.RedisVersion)
	ctx.BulkString("proto")
	ctx.Int(int64(ctx.Proto))
	ctx.BulkString("id")
	ctx.Int(int64(c.id))
	ctx.BulkString("mode")
	ctx.BulkString(c.srv.mode())
	ctx.BulkString("role")
	ctx.BulkString(role)
	ctx.BulkString("modules")
	ctx.ArrayLen(0)
}

func selectCommand(ctx *command.Ctx) {
	n, ok := ctx.IntArg(ctx.Args[1], "")
	if !ok {
		return
	}
	if ctx.Cfg.ClusterEnabled && n != 0 {
		ctx.Err("ERR SELECT is not allowed in cluster mode")
		return
	}
	if n < 0 || n >= ctx.KS.Databases() {
		ctx.Err("ERR DB index is out of range")
		return
	}
	ctx.DB = n
	ctx.OK()
}

func quitCommand(ctx *command.Ctx) {
	clientOf(ctx).closeAfter = true
	ctx.OK()
}

// resetCommand returns the connection to its initial state (RESET).
func resetCommand(ctx *command.Ctx) {
	c := clientOf(ctx)
	c.discardMulti()
	c.srv.unwatchAll(c)
	c.unsubscribeAll()
	if c.monitor {
		c.srv.monitors.remove(c)
		c.monitor = false
	}
	c.mu.Lock()
	c.name = ""
	c.proto = resp.RESP2
	c.noEvict = false
	c.mu.Unlock()
	c.replyMode = replyOn
	c.readonly = false
	c.asking = false
	c.authenticated = ctx.Cfg.RequirePass == ""
	ctx.Proto = resp.RESP2
	ctx.DB = 0
	ctx.Simple("RESET")
}

// validClientName returns Redis's error for a bad client name, or "".
func validClientName(name []byte) string {
	for _, ch := range name {
		if ch < '!' || ch > '~' {
			return "ERR Client names cannot contain spaces, newlines or special characters."
		}
	}
	return ""
}

func clientSetname(ctx *command.Ctx) {
	c := clientOf(ctx)
	if msg := validClientName(ctx.Args[2]); msg != "" {
		ctx.Err(msg)
		return
	}
	c.mu.Lock()
	c.name = string(ctx.Args[2])
	c.mu.Unlock()
	ctx.OK()
}

func clientGetname(ctx *command.Ctx) {
	c := clientOf(ctx)
	c.mu.Lock()
	name := c.name
	c.mu.Unlock()
	if name == "" {
		ctx.Null()
		return
	}
	ctx.BulkString(name)
}

// sortedClients returns a snapshot of the clients ordered by id.
func (s *Server) sortedClients() []*Client {
	s.clientsMu.Lock()
	cs := make([]*Client, 0, len(s.clients))
	for _, c := range s.clients {
		// A killed client is gone for its peers, as Redis frees it at once,
		// even if its goroutine or loop has not cleaned it up yet.
		if !c.killed.Load() {
			cs = append(cs, c)
		}
	}
	s.clientsMu.Unlock()
	sortClients(cs)
	return cs
}

func clientList(ctx *command.Ctx) {
	c := clientOf(ctx)
	var ids map[uint64]bool
	var typeFilter func(*Client) bool
	if len(ctx.Args) > 2 {
		switch {
		case command.EqualFold(ctx.Args[2], "type") && len(ctx.Args) == 4:
			t := strings.ToLower(string(ctx.Args[3]))
			if t != "normal" && t != "master" && t != "replica" && t != "slave" && t != "pubsub" {
				ctx.Err("ERR Unknown client type '" + cstr(ctx.Args[3]) + "'")
				return
			}
			typeFilter = func(cl *Client) bool { return typeMatches(cl, t) }
		case command.EqualFold(ctx.Args[2], "id") && len(ctx.Args) >= 4:
			ids = map[uint64]bool{}
			for _, a := range ctx.Args[3:] {
				n, ok := rconv.ParseInt(a)
				if !ok {
					ctx.Err("ERR Invalid client ID")
					return
				}
				ids[uint64(n)] = true
			}
		default:
			ctx.Err(command.ErrSyntax)
			return
		}
	}
	var b strings.Builder
	for _, cl := range c.srv.sortedClients() {
		if ids != nil && !ids[cl.id] {
			continue
		}
		if typeFilter != nil && !typeFilter(cl) {
			continue
		}
		b.WriteString(cl.infoLine(cl == clientOf(ctx)))
		b.WriteByte('\n')
	}
	ctx.Out = resp.AppendVerbatim(ctx.Out, ctx.Proto, "txt", []byte(b.String()))
}

// clientKill implements both CLIENT KILL ip:port and the filter form
// CLIENT KILL [ID id] [ADDR ip:port] [LADDR ip:port] [USER u] [SKIPME yes/no].
func clientKill(ctx *command.Ctx) {
	c := clientOf(ctx)
	s := c.srv
	if len(ctx.Args) == 3 {
		addr := string(ctx.Args[2])
		for _, cl := range s.sortedClients() {
			if cl.addr == addr {
				cl.killFrom(c)
				ctx.OK()
				return
			}
		}
		ctx.Err("ERR No such client")
		return
	}
	if len(ctx.Args)%2 != 0 {
		ctx.Err(command.ErrSyntax)
		return
	}
	var id uint64
	var addr, laddr, user, typ string
	skipMe := true
	for j := 2; j < len(ctx.Args); j += 2 {
		opt, val := ctx.Args[j], string(ctx.Args[j+1])
		switch {
		case command.EqualFold(opt, "id"):
			n, ok := rconv.ParseInt([]byte(val))
			if !ok || n <= 0 {
				ctx.Err("ERR client-id should be greater than 0")
				return
			}
			id = uint64(n)
		case command.EqualFold(opt, "addr"):
			addr = val
		case command.EqualFold(opt, "laddr"):
			laddr = val
		case command.EqualFold(opt, "user"):
			user = val
			if user != "default" {
				ctx.Err("ERR No such user '" + cstr([]byte(user)) + "'")
				return
			}
		case command.EqualFold(opt, "type"):
			typ = strings.ToLower(val)
			if typ != "normal" && typ != "master" && typ != "replica" && typ != "slave" && typ != "pubsub" {
				ctx.Err("ERR Unknown client type '" + cstr([]byte(val)) + "'")
				return
			}
		case command.EqualFold(opt, "skipme"):
			switch strings.ToLower(val) {
			case "yes":
				skipMe = true
			case "no":
				skipMe = false
			default:
				ctx.Err(command.ErrSyntax)
				return
			}
		default:
			ctx.Err(command.ErrSyntax)
			return
		}
	}
	killed := int64(0)
	for _, cl := range s.sortedClients() {
		if id != 0 && cl.id != id || addr != "" && cl.addr != addr || laddr != "" && cl.laddr != laddr {
			continue
		}
		if typ != "" && !typeMatches(cl, typ) {
			continue
		}
		if cl == c && skipMe {
			continue
		}
		cl.killFrom(c)
		killed++
	}
	ctx.Int(killed)
}

// killFrom closes cl on behalf of by; a client killing itself gets its reply
// first, as in Redis.
func (cl *Client) killFrom(by *Client) {
	if cl == by {
		cl.closeAfter = true
		return
	}
	cl.kill()
}

func clientReply(ctx *command.Ctx) {
	c := clientOf(ctx)
	switch {
	case command.EqualFold(ctx.Args[2], "on"):
		c.replyMode = replyOn
		c.monitorMuted.Store(false)
		ctx.OK()
	case command.EqualFold(ctx.Args[2], "off"):
		c.replyMode = replyOff
		c.monitorMuted.Store(c.monitor)
	case command.EqualFold(ctx.Args[2], "skip"):
		if c.replyMode == replyOn {
			c.replyMode = replySkipNext
		}
	default:
		ctx.Err(command.ErrSyntax)
	}
}

func clientNoEvict(ctx *command.Ctx) {
	c := clientOf(ctx)
	switch {
	case command.EqualFold(ctx.Args[2], "on"):
		c.mu.Lock()
		c.noEvict = true
		c.mu.Unlock()
	case command.EqualFold(ctx.Args[2], "off"):
		c.mu.Lock()
		c.noEvict = false
		c.mu.Unlock()
	default:
		ctx.Err(command.ErrSyntax)
		return
	}
	ctx.OK()
}

func clientHelp(ctx *command.Ctx) {
	command.HelpReply(ctx, "CLIENT", []string{
		"CACHING (YES|NO)",
		"    Enable/disable tracking of the keys for next command in OPTIN/OPTOUT modes.",
		"GETREDIR",
		"    Return the client ID we are redirecting to when tracking is enabled.",
		"GETNAME",
		"    Return the name of the current connection.",
		"ID",
		"    Return the ID of the current connection.",
		"INFO",
		"    Return information about the current client connection.",
		"KILL <ip:port>",
		"    Kill connection made from <ip:port>.",
		"KILL <option> <value> [<option> <value> [...]]",
		"    Kill connections. Options are:",
		"    * ADDR (<ip:port>|<unixsocket>:0)",
		"      Kill connections made from the specified address",
		"    * LADDR (<ip:port>|<unixsocket>:0)",
		"      Kill connections made to specified local address",
		"    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
		"      Kill connections by type.",
		"    * USER <username>",
		"      Kill connections authenticated by <username>.",
		"    * SKIPME (YES|NO)",
		"      Skip killing current connection (default: yes).",
		"LIST [options ...]",
		"    Return information about client connections. Options:",
		"    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
		"      Return clients of specified type.",
		"UNPAUSE",
		"    Stop the current client pause, resuming traffic.",
		"PAUSE <timeout> [WRITE|ALL]",
		"    Suspend all, or just write, clients for <timeout> milliseconds.",
		"REPLY (ON|OFF|SKIP)",
		"    Control the replies sent to the current connection.",
		"SETNAME <name>",
		"    Assign the name <name> to the current connection.",
		"UNBLOCK <clientid> [TIMEOUT|ERROR]",
		"    Unblock the specified blocked client.",
		"TRACKING (ON|OFF) [REDIRECT <id>] [BCAST] [PREFIX <prefix> [...]]",
		"         [OPTIN] [OPTOUT] [NOLOOP]",
		"    Control server assisted client side caching.",
		"TRACKINGINFO",
		"    Report tracking status for the current connection.",
		"NO-EVICT (ON|OFF)",
		"    Protect current client connection from eviction.",
	})
}

func timeCommand(ctx *command.Ctx) {
	now := time.Now()
	ctx.ArrayLen(2)
	ctx.BulkString(strconv.FormatInt(now.Unix(), 10))
	ctx.BulkString(strconv.FormatInt(int64(now.Nanosecond()/1000), 10))
}
