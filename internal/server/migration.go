package server

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/reefkv/reef/internal/cluster/state"
	"github.com/reefkv/reef/internal/command"
	"github.com/reefkv/reef/internal/config"
	"github.com/reefkv/reef/internal/keyspace"
	"github.com/reefkv/reef/internal/migrate"
	"github.com/reefkv/reef/internal/repl"
	"github.com/reefkv/reef/internal/resp"
	"github.com/reefkv/reef/internal/slot"
)

// Slot migration in the server: DUMP/RESTORE/RESTORE-ASKING and MIGRATE
// (the legacy protocol, internal/command/dump.go and internal/migrate), and
// the glue of atomic slot migration (docs/MIGRATION.md): the CLUSTER
// subcommands of both dialects, the write tap of exported slots, the
// importer that applies a source's stream, and the handoff through the
// cluster state machine.

// migrationNode is the server's migration state.
type migrationNode struct {
	// sockets caches MIGRATE's connections to targets.
	sockets *migrate.Sockets

	// taps[s] is the export of slot s, if any: every write to the slot is
	// shown to it (Export.Feed) under the slot's lock.
	taps    [slot.Count]atomic.Pointer[migrate.Export]
	tapping atomic.Int32 // exports running; 0 skips the tap

	// importing[s] is set while slot s is being imported (on a master) or
	// while my master imports it (on a replica): active expiry leaves it
	// alone, and a replica promoted meanwhile drops its keys.
	importing [slot.Count]atomic.Bool

	mu      sync.Mutex
	exports map[string]*exportJob
	imports map[string]*importJob
	// replicaImports are the imports my master announced (replica side).
	replicaImports map[string][]int
	history        []jobInfo // finished jobs, newest last
}

// jobInfo is one entry of CLUSTER GETSLOTMIGRATIONS / MIGRATION STATUS.
type jobInfo struct {
	id, operation, ranges, source, target string
	created, updated                      time.Time
	state, message                        string
	keys, bytes                           int64
	pauseMS                               int64
}

type exportJob struct {
	e       *migrate.Export
	started time.Time
	pauseMS atomic.Int64
}

type importJob struct {
	id      string
	source  string
	slots   []int
	started time.Time
	cancel  context.CancelFunc
	done    chan struct{}

	mu      sync.Mutex
	state   string
	message string
	bytes   int64
	keys    int64
	updated time.Time
}

const migrationHistory = 64

func (m *migrationNode) init() {
	if m.exports == nil {
		m.exports = map[string]*exportJob{}
		m.imports = map[string]*importJob{}
		m.replicaImports = map[string][]int{}
	}
}

// migrationFamilies returns DUMP, RESTORE, RESTORE-ASKING and MIGRATE.
func (s *Server) migrationFamilies() []command.Family {
	if s.mig.sockets == nil {
		s.mig.sockets = migrate.NewSockets()
	}
	s.mig.init()
	return []command.Family{
		command.DumpCommands(migrate.Codec{}),
		migrate.Commands(s.mig.sockets, migrate.Codec{}),
	}
}

// registerMigrationCommands adds the atomic migration subcommands of
// CLUSTER (both dialects) to the command table.
func (s *Server) registerMigrationCommands() {
	s.table.AddSubcommands("cluster", []command.ExtSub{
		{Name: "migrateslots", Arity: -5, Admin: true, Since: "9.0.0",
			Summary:    "Migrate the given slot ranges to the given node atomically (Valkey 9 dialect).",
			Complexity: "O(N) where N is the total number of the slots between all start slot and end slot arguments."},
		{Name: "getslotmigrations", Arity: 2, Admin: true, Since: "9.0.0",
			Summary:    "Get the status of ongoing and recently finished slot import and export operations.",
			Complexity: "O(N), where N is the number of active slot import and export jobs."},
		{Name: "cancelslotmigrations", Arity: 2, Admin: true, Since: "9.0.0",
			Summary:    "Cancel all current ongoing slot migration operations.",
			Complexity: "O(N), where N is the number of slot migration operations being cancelled."},
		{Name: "syncslots", Arity: -3, Admin: true, Since: "9.0.0",
			Summary:    "Internal command to drive an atomic slot migration between two nodes.",
			Complexity: "Depends on subcommand."},
		{Name: "migration", Arity: -4, Admin: true, Since: "8.4.0",
			Summary:    "Start, monitor and cancel slot migration (Redis 8.4 dialect).",
			Complexity: "O(N) where N is the total number of the slots between the start slot and end slot arguments."},
	}, map[string]command.Handler{
		"migrateslots":         clusterMigrateSlots,
		"getslotmigrations":    clusterGetSlotMigrations,
		"cancelslotmigrations": clusterCancelSlotMigrations,
		"syncslots":            clusterSyncSlots,
		"migration":            clusterMigration,
	})
}

// migrationCron runs from the server cron: idle MIGRATE connections close
// after 10 seconds, as Redis's migrateCloseTimedoutSockets.
func (s *Server) migrationCron(now time.Time) {
	if s.mig.sockets != nil {
		s.mig.sockets.CloseIdle(now)
	}
}

// ---- migrate.Host ----

type migrationHost struct{ s *Server }

func (h migrationHost) KS() *keyspace.Keyspace { return h.s.ks }
func (h migrationHost) Config() *config.Config { return h.s.cfg.Get() }

// KeysOf returns the key arguments of a propagated command.
func (h migrationHost) KeysOf(argv [][]byte) [][]byte {
	spec := h.s.table.Lookup(argv[0])
	if spec == nil {
		return nil
	}
	if spec.Subs != nil && len(argv) > 1 {
		if sub := spec.LookupSub(argv[1]); sub != nil {
			spec = sub
		}
	}
	pos, _ := spec.KeyPositions(argv, nil)
	out := make([][]byte, 0, len(pos))
	for _, p := range pos {
		if p < len(argv) {
			out = append(out, argv[p])
		}
	}
	return out
}

// ---- the write tap ----

// migrationTap shows a propagated write to the export of its slot. sl is
// the slot whose lock the writer holds (keyspace.AllSlots under LockAll,
// repl.NoSlot without locks). REQUIRES: that lock held.
func (s *Server) migrationTap(sl int, ops []repl.Op) {
	if sl == keyspace.AllSlots {
		// FLUSHALL / FLUSHDB here also emptied what imports received.
		s.mig.mu.Lock()
		n := len(s.mig.imports)
		s.mig.mu.Unlock()
		if n > 0 {
			go s.cancelMigrations("", false, true)
		}
	}
	if s.mig.tapping.Load() == 0 {
		return
	}
	if sl == keyspace.AllSlots {
		// FLUSHALL / FLUSHDB: every export loses its data.
		for i := range s.mig.taps {
			if e := s.mig.taps[i].Load(); e != nil {
				e.FlushAll()
			}
		}
		return
	}
	var argvs [][][]byte
	var e *migrate.Export
	for _, op := range ops {
		if op.DB != 0 || len(op.Argv) == 0 {
			continue
		}
		keys := migrationHost{s}.KeysOf(op.Argv)
		if len(keys) == 0 {
			continue
		}
		x := s.mig.taps[slot.Of(keys[0])].Load()
		if x == nil {
			continue
		}
		e = x
		argvs = append(argvs, op.Argv)
	}
	if e != nil {
		e.Feed(argvs)
	}
}

// migrationSlotsLost stops the exports of slots this node no longer serves.
func (s *Server) migrationSlotsLost(slots []int) {
	if s.mig.tapping.Load() == 0 {
		return
	}
	for _, sl := range slots {
		if e := s.mig.taps[sl].Load(); e != nil {
			e.Fail(fmt.Errorf("slot %d is no longer served by this node", sl))
		}
	}
}

// ---- helpers ----

func newJobID() string {
	var b [20]byte
	crand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// parseRanges parses "start end" pairs into sorted, deduplicated slots.
func parseRanges(args [][]byte) ([]int, string) {
	if len(args) == 0 || len(args)%2 != 0 {
		return nil, "ERR wrong number of slot range arguments"
	}
	seen := map[int]bool{}
	var out []int
	for i := 0; i < len(args); i += 2 {
		a, ok1 := parseSlotArg(args[i])
		b, ok2 := parseSlotArg(args[i+1])
		if !ok1 || !ok2 {
			return nil, "ERR Invalid or out of range slot"
		}
		if a > b {
			return nil, fmt.Sprintf("ERR start slot number %d is greater than end slot number %d", a, b)
		}
		for j := a; j <= b; j++ {
			if seen[j] {
				return nil, fmt.Sprintf("ERR Slot %d specified multiple times", j)
			}
			seen[j] = true
			out = append(out, j)
		}
	}
	sort.Ints(out)
	return out, ""
}

func parseSlotArg(b []byte) (int, bool) {
	n, err := strconv.Atoi(string(b))
	if err != nil || n < 0 || n >= slot.Count || string(b) != strconv.Itoa(n) {
		return 0, false
	}
	return n, true
}

// rangesOf formats slots as "a-b c-d" and as [start,end] pairs.
func rangesOf(slots []int) (string, [][2]int) {
	var rs [][2]int
	for _, j := range slots {
		if n := len(rs); n > 0 && rs[n-1][1] == j-1 {
			rs[n-1][1] = j
			continue
		}
		rs = append(rs, [2]int{j, j})
	}
	parts := make([]string, len(rs))
	for i, r := range rs {
		parts[i] = strconv.Itoa(r[0]) + "-" + strconv.Itoa(r[1])
	}
	return strings.Join(parts, " "), rs
}

// busySlot returns a slot of slots already in an export or import here.
func (s *Server) busySlot(slots []int) (int, bool) {
	for _, j := range slots {
		if s.mig.taps[j].Load() != nil || s.mig.importing[j].Load() {
			return j, true
		}
	}
	return 0, false
}

// nodeIndex finds a node of the slot map by ID.
func nodeIndex(sm *state.SlotMap, id string) (int, bool) {
	for i := range sm.Nodes {
		if sm.Nodes[i].ID.String() == id {
			return i, true
		}
	}
	return 0, false
}

// dialNode connects to a cluster node's client port and authenticates as
// replication does (masteruser/masterauth).
func (s *Server) dialNode(ctx context.Context, ip string, port int) (net.Conn, error) {
	d := net.Dialer{Timeout: 5 * time.Second}
	conn, err := d.DialContext(ctx, "tcp", net.JoinHostPort(ip, strconv.Itoa(port)))
	if err != nil {
		return nil, err
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		tc.SetNoDelay(true)
	}
	cfg := s.cfg.Get()
	if cfg.MasterAuth != "" {
		args := []string{"AUTH", cfg.MasterAuth}
		if cfg.MasterUser != "" {
			args = []string{"AUTH", cfg.MasterUser, cfg.MasterAuth}
		}
		conn.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := conn.Write(resp.AppendCommand(nil, args...)); err != nil {
			conn.Close()
			return nil, err
		}
		buf := make([]byte, 512)
		n, err := conn.Read(buf)
		if err != nil {
			conn.Close()
			return nil, err
		}
		if !strings.HasPrefix(string(buf[:n]), "+OK") {
			conn.Close()
			return nil, fmt.Errorf("AUTH refused: %s", strings.TrimSpace(string(buf[:n])))
		}
		conn.SetDeadline(time.Time{})
	}
	return conn, nil
}

func (s *Server) record(ji jobInfo) {
	s.mig.mu.Lock()
	s.mig.history = append(s.mig.history, ji)
	if len(s.mig.history) > migrationHistory {
		s.mig.history = s.mig.history[len(s.mig.history)-migrationHistory:]
	}
	s.mig.mu.Unlock()
}

// ---- CLUSTER MIGRATESLOTS (Valkey 9), on the source ----

// clusterMigrateSlots is CLUSTER MIGRATESLOTS SLOTSRANGE s e [s e ...] NODE
// id [SLOTSRANGE ... NODE id ...]: each block becomes one import job that
// the source asks the target to run. All blocks are checked before any
// starts; OK means every job started.
func clusterMigrateSlots(ctx *command.Ctx) {
	c := clientOf(ctx)
	s := c.srv
	n := s.cluster
	if n == nil {
		ctx.Err(errClusterDisabled)
		return
	}
	type block struct {
		slots  []int
		target string
	}
	var blocks []block
	args := ctx.Args[2:]
	all := map[int]bool{}
	for len(args) > 0 {
		if !command.EqualFold(args[0], "slotsrange") {
			ctx.Err(command.ErrSyntax)
			return
		}
		j := 1
		for j < len(args) && !command.EqualFold(args[j], "node") {
			j++
		}
		if j >= len(args)-1 || j == 1 {
			ctx.Err(command.ErrSyntax)
			return
		}
		slots, msg := parseRanges(args[1:j])
		if msg != "" {
			ctx.Err(msg)
			return
		}
		for _, sl := range slots {
			if all[sl] {
				ctx.Err(fmt.Sprintf("ERR Slot %d specified multiple times", sl))
				return
			}
			all[sl] = true
		}
		blocks = append(blocks, block{slots, string(args[j+1])})
		args = args[j+2:]
	}
	sm := n.d.SlotMap()
	me := sm.Nodes[sm.Me].ID.String()
	if sm.IsReplica() {
		ctx.Err("ERR Slot migration can only be started on a primary node")
		return
	}
	for _, b := range blocks {
		ti, ok := nodeIndex(sm, b.target)
		if !ok {
			ctx.Err("ERR Unknown node " + b.target)
			return
		}
		if !sm.Nodes[ti].Master {
			ctx.Err("ERR Target node is not a primary")
			return
		}
		if b.target == me {
			ctx.Err("ERR Can not migrate slots to myself")
			return
		}
		for _, j := range b.slots {
			if !sm.Mine(j) {
				ctx.Err(fmt.Sprintf("ERR I'm not the owner of hash slot %d", j))
				return
			}
		}
		if j, busy := s.busySlot(b.slots); busy {
			ctx.Err(fmt.Sprintf("ERR Slot %d is already being migrated", j))
			return
		}
	}
	for _, b := range blocks {
		ti, _ := nodeIndex(sm, b.target)
		t := sm.Nodes[ti]
		id := newJobID()
		_, rs := rangesOf(b.slots)
		cmd := []string{"CLUSTER", "SYNCSLOTS", "START", id, me}
		for _, r := range rs {
			cmd = append(cmd, strconv.Itoa(r[0]), strconv.Itoa(r[1]))
		}
		if err := s.askNode(t.IP, t.Port, cmd); err != nil {
			ctx.Err("ERR Failed to start the migration on node " + b.target + ": " + err.Error())
			return
		}
	}
	ctx.OK()
}

// askNode sends one command to a node and expects +OK.
func (s *Server) askNode(ip string, port int, args []string) error {
	cctx, cancel := context.WithTimeout(s.ctx, 10*time.Second)
	defer cancel()
	conn, err := s.dialNode(cctx, ip, port)
	if err != nil {
		return err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := conn.Write(resp.AppendCommand(nil, args...)); err != nil {
		return err
	}
	v, err := resp.NewReplyReader(conn).ReadReply()
	if err != nil {
		return err
	}
	if v.IsError() {
		return errors.New(v.Text())
	}
	return nil
}

// ---- CLUSTER MIGRATION (Redis 8.4), on the target ----

func clusterMigration(ctx *command.Ctx) {
	c := clientOf(ctx)
	s := c.srv
	if s.cluster == nil {
		ctx.Err(errClusterDisabled)
		return
	}
	switch {
	case command.EqualFold(ctx.Args[2], "import"):
		slots, msg := parseRanges(ctx.Args[3:])
		if msg != "" {
			ctx.Err(msg)
			return
		}
		sm := s.cluster.d.SlotMap()
		if sm.IsReplica() {
			ctx.Err("ERR Slot migration can only be started on a primary node")
			return
		}
		src := sm.Owners[slots[0]]
		for _, j := range slots {
			switch sm.Owners[j] {
			case sm.Me:
				ctx.Err(fmt.Sprintf("ERR I'm already the owner of hash slot %d", j))
				return
			case state.NoOwner:
				ctx.Err(fmt.Sprintf("ERR Slot %d is not served by any node", j))
				return
			case src:
			default:
				ctx.Err("ERR Slots belong to different source nodes")
				return
			}
		}
		id := newJobID()
		if err := s.startImport(id, sm.Nodes[src].ID.String(), slots); err != nil {
			ctx.Err("ERR " + err.Error())
			return
		}
		ctx.BulkString(id)
	case command.EqualFold(ctx.Args[2], "cancel"):
		id, ok := migrationSelector(ctx)
		if !ok {
			return
		}
		ctx.Int(int64(s.cancelMigrations(id, true, true)))
	case command.EqualFold(ctx.Args[2], "status"):
		id, ok := migrationSelector(ctx)
		if !ok {
			return
		}
		infos := s.migrationInfos()
		var out []jobInfo
		for _, ji := range infos {
			if id == "" || ji.id == id {
				out = append(out, ji)
			}
		}
		ctx.ArrayLen(len(out))
		for _, ji := range out {
			op := "import"
			if ji.operation == "EXPORT" {
				op = "migrate"
			}
			ctx.MapLen(14)
			kv := func(k, v string) { ctx.BulkString(k); ctx.BulkString(v) }
			kvi := func(k string, v int64) { ctx.BulkString(k); ctx.Int(v) }
			kv("id", ji.id)
			kv("slots", strings.ReplaceAll(ji.ranges, " ", ","))
			kv("source", ji.source)
			kv("dest", ji.target)
			kv("operation", op)
			kv("state", ji.state)
			kv("last_error", ji.message)
			kvi("retries", 0)
			kvi("create_time", ji.created.UnixMilli())
			kvi("start_time", ji.created.UnixMilli())
			end := int64(0)
			if terminal(ji.state) {
				end = ji.updated.UnixMilli()
			}
			kvi("end_time", end)
			kvi("write_pause_ms", ji.pauseMS)
			kvi("keys", ji.keys)
			kvi("bytes", ji.bytes)
		}
	default:
		ctx.Err("ERR unknown subcommand or wrong number of arguments for 'MIGRATION'. Try CLUSTER HELP.")
	}
}

// migrationSelector parses "ID <id>" or "ALL" ("" = all).
func migrationSelector(ctx *command.Ctx) (string, bool) {
	a := ctx.Args[3:]
	switch {
	case len(a) == 1 && command.EqualFold(a[0], "all"):
		return "", true
	case len(a) == 2 && command.EqualFold(a[0], "id"):
		return string(a[1]), true
	}
	ctx.Err(command.ErrSyntax)
	return "", false
}

func terminal(st string) bool { return st == "success" || st == "failed" || st == "cancelled" }

// ---- status and cancel ----

// migrationInfos returns every running and recent job.
func (s *Server) migrationInfos() []jobInfo {
	s.mig.mu.Lock()
	defer s.mig.mu.Unlock()
	out := append([]jobInfo(nil), s.mig.history...)
	for _, x := range s.mig.exports {
		e := x.e
		keys, bytes, _ := e.Progress()
		ranges, _ := rangesOf(e.Slots)
		out = append(out, jobInfo{id: e.ID, operation: "EXPORT", ranges: ranges, source: e.Source, target: e.Target,
			created: e.Start, updated: time.Now(), state: e.Status(), keys: keys, bytes: bytes, pauseMS: x.pauseMS.Load()})
	}
	for _, j := range s.mig.imports {
		j.mu.Lock()
		ranges, _ := rangesOf(j.slots)
		me := ""
		if s.cluster != nil {
			me = s.cluster.d.MyID()
		}
		out = append(out, jobInfo{id: j.id, operation: "IMPORT", ranges: ranges, source: j.source, target: me,
			created: j.started, updated: j.updated, state: j.state, message: j.message, keys: j.keys, bytes: j.bytes})
		j.mu.Unlock()
	}
	for id, slots := range s.mig.replicaImports {
		ranges, _ := rangesOf(slots)
		out = append(out, jobInfo{id: id, operation: "IMPORT", ranges: ranges, state: "importing"})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].created.Before(out[j].created) })
	return out
}

// clusterGetSlotMigrations is Valkey's CLUSTER GETSLOTMIGRATIONS, with
// Reef's progress fields (keys, bytes) added.
func clusterGetSlotMigrations(ctx *command.Ctx) {
	s := clientOf(ctx).srv
	if s.cluster == nil {
		ctx.Err(errClusterDisabled)
		return
	}
	infos := s.migrationInfos()
	ctx.ArrayLen(len(infos))
	for _, ji := range infos {
		ctx.MapLen(13)
		kv := func(k, v string) { ctx.BulkString(k); ctx.BulkString(v) }
		kvi := func(k string, v int64) { ctx.BulkString(k); ctx.Int(v) }
		kv("name", ji.id)
		kv("operation", ji.operation)
		kv("slot_ranges", ji.ranges)
		kv("target_node", ji.target)
		kv("source_node", ji.source)
		kvi("create_time", ji.created.Unix())
		kvi("last_update_time", ji.updated.Unix())
		kvi("last_ack_time", ji.updated.Unix())
		kv("state", ji.state)
		kv("message", ji.message)
		kvi("cow_size", 0)
		kvi("keys", ji.keys)
		kvi("bytes", ji.bytes)
	}
}

// clusterCancelSlotMigrations is Valkey's CLUSTER CANCELSLOTMIGRATIONS:
// the exports of this node stop (their targets drop what they received).
func clusterCancelSlotMigrations(ctx *command.Ctx) {
	s := clientOf(ctx).srv
	if s.cluster == nil {
		ctx.Err(errClusterDisabled)
		return
	}
	s.cancelMigrations("", true, false)
	ctx.OK()
}

// cancelMigrations stops running exports and/or imports (id "" = all) and
// returns how many it stopped.
func (s *Server) cancelMigrations(id string, exports, imports bool) int {
	s.mig.mu.Lock()
	var es []*migrate.Export
	var is []*importJob
	if exports {
		for _, x := range s.mig.exports {
			if id == "" || x.e.ID == id {
				es = append(es, x.e)
			}
		}
	}
	if imports {
		for _, j := range s.mig.imports {
			if id == "" || j.id == id {
				is = append(is, j)
			}
		}
	}
	s.mig.mu.Unlock()
	for _, e := range es {
		e.Fail(migrate.ErrAborted)
	}
	for _, j := range is {
		j.cancel()
	}
	return len(es) + len(is)
}

// ---- CLUSTER SYNCSLOTS (internal) ----

func clusterSyncSlots(ctx *command.Ctx) {
	c := clientOf(ctx)
	s := c.srv
	if s.cluster == nil {
		ctx.Err(errClusterDisabled)
		return
	}
	op := strings.ToLower(string(ctx.Args[2]))
	a := ctx.Args[3:]
	switch op {
	case "start": // START <id> <source-id> ranges: on the target
		if len(a) < 4 {
			ctx.Err(command.ErrSyntax)
			return
		}
		slots, msg := parseRanges(a[2:])
		if msg != "" {
			ctx.Err(msg)
			return
		}
		if err := s.startImport(string(a[0]), string(a[1]), slots); err != nil {
			ctx.Err("ERR " + err.Error())
			return
		}
		ctx.OK()
	case "sync": // SYNC <id> <target-id> ranges: on the source
		if len(a) < 4 {
			ctx.Err(command.ErrSyntax)
			return
		}
		slots, msg := parseRanges(a[2:])
		if msg != "" {
			ctx.Err(msg)
			return
		}
		s.serveExport(c, ctx, string(a[0]), string(a[1]), slots)
	case "importing", "imported", "aborted": // from my master's stream
		if !ctx.FromMaster || len(a) < 1 {
			ctx.Err("ERR SYNCSLOTS " + strings.ToUpper(op) + " is only accepted from the master")
			return
		}
		s.replicaImportNote(op, string(a[0]), a[1:])
		ctx.OK()
	default:
		ctx.Err("ERR unknown SYNCSLOTS operation '" + string(ctx.Args[2]) + "'")
	}
}

// ---- the source: serving an export ----

// serveExport runs on the connection of a target that sent SYNC: the
// client goroutine becomes the export's until the handoff ends, then the
// connection closes.
func (s *Server) serveExport(c *Client, ctx *command.Ctx, id, target string, slots []int) {
	n := s.cluster
	sm := n.d.SlotMap()
	if sm.IsReplica() {
		ctx.Err("ERR Please use SETSLOT only with masters.")
		return
	}
	ti, ok := nodeIndex(sm, target)
	if !ok {
		ctx.Err("ERR Unknown node " + target)
		return
	}
	for _, j := range slots {
		if !sm.Mine(j) {
			ctx.Err(fmt.Sprintf("ERR I'm not the owner of hash slot %d", j))
			return
		}
	}
	s.mig.mu.Lock()
	if j, busy := s.busySlot(slots); busy {
		s.mig.mu.Unlock()
		ctx.Err(fmt.Sprintf("ERR Slot %d is already being migrated", j))
		return
	}
	e := migrate.NewExport(migrationHost{s}, id, sm.Nodes[sm.Me].ID.String(), target, slots)
	job := &exportJob{e: e, started: time.Now()}
	s.mig.exports[id] = job
	for _, j := range slots {
		s.mig.taps[j].Store(e)
	}
	s.mig.tapping.Add(1)
	s.mig.mu.Unlock()
	targetID := sm.Nodes[ti].ID
	s.log.Info(fmt.Sprintf("Slot migration %s: exporting %d slots to %s", id, len(slots), target))

	c.yieldLoop() // the export session owns the connection from now on
	ctx.OK()
	c.flush()
	c.mu.Lock()
	c.flags = "g"
	c.mu.Unlock()
	var frozeAt time.Time
	err := migrate.ServeExport(c.conn, c.rd, e, migrate.ExportHooks{
		Freeze: func() {
			frozeAt = time.Now()
			s.ks.LockSlots(slots)
		},
		Unfreeze: func() {
			s.ks.UnlockSlots(slots)
			job.pauseMS.Store(time.Since(frozeAt).Milliseconds())
		},
		Give: func(epoch uint64) error {
			r, err := n.d.GiveSlots(s.ctx, targetID, slots, epoch)
			if err != nil {
				return err
			}
			if e, ok := r.(state.Error); ok {
				return errors.New(string(e))
			}
			return nil
		},
		Resolve: func() bool { return s.resolveHandoff(targetID, slots) },
	})
	// The export is over: writes no longer need the tap.
	s.mig.mu.Lock()
	for _, j := range slots {
		s.mig.taps[j].CompareAndSwap(e, nil)
	}
	s.mig.tapping.Add(-1)
	delete(s.mig.exports, id)
	s.mig.mu.Unlock()
	keys, bytes, _ := e.Progress()
	ranges, _ := rangesOf(slots)
	ji := jobInfo{id: id, operation: "EXPORT", ranges: ranges, source: e.Source, target: target, created: e.Start,
		updated: time.Now(), state: "success", keys: keys, bytes: bytes, pauseMS: job.pauseMS.Load()}
	if err != nil {
		ji.state, ji.message = "failed", err.Error()
		if errors.Is(err, migrate.ErrAborted) {
			ji.state = "cancelled"
		}
		s.log.Warn(fmt.Sprintf("Slot migration %s to %s failed: %v", id, target, err))
	} else {
		s.log.Info(fmt.Sprintf("Slot migration %s: %d slots now served by %s (%d keys, writes paused %d ms)", id, len(slots), target, keys, job.pauseMS.Load()))
	}
	e.Fail(errors.New("export finished")) // release anything still waiting
	s.record(ji)
	c.closeAfter = true
}

// resolveHandoff waits, with the slots still frozen, until the cluster
// shows whether target took them: true when it owns them all, false when
// it is flagged failing or a node timeout passed without it claiming them.
func (s *Server) resolveHandoff(target state.NodeID, slots []int) bool {
	deadline := time.Now().Add(2 * time.Duration(s.cfg.Get().ClusterNodeTimeout) * time.Millisecond)
	for {
		sm := s.cluster.d.SlotMap()
		ti, ok := nodeIndex(sm, target.String())
		owned := ok
		for _, j := range slots {
			if !ok || sm.Owners[j] != uint16(ti) {
				owned = false
				break
			}
		}
		if owned {
			return true
		}
		if !ok || sm.Nodes[ti].Failed || time.Now().After(deadline) {
			return false
		}
		select {
		case <-s.ctx.Done():
			return false
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// ---- the target: running an import ----

// startImport checks and starts an import job of slots from source.
func (s *Server) startImport(id, source string, slots []int) error {
	n := s.cluster
	sm := n.d.SlotMap()
	if sm.IsReplica() {
		return errors.New("Slot migration can only be started on a primary node")
	}
	si, ok := nodeIndex(sm, source)
	if !ok {
		return errors.New("Unknown node " + source)
	}
	if si == int(sm.Me) {
		return errors.New("Can not import slots from myself")
	}
	for _, j := range slots {
		if sm.Owners[j] != uint16(si) {
			return fmt.Errorf("Slot %d is not served by %s", j, source)
		}
	}
	s.mig.mu.Lock()
	if _, dup := s.mig.imports[id]; dup {
		s.mig.mu.Unlock()
		return errors.New("Migration " + id + " already exists")
	}
	if j, busy := s.busySlot(slots); busy {
		s.mig.mu.Unlock()
		return fmt.Errorf("Slot %d is already being migrated", j)
	}
	ctx, cancel := context.WithCancel(s.ctx)
	job := &importJob{id: id, source: source, slots: slots, started: time.Now(), updated: time.Now(),
		cancel: cancel, done: make(chan struct{}), state: "connecting"}
	s.mig.imports[id] = job
	for _, j := range slots {
		s.mig.importing[j].Store(true)
	}
	s.mig.mu.Unlock()
	src := sm.Nodes[si]
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer close(job.done)
		s.runImport(ctx, job, src.IP, src.Port, src.ID)
	}()
	return nil
}

func (j *importJob) set(state, message string) {
	j.mu.Lock()
	j.state, j.message, j.updated = state, message, time.Now()
	j.mu.Unlock()
}

// runImport is one import job's goroutine.
func (s *Server) runImport(ctx context.Context, job *importJob, ip string, port int, srcID state.NodeID) {
	defer job.cancel()
	ranges, rs := rangesOf(job.slots)
	s.log.Info(fmt.Sprintf("Slot migration %s: importing slots %s from %s", job.id, ranges, job.source))
	err := s.importOnce(ctx, job, ip, port, srcID, rs)
	st, msgText := "success", ""
	if err != nil {
		st, msgText = "failed", err.Error()
		if ctx.Err() != nil {
			st = "cancelled"
		}
		s.dropImported(job)
		s.log.Warn(fmt.Sprintf("Slot migration %s from %s failed: %v", job.id, job.source, err))
	} else {
		s.log.Info(fmt.Sprintf("Slot migration %s: this node now serves %s", job.id, ranges))
	}
	for _, j := range job.slots {
		s.mig.importing[j].Store(false)
	}
	s.feedMigrationNote("IMPORTED", job.id, nil)
	job.set(st, msgText)
	s.mig.mu.Lock()
	delete(s.mig.imports, job.id)
	s.mig.mu.Unlock()
	job.mu.Lock()
	ji := jobInfo{id: job.id, operation: "IMPORT", ranges: ranges, source: job.source, target: s.cluster.d.MyID(),
		created: job.started, updated: job.updated, state: st, message: msgText, keys: job.keys, bytes: job.bytes}
	job.mu.Unlock()
	s.record(ji)
}

func (s *Server) importOnce(ctx context.Context, job *importJob, ip string, port int, srcID state.NodeID, rs [][2]int) error {
	// Whatever this node holds in slots it does not serve is left over
	// from an earlier attempt: the source's copy wins.
	s.dropImported(job)
	args := make([][]byte, 0, len(rs)*2)
	for _, r := range rs {
		args = append(args, []byte(strconv.Itoa(r[0])), []byte(strconv.Itoa(r[1])))
	}
	s.feedMigrationNote("IMPORTING", job.id, args)
	conn, err := s.dialNode(ctx, ip, port)
	if err != nil {
		return fmt.Errorf("connect to source %s:%d: %w", ip, port, err)
	}
	imp := s.newClient(conn)
	imp.authenticated = true
	imp.ctx.FromMaster = true
	imp.mu.Lock()
	imp.flags = "o"
	imp.name = "slot-import"
	imp.mu.Unlock()
	defer imp.cleanup()
	job.set("syncing", "")
	myID := s.cluster.d.MyID()
	return migrate.RunImport(ctx, conn, job.id, myID, rs, migrate.ImportHooks{
		Apply: func(argv [][]byte) error {
			imp.process(argv)
			out := imp.ctx.Out
			imp.ctx.Out = out[:0]
			if len(out) > 0 && out[0] == '-' {
				return errors.New(strings.TrimSpace(string(out[1:])))
			}
			return nil
		},
		Flip: func() (uint64, error) {
			job.set("handoff", "")
			s.waitReplicas(time.Second)
			r, err := s.cluster.d.TakeSlots(s.ctx, srcID, job.slots)
			if err != nil {
				return 0, err
			}
			text := ""
			switch r := r.(type) {
			case state.Status:
				text = string(r)
			case state.Error:
				return 0, errors.New(string(r))
			}
			ep, _ := strconv.ParseUint(strings.TrimPrefix(text, "OK "), 10, 64)
			return ep, nil
		},
		Progress: func(bytes, keys int64) {
			job.mu.Lock()
			job.bytes, job.keys, job.updated = bytes, keys, time.Now()
			job.mu.Unlock()
		},
	})
}

// waitReplicas waits up to timeout for the online replicas to acknowledge
// everything written so far.
func (s *Server) waitReplicas(timeout time.Duration) {
	st := s.repl.Stream()
	if !st.Active() {
		return
	}
	n := 0
	for _, r := range s.repl.Replicas() {
		if r.State() == repl.StateOnline {
			n++
		}
	}
	if n == 0 {
		return
	}
	s.repl.Wait(st.Offset(), n, timeout, s.ctx.Done())
}

// dropImported deletes the keys of the job's slots that this node does not
// serve (propagating the deletions to its replicas).
func (s *Server) dropImported(job *importJob) {
	sm := s.cluster.d.SlotMap()
	var drop []int
	for _, j := range job.slots {
		if !sm.Mine(j) && s.ks.Count(0, j) > 0 {
			drop = append(drop, j)
		}
	}
	if len(drop) > 0 {
		s.deleteKeysInSlots(drop, false)
	}
}

// feedMigrationNote tells my replicas about an import (IMPORTING id
// ranges..., IMPORTED id), so that one promoted in the middle drops the
// partial slots.
func (s *Server) feedMigrationNote(op, id string, rest [][]byte) {
	st := s.repl.Stream()
	if !st.Active() || s.repl.IsReplica() {
		return
	}
	argv := append([][]byte{[]byte("CLUSTER"), []byte("SYNCSLOTS"), []byte(op), []byte(id)}, rest...)
	st.Feed(repl.NoSlot, []repl.Op{{DB: 0, Argv: argv}})
}

// replicaImportNote records my master's import notes.
func (s *Server) replicaImportNote(op, id string, ranges [][]byte) {
	s.mig.mu.Lock()
	defer s.mig.mu.Unlock()
	switch op {
	case "importing":
		slots, msg := parseRanges(ranges)
		if msg != "" {
			return
		}
		s.mig.replicaImports[id] = slots
		for _, j := range slots {
			s.mig.importing[j].Store(true)
		}
	default:
		for _, j := range s.mig.replicaImports[id] {
			s.mig.importing[j].Store(false)
		}
		delete(s.mig.replicaImports, id)
	}
}

// migrationPromoted runs when this replica becomes a master: slots my
// former master was importing are not mine, so their partial keys go.
func (s *Server) migrationPromoted() {
	s.mig.mu.Lock()
	var slots []int
	for id, ss := range s.mig.replicaImports {
		slots = append(slots, ss...)
		delete(s.mig.replicaImports, id)
	}
	s.mig.mu.Unlock()
	if len(slots) == 0 || s.cluster == nil {
		return
	}
	s.cluster.work.push(func() {
		sm := s.cluster.d.SlotMap()
		var drop []int
		for _, j := range slots {
			s.mig.importing[j].Store(false)
			if !sm.Mine(j) {
				drop = append(drop, j)
			}
		}
		if len(drop) > 0 {
			s.log.Warn(fmt.Sprintf("Slot migration: dropping the keys of %d slots my former master was importing", len(drop)))
			s.deleteKeysInSlots(drop, false)
		}
	})
}

// importingSlot reports whether active expiry must leave slot s alone.
func (s *Server) importingSlot(sl int) bool { return s.mig.importing[sl].Load() }

// propagateSetSlot sends a successful CLUSTER SETSLOT to this master's
// replicas, so that they know its open slots: one that takes over in the
// middle of a migration keeps the slot migrating or importing, and the
// migration can be finished instead of being stranded.
func propagateSetSlot(ctx *command.Ctx, r state.Reply) {
	if st, ok := r.(state.Status); !ok || st != "OK" {
		return
	}
	ctx.Env.Propagate(ctx, repl.NoSlot)
}
