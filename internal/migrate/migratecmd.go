package migrate

import (
	"bufio"
	"errors"
	"math/rand/v2"
	"net"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/reefkv/reef/internal/command"
	"github.com/reefkv/reef/internal/keyspace"
	"github.com/reefkv/reef/internal/rconv"
	"github.com/reefkv/reef/internal/resp"
)

// MIGRATE (Redis 7.0's migrateCommand) and its cache of connections to
// targets (migrate_cached_sockets).
//
// MIGRATE runs with the slots of its keys locked, like every keyed command,
// and keeps them locked across the round trip to the target: Redis blocks
// its whole event loop for that time, Reef blocks only those slots. That is
// what makes it atomic: nobody changes a key between its serialization and
// its deletion.

// Cache limits of Redis's migrate_cached_sockets.
const (
	socketCacheItems = 64               // MIGRATE_SOCKET_CACHE_ITEMS
	socketCacheTTL   = 10 * time.Second // MIGRATE_SOCKET_CACHE_TTL
)

// cachedSocket is one connection to a target, with the database it last
// selected (-1: unknown) and when it was last used.
type cachedSocket struct {
	name     string
	conn     net.Conn
	r        *bufio.Reader
	lastDB   int64
	lastUsed time.Time
}

// Sockets caches connections to MIGRATE targets by "host:port". Each cached
// connection serves one MIGRATE at a time: a command takes it out of the
// cache and puts it back when done, so concurrent MIGRATEs to the same
// target (on different slots) each get a connection of their own.
type Sockets struct {
	mu    sync.Mutex
	idle  map[string][]*cachedSocket
	count int
	dial  func(addr string, timeout time.Duration) (net.Conn, error)
}

// NewSockets returns an empty cache.
func NewSockets() *Sockets {
	return &Sockets{idle: map[string][]*cachedSocket{}, dial: func(addr string, timeout time.Duration) (net.Conn, error) {
		return net.DialTimeout("tcp", addr, timeout)
	}}
}

// get returns a cached connection to name or dials one.
func (s *Sockets) get(host, port string, timeout time.Duration) (*cachedSocket, error) {
	name := host + ":" + port
	s.mu.Lock()
	if l := s.idle[name]; len(l) > 0 {
		cs := l[len(l)-1]
		s.idle[name] = l[:len(l)-1]
		s.count--
		s.mu.Unlock()
		cs.lastUsed = time.Now()
		return cs, nil
	}
	s.mu.Unlock()
	conn, err := s.dial(net.JoinHostPort(host, port), timeout)
	if err != nil {
		return nil, err
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		tc.SetNoDelay(true)
	}
	return &cachedSocket{name: name, conn: conn, r: bufio.NewReaderSize(conn, 4096), lastDB: -1, lastUsed: time.Now()}, nil
}

// put returns cs to the cache, dropping a random entry when it is full.
func (s *Sockets) put(cs *cachedSocket) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.count >= socketCacheItems {
		// Too many: drop one at random, as Redis does.
		n := rand.IntN(s.count)
		for name, l := range s.idle {
			if n < len(l) {
				l[n].conn.Close()
				s.idle[name] = append(l[:n], l[n+1:]...)
				s.count--
				break
			}
			n -= len(l)
		}
	}
	s.idle[cs.name] = append(s.idle[cs.name], cs)
	s.count++
}

// closeName closes every cached connection to name (after a socket error,
// as migrateCloseSocket).
func (s *Sockets) closeName(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, cs := range s.idle[name] {
		cs.conn.Close()
		s.count--
	}
	delete(s.idle, name)
}

// CloseIdle closes connections unused for more than 10 seconds
// (migrateCloseTimedoutSockets); the server calls it from its cron.
func (s *Sockets) CloseIdle(now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for name, l := range s.idle {
		keep := l[:0]
		for _, cs := range l {
			if now.Sub(cs.lastUsed) > socketCacheTTL {
				cs.conn.Close()
				s.count--
			} else {
				keep = append(keep, cs)
			}
		}
		if len(keep) == 0 {
			delete(s.idle, name)
		} else {
			s.idle[name] = keep
		}
	}
}

// Close closes every cached connection.
func (s *Sockets) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, l := range s.idle {
		for _, cs := range l {
			cs.conn.Close()
		}
	}
	s.idle = map[string][]*cachedSocket{}
	s.count = 0
}

// Len returns the number of cached connections.
func (s *Sockets) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.count
}

// Commands returns the MIGRATE command, with Redis's key-finding procedure.
func Commands(socks *Sockets, codec Codec) command.Family {
	return command.Family{
		Commands: map[string]command.Handler{"migrate": func(c *command.Ctx) { migrateCommand(c, socks, codec) }},
		GetKeys:  map[string]func(args [][]byte) []int{"migrate": command.MigrateGetKeys},
	}
}

func migrateCommand(c *command.Ctx, socks *Sockets, codec Codec) {
	args := c.Args
	copyOpt, replace := false, false
	var username, password []byte
	firstKey, numKeys := 3, 1
	for j := 6; j < len(args); j++ {
		more := len(args) - 1 - j
		switch {
		case command.EqualFold(args[j], "copy"):
			copyOpt = true
		case command.EqualFold(args[j], "replace"):
			replace = true
		case command.EqualFold(args[j], "auth"):
			if more == 0 {
				c.Err(command.ErrSyntax)
				return
			}
			j++
			password = args[j]
		case command.EqualFold(args[j], "auth2"):
			if more < 2 {
				c.Err(command.ErrSyntax)
				return
			}
			username, password = args[j+1], args[j+2]
			j += 2
		case command.EqualFold(args[j], "keys"):
			if len(args[3]) != 0 {
				c.Err("ERR When using MIGRATE KEYS option, the key argument must be set to the empty string")
				return
			}
			firstKey, numKeys = j+1, len(args)-j-1
			j = len(args)
		default:
			c.Err(command.ErrSyntax)
			return
		}
	}
	timeoutMS, ok1 := rconv.ParseInt(args[5])
	dbid, ok2 := rconv.ParseInt(args[4])
	if !ok1 || !ok2 {
		c.Err(command.ErrNotInt)
		return
	}
	if timeoutMS <= 0 {
		timeoutMS = 1000
	}
	timeout := time.Duration(timeoutMS) * time.Millisecond

	keys := make([][]byte, 0, numKeys)
	vals := make([]keyspace.Value, 0, numKeys)
	for j := 0; j < numKeys; j++ {
		k := args[firstKey+j]
		if v := c.LookupRead(k); v != nil {
			keys = append(keys, k)
			vals = append(vals, *v)
		}
	}
	if len(keys) == 0 {
		c.Simple("NOKEY")
		return
	}
	restoreName := "RESTORE"
	if c.Cfg.ClusterEnabled {
		restoreName = "RESTORE-ASKING"
	}
	host, port := string(args[1]), string(args[2])
	mayRetry := true
	for {
		cs, err := socks.get(host, port, timeout)
		if err != nil {
			if isTimeout(err) || !errors.Is(err, syscall.ECONNREFUSED) {
				c.Err("IOERR error or timeout connecting to the client")
				return
			}
			// Redis connects without blocking, so a refused connection
			// shows up as a failed write (retried once).
			if mayRetry {
				mayRetry = false
				continue
			}
			c.Err("IOERR error or timeout writing to target instance")
			return
		}
		var cmd []byte
		if password != nil {
			if username != nil {
				cmd = resp.AppendArrayLen(cmd, 3)
				cmd = resp.AppendBulkString(cmd, "AUTH")
				cmd = resp.AppendBulk(cmd, username)
			} else {
				cmd = resp.AppendArrayLen(cmd, 2)
				cmd = resp.AppendBulkString(cmd, "AUTH")
			}
			cmd = resp.AppendBulk(cmd, password)
		}
		sel := cs.lastDB != dbid
		if sel {
			cmd = resp.AppendArrayLen(cmd, 2)
			cmd = resp.AppendBulkString(cmd, "SELECT")
			cmd = resp.AppendBulkString(cmd, strconv.FormatInt(dbid, 10))
		}
		// Keys that expired since the lookup are skipped.
		sent := keys[:0:0]
		for i, k := range keys {
			var ttl int64
			if at := c.ExpireAt(k); at != -1 {
				ttl = at - c.Now
				if ttl < 0 {
					continue
				}
				if ttl < 1 {
					ttl = 1
				}
			}
			n := 4
			if replace {
				n = 5
			}
			cmd = resp.AppendArrayLen(cmd, n)
			cmd = resp.AppendBulkString(cmd, restoreName)
			cmd = resp.AppendBulk(cmd, k)
			cmd = resp.AppendBulkString(cmd, strconv.FormatInt(ttl, 10))
			payload, err := codec.Dump(vals[i], c.Cfg)
			if err != nil {
				socks.put(cs)
				c.Err("ERR " + err.Error())
				return
			}
			cmd = resp.AppendBulk(cmd, payload)
			if replace {
				cmd = resp.AppendBulkString(cmd, "REPLACE")
			}
			sent = append(sent, k)
		}
		res := exchange(cs, cmd, password != nil, sel, len(sent), timeout)
		if res.ioErr != nil && res.acked == 0 && res.targetErr == "" && mayRetry && !isTimeout(res.ioErr) {
			// A stale cached socket: close it and try once more.
			cs.conn.Close()
			socks.closeName(cs.name)
			mayRetry = false
			continue
		}
		var deleted [][]byte
		if !copyOpt {
			for i, k := range sent {
				if i < len(res.ok) && res.ok[i] {
					c.DeleteMigrated(k)
					deleted = append(deleted, k)
				}
			}
			if len(deleted) > 0 {
				c.Rewritten = [][][]byte{append([][]byte{[]byte("DEL")}, deleted...)}
			}
		}
		switch {
		case res.targetErr != "":
			cs.lastDB = -1
			if res.ioErr != nil {
				cs.conn.Close()
				socks.closeName(cs.name)
			} else {
				socks.put(cs)
			}
			c.Err("ERR Target instance replied with error: " + res.targetErr)
		case res.ioErr != nil:
			cs.conn.Close()
			socks.closeName(cs.name)
			what := "reading"
			if res.writeErr {
				what = "writing"
			}
			c.Err("IOERR error or timeout " + what + " to target instance")
		default:
			cs.lastDB = dbid
			socks.put(cs)
			c.OK()
		}
		return
	}
}

// exchangeResult is what the target answered.
type exchangeResult struct {
	ok        []bool // per RESTORE: acknowledged
	acked     int    // RESTORE replies read
	targetErr string // first error line, without its '-'
	ioErr     error
	writeErr  bool
}

// exchange sends cmd and reads the AUTH, SELECT and n RESTORE replies.
func exchange(cs *cachedSocket, cmd []byte, auth, sel bool, n int, timeout time.Duration) exchangeResult {
	var res exchangeResult
	cs.conn.SetWriteDeadline(time.Now().Add(timeout))
	for pos := 0; pos < len(cmd); {
		end := min(pos+64<<10, len(cmd))
		w, err := cs.conn.Write(cmd[pos:end])
		if err != nil {
			res.ioErr, res.writeErr = err, true
			return res
		}
		pos += w
	}
	readLine := func() (string, error) {
		cs.conn.SetReadDeadline(time.Now().Add(timeout))
		line, err := cs.r.ReadString('\n')
		if err != nil {
			return "", err
		}
		if len(line) >= 2 && line[len(line)-2] == '\r' {
			line = line[:len(line)-2]
		} else {
			line = line[:len(line)-1]
		}
		if line == "" {
			return "", errors.New("empty reply line")
		}
		return line, nil
	}
	var authLine, selLine string
	var err error
	if auth {
		if authLine, err = readLine(); err != nil {
			res.ioErr = err
			return res
		}
	}
	if sel {
		if selLine, err = readLine(); err != nil {
			res.ioErr = err
			return res
		}
	}
	res.ok = make([]bool, n)
	for i := 0; i < n; i++ {
		line, err := readLine()
		if err != nil {
			res.ioErr = err
			return res
		}
		res.acked++
		switch {
		case auth && authLine[0] == '-':
			if res.targetErr == "" {
				res.targetErr = authLine[1:]
			}
		case sel && selLine[0] == '-':
			if res.targetErr == "" {
				res.targetErr = selLine[1:]
			}
		case line[0] == '-':
			if res.targetErr == "" {
				res.targetErr = line[1:]
			}
		default:
			res.ok[i] = true
		}
	}
	return res
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
