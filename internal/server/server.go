package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/reefkv/reef/internal/clock"
	"github.com/reefkv/reef/internal/command"
	"github.com/reefkv/reef/internal/config"
	"github.com/reefkv/reef/internal/keyspace"
	"github.com/reefkv/reef/internal/latency"
	"github.com/reefkv/reef/internal/logging"
	"github.com/reefkv/reef/internal/repl"
)

// Version is Reef's own version, reported as reef_version in INFO. Clients
// see redis_version 7.0.15, the Redis release Reef is compatible with.
const Version = "0.1.0"

// Server is one Reef node.
type Server struct {
	cfg    *config.Live
	log    *slog.Logger
	logOut *logging.Output
	ks     *keyspace.Keyspace
	evict  *evictor // maxmemory (evict.go)
	table  *command.Table

	runID     string
	startTime time.Time

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	lmu       sync.Mutex
	listeners []net.Listener

	clientsMu  sync.Mutex
	clients    map[uint64]*Client
	nextID     atomic.Uint64
	numClients atomic.Int64

	stats    stats
	lruClock atomic.Uint32
	// coarseMs is unix time in ms refreshed by the cron (Redis's cached
	// server.unixtime): precise enough for idle times, and free to read.
	coarseMs atomic.Int64
	dirty    atomic.Int64
	lastSave atomic.Int64

	pause pauseState
	// shutdownPause holds writes while SHUTDOWN waits for its replicas,
	// apart from CLIENT PAUSE (Redis's PAUSE_DURING_SHUTDOWN purpose).
	shutdownPause pauseState
	monitors      monitorSet
	slowlog       slowlog
	latency       *latency.Monitor // LATENCY's spikes (latency-monitor-threshold)
	procs         *procAdapter     // sizes GOMAXPROCS to the load; nil when fixed
	watches       watchRegistry
	loops         []*eventLoop // event loops serving raw-mode clients (loop.go)
	rings         ringPool     // io_uring rings for the loops' runners (batchwrite.go)
	// The loop watchdog sleeps while every loop is idle (loopWatchdog):
	// watchdogAsleep says so, and a runner that takes a client wakes it
	// through watchdogWake.
	watchdogAsleep atomic.Bool
	watchdogWake   chan struct{}
	execMu         sync.Mutex // serializes transactions holding whole-keyspace commands
	// blocked and pubsub are blocking commands (blocking.go) and Pub/Sub
	// (pubsub.go); notifyCache is the parsed notify-keyspace-events.
	blocked     blockRegistry
	pubsub      pubsubRegistry
	notifyCache atomic.Pointer[notifyFlags]
	// cluster is cluster mode (cluster.go), nil when cluster-enabled is no.
	cluster     *clusterNode
	clusterRepl ClusterReplication
	// mig is slot migration (migration.go).
	mig migrationNode
	// repl is replication and RDB persistence (replication.go); loading is
	// set while a dataset is being loaded; applyMu is held by the master
	// link while it applies a command or a MULTI block.
	repl    *repl.Manager
	loading atomic.Bool
	applyMu sync.Mutex
	// flushSaveDue is a FLUSHALL save left for ServeMaster to do once it
	// released applyMu (see flushallSave).
	flushSaveDue atomic.Bool
	errStats     errorStats

	activeExpire atomic.Bool
	memPeak      atomic.Int64
	startupMem   int64          // heap in use once New returns (MEMORY DOCTOR's baseline)
	avgTTL       []atomic.Int64 // per database: INFO keyspace avg_ttl, in ms

	shutdownCh chan shutdownRequest
	exitCode   int
}

// stats are the INFO stats counters.
type stats struct {
	totalConnections    atomic.Int64
	totalCommands       atomic.Int64
	rejectedConnections atomic.Int64
	netInput            atomic.Int64
	netOutput           atomic.Int64
	io                  ioCounts
	expiredKeys         atomic.Int64
	totalErrorReplies   atomic.Int64
	// Active expiry: percentage of stale keys in the last cycle's samples
	// (hundredths), cycles that hit their time budget, time spent.
	expiredStalePerc      atomic.Int64
	expiredTimeCapReached atomic.Int64
	expireCycleMicros     atomic.Int64
}

type shutdownRequest struct {
	// flags are config.ShutdownSave, NoSave, Now (no wait for lagging
	// replicas) and Force (exit even if the save fails), as SHUTDOWN's
	// options and shutdown-on-sigterm/sigint give them.
	flags  int
	reason string
	done   chan error
}

// New builds a server from a loaded configuration. It does not listen yet.
func New(cfg *config.Config, logOut *logging.Output) *Server {
	s := &Server{
		cfg:          config.NewLive(cfg, cfg.ConfigFile),
		logOut:       logOut,
		log:          logOut.Logger(),
		ks:           keyspace.New(cfg.Databases),
		evict:        newEvictor(),
		latency:      latency.NewMonitor(),
		procs:        newProcAdapter(),
		clients:      map[uint64]*Client{},
		startTime:    time.Now(),
		shutdownCh:   make(chan shutdownRequest, 1),
		watchdogWake: make(chan struct{}, 1),
	}
	s.table = command.NewTable(s.families()...)
	s.registerMigrationCommands()
	s.repl = s.newReplManager()
	s.clusterRepl = clusterReplication{s}
	var id [20]byte
	rand.Read(id[:])
	s.runID = hex.EncodeToString(id[:])
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.lastSave.Store(time.Now().Unix())
	s.activeExpire.Store(true)
	s.slowlog.init()
	s.updateLRUClock()
	s.ks.InitSharedLRU(s.lruClock.Load())
	s.registerConfigHooks()
	s.avgTTL = make([]atomic.Int64, cfg.Databases)
	s.startupMem = memoryUsed()
	return s
}

// Config returns the current configuration snapshot.
func (s *Server) Config() *config.Config { return s.cfg.Get() }

// Addr returns the address of the first TCP listener, once Run listens.
func (s *Server) Addr() net.Addr {
	s.lmu.Lock()
	defer s.lmu.Unlock()
	if len(s.listeners) == 0 {
		return nil
	}
	return s.listeners[0].Addr()
}

// Run listens, serves clients and background jobs, and blocks until the
// server shuts down. It returns the process exit code.
func (s *Server) Run() int {
	cfg := s.cfg.Get()
	// From here on the log says the process is the master, as Redis's
	// does once initServer starts (cluster setup and the descriptor limit
	// log as "M").
	s.logOut.SetRole('M')
	fit := fitMaxclients(cfg.MaxClients)
	if fit.fatal != "" {
		s.log.Warn(fit.fatal)
		s.cancel()
		return 1
	}
	for _, w := range fit.warnings {
		s.log.Warn(w)
	}
	if fit.notice != "" {
		s.log.Info(fit.notice)
	}
	if fit.maxclients != cfg.MaxClients {
		s.cfg.Update(func(c *config.Config) { c.MaxClients = fit.maxclients })
		cfg = s.cfg.Get()
	}
	// Cluster mode is set up before the first client is accepted, so that
	// no client sees a node without it (Redis initializes the cluster
	// before its event loop serves anyone).
	if cfg.ClusterEnabled {
		if err := s.startCluster(cfg); err != nil {
			s.cancel()
			s.stopLoops()
			s.wg.Wait()
			return 1
		}
	}
	s.configureMaxmemory(cfg)
	if os.Getenv("REEF_EVENT_LOOP") != "0" {
		if err := s.startLoops(); err != nil {
			s.log.Warn("Event loops unavailable, serving every client with a goroutine: " + err.Error())
		}
	}
	// Until the dataset is loaded (startRepl), a client that connects gets
	// LOADING, as Redis's do: an empty keyspace must not answer for it.
	s.loading.Store(true)
	if err := s.listen(cfg); err != nil {
		s.log.Warn(err.Error())
		s.cancel()
		s.stopLoops()
		s.wg.Wait()
		return 1
	}
	s.log.Info(fmt.Sprintf("Running mode=%s, port=%d.", s.mode(), cfg.Port))
	s.log.Warn("Server initialized")
	// The dataset is loaded before the cluster checks it.
	if err := s.startRepl(); err != nil {
		s.closeListeners()
		s.cancel()
		s.stopLoops()
		s.wg.Wait()
		return 1
	}
	if s.cluster != nil {
		if err := s.clusterVerifyData(); err != nil {
			s.closeListeners()
			s.cancel()
			s.stopLoops()
			s.wg.Wait()
			return 1
		}
	}
	s.startBackground()
	s.log.Info("Ready to accept connections")
	for {
		req := <-s.shutdownCh
		if s.finishShutdown(req) {
			return s.exitCode
		}
	}
}

func (s *Server) mode() string {
	if s.cfg.Get().ClusterEnabled {
		return "cluster"
	}
	return "standalone"
}

// listen binds every configured address. As in Redis, an address prefixed
// with '-' may fail (e.g. IPv6 missing); any other failure is fatal.
func (s *Server) listen(cfg *config.Config) error {
	binds := cfg.Bind
	if len(binds) == 0 {
		binds = []string{"*", "-::*"}
	}
	if cfg.Port == 0 {
		binds = nil // port 0: no TCP, the unix socket only
	}
	for _, b := range binds {
		optional := strings.HasPrefix(b, "-")
		addr := strings.TrimPrefix(b, "-")
		host := addr
		network := "tcp4"
		switch {
		case addr == "*":
			host = "0.0.0.0"
		case addr == "::*":
			host, network = "::", "tcp6"
		case strings.Contains(addr, ":"):
			network = "tcp6"
		}
		l, err := net.Listen(network, net.JoinHostPort(host, strconv.Itoa(cfg.Port)))
		if err != nil {
			if optional && !isAddrInUse(err) {
				continue
			}
			s.log.Warn(fmt.Sprintf("Warning: Could not create server TCP listening socket %s:%d: %s", addr, cfg.Port, describeListenErr(err)))
			s.closeListeners()
			return fmt.Errorf("Failed listening on port %d (TCP), aborting.", cfg.Port)
		}
		s.lmu.Lock()
		s.listeners = append(s.listeners, l)
		s.lmu.Unlock()
	}
	if cfg.UnixSocket != "" {
		// As Redis's anetUnixServer: a stale socket file is replaced.
		os.Remove(cfg.UnixSocket)
		l, err := net.Listen("unix", cfg.UnixSocket)
		if err == nil && cfg.UnixSocketPerm != 0 {
			err = os.Chmod(cfg.UnixSocket, os.FileMode(cfg.UnixSocketPerm))
		}
		if err != nil {
			// Redis's one line before exit(1); Run logs it.
			s.closeListeners()
			return fmt.Errorf("Failed opening Unix socket: %s", describeListenErr(err))
		}
		s.lmu.Lock()
		s.listeners = append(s.listeners, l) // closing it removes the file
		s.lmu.Unlock()
	}
	s.lmu.Lock()
	defer s.lmu.Unlock()
	for _, l := range s.listeners {
		s.wg.Add(1)
		go s.acceptLoop(l)
	}
	return nil
}

func isAddrInUse(err error) bool {
	return strings.Contains(err.Error(), "address already in use")
}

// describeListenErr words a listen error as Redis's anet does ("bind:
// Address already in use").
func describeListenErr(err error) string {
	var op *net.OpError
	if errors.As(err, &op) {
		msg := op.Err.Error()
		if i := strings.LastIndex(msg, ": "); i >= 0 {
			msg = msg[i+2:]
		}
		if len(msg) > 0 {
			msg = strings.ToUpper(msg[:1]) + msg[1:]
		}
		return "bind: " + msg
	}
	return err.Error()
}

func (s *Server) closeListeners() {
	s.lmu.Lock()
	defer s.lmu.Unlock()
	for _, l := range s.listeners {
		l.Close()
	}
	s.listeners = nil
}

func (s *Server) acceptLoop(l net.Listener) {
	defer s.wg.Done()
	for {
		conn, err := l.Accept()
		if err != nil {
			if s.ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return
			}
			s.log.Warn("Accepting client connection: " + err.Error())
			time.Sleep(10 * time.Millisecond)
			continue
		}
		s.acceptClient(conn)
	}
}

// acceptClient applies the checks Redis makes on a new connection
// (maxclients, protected mode) and starts the client's goroutine.
func (s *Server) acceptClient(conn net.Conn) {
	cfg := s.cfg.Get()
	s.stats.totalConnections.Add(1)
	if int(s.numClients.Load()) >= cfg.MaxClients {
		s.stats.rejectedConnections.Add(1)
		conn.SetWriteDeadline(time.Now().Add(time.Second))
		conn.Write([]byte("-ERR max number of clients reached\r\n"))
		conn.Close()
		return
	}
	if cfg.ProtectedMode && cfg.RequirePass == "" && !isLocal(conn) {
		s.stats.rejectedConnections.Add(1)
		conn.SetWriteDeadline(time.Now().Add(time.Second))
		conn.Write([]byte(protectedModeError))
		conn.Close()
		return
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		tc.SetNoDelay(true)
		if cfg.TCPKeepalive > 0 {
			tc.SetKeepAliveConfig(net.KeepAliveConfig{
				Enable:   true,
				Idle:     time.Duration(cfg.TCPKeepalive) * time.Second,
				Interval: time.Duration(max(cfg.TCPKeepalive/3, 1)) * time.Second,
				Count:    3,
			})
		}
	}
	if len(s.loops) > 0 {
		if cc, err := newRawConn(conn); err == nil {
			c := s.newClient(cc)
			l := s.loops[c.id%uint64(len(s.loops))]
			if err := l.add(c, cc.fd); err == nil {
				return
			}
			// Not watchable by epoll: serve it with a goroutine.
			c.cc.toGo()
			c.loop = nil
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				c.serve()
			}()
			return
		}
	}
	c := s.newClient(conn)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		c.serve()
	}()
}

func isLocal(conn net.Conn) bool {
	addr, ok := conn.RemoteAddr().(*net.TCPAddr)
	if !ok {
		return true // unix socket
	}
	return addr.IP.IsLoopback()
}

const protectedModeError = "-DENIED Redis is running in protected mode because protected mode is enabled and no password is set for the default user. In this mode connections are only accepted from the loopback interface. If you want to connect from external computers to Redis you may adopt one of the following solutions: 1) Just disable protected mode sending the command 'CONFIG SET protected-mode no' from the loopback interface by connecting to Redis from the same host the server is running, however MAKE SURE Redis is not publicly accessible from internet if you do so. Use CONFIG REWRITE to make this change permanent. 2) Alternatively you can just disable the protected mode by editing the Redis configuration file, and setting the protected mode option to 'no', and then restarting the server. 3) If you started the server manually just for testing, restart it with the '--protected-mode no' option. 4) Setup a an authentication password for the default user. NOTE: You only need to do one of the above things in order for the server to start accepting connections from the outside.\r\n"

// RequestShutdown asks the server to shut down (signals, SHUTDOWN) with
// config.Shutdown* flags. It returns once the request is queued; reason is
// logged.
func (s *Server) RequestShutdown(reason string, flags int) {
	select {
	case s.shutdownCh <- shutdownRequest{flags: flags, reason: reason}:
	default:
	}
}

// ShutdownOnSignal is the flags shutdown-on-sigterm or shutdown-on-sigint
// give the shutdown a signal asks for.
func (s *Server) ShutdownOnSignal(sigint bool) int {
	cfg := s.cfg.Get()
	if sigint {
		return cfg.ShutdownOnSigint
	}
	return cfg.ShutdownOnSigterm
}

// finishShutdown saves if configured and, unless that fails, stops
// listening, answers the requester, closes clients and waits for every
// goroutine. It reports whether the server stopped: a failed save keeps it
// running, as in Redis.
func (s *Server) finishShutdown(req shutdownRequest) bool {
	cfg := s.cfg.Get()
	save, noSave := req.flags&config.ShutdownSave != 0, req.flags&config.ShutdownNoSave != 0
	if req.flags&config.ShutdownNow == 0 {
		s.shutdownWaitReplicas(cfg)
	}
	s.log.Warn("User requested shutdown...")
	// Reef has no append-only file: with appendonly yes the snapshot is
	// what persists the dataset, so shutdown saves it as if save points
	// were set (see startRepl).
	if ((len(cfg.Save) > 0 || cfg.AppendOnly) && !noSave) || save {
		if err := s.saveOnShutdown(); err != nil && req.flags&config.ShutdownForce != 0 {
			s.log.Warn("Error trying to save the DB. Exit anyway.")
		} else if err != nil {
			s.log.Warn("Error trying to save the DB, can't exit.")
			s.log.Warn("Errors trying to shut down the server. Check the logs for more information.")
			// The server stays up: writes resume, as after Redis's
			// unpauseActions(PAUSE_DURING_SHUTDOWN); a CLIENT PAUSE is
			// a pause of its own and stands.
			s.shutdownPause.lift()
			if req.done != nil {
				req.done <- err
			}
			return false
		}
	}
	if cfg.UnixSocket != "" {
		s.log.Info("Removing the unix socket file.")
	}
	s.closeListeners()
	if cfg.Pidfile != "" {
		s.log.Info("Removing the pid file.")
		os.Remove(cfg.Pidfile)
	}
	// The requesting client's goroutine must finish before wg.Wait below.
	if req.done != nil {
		req.done <- nil
	}
	s.cancel()
	s.repl.Close()
	s.closeAllClients()
	s.stopLoops()
	s.wg.Wait()
	s.log.Warn("Redis is now ready to exit, bye bye...")
	return true
}

func (s *Server) closeAllClients() {
	s.clientsMu.Lock()
	cs := make([]*Client, 0, len(s.clients))
	for _, c := range s.clients {
		cs = append(cs, c)
	}
	s.clientsMu.Unlock()
	for _, c := range cs {
		c.closeConn()
	}
}

// updateLRUClock refreshes the 24-bit, one-second LRU clock.
func (s *Server) updateLRUClock() {
	clock.Resync()
	now := time.Now()
	s.lruClock.Store(uint32(now.Unix()) & (1<<24 - 1))
	s.coarseMs.Store(now.UnixMilli())
}

// families returns every command family: the data commands of package
// command plus the server's own.
func (s *Server) families() []command.Family {
	fams := append(command.DataFamilies(), s.serverFamily(), s.clusterFamily(), s.replFamily(), s.pubsubFamily())
	return append(fams, s.migrationFamilies()...)
}
