package repl

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Replica states, as INFO prints them.
const (
	StateWaitBgsave = "wait_bgsave"
	StateSendBulk   = "send_bulk"
	StateOnline     = "online"
)

// Replica is one replica connected to this master. The server creates it
// when the replica's connection sends PSYNC or SYNC; from then on only the
// Manager writes to the connection.
type Replica struct {
	// ClientID is the server's client id of the connection.
	ClientID uint64
	// IP is the replica's address (REPLCONF ip-address, else the peer's).
	IP string
	// Port is REPLCONF listening-port.
	Port int
	// CapaEOF and CapaPSYNC2 are the REPLCONF capa the replica announced.
	CapaEOF, CapaPSYNC2 bool
	// RDBOnly (REPLCONF rdb-only 1): the client wants the snapshot and no
	// stream, and is disconnected once it has it (redis-cli --rdb).
	RDBOnly bool
	// Filter is what REPLCONF rdb-filter-only leaves out of the snapshot.
	Filter RDBFilter

	conn net.Conn
	wmu  sync.Mutex

	state   atomic.Value // string
	ackOff  atomic.Int64
	ackTime atomic.Int64 // unix ms of the last ACK (or of attach)
	waitMs  int64        // unix ms when it started waiting for a full sync
	cur     atomic.Pointer[Cursor]
	psync   bool
	// acked is closed by the first ACK. After a diskless transfer the
	// stream starts only then, as Redis does: the replica finds the end of
	// an EOF-marked payload by its last bytes, so nothing may follow it
	// before the replica has read it.
	acked   chan struct{}
	ackOnce sync.Once
	done    chan struct{}
	once    sync.Once
}

// RDBFilter is a replica's REPLCONF rdb-filter-only: the parts of the
// snapshot it does not want (Redis's SLAVE_REQ_RDB_EXCLUDE_*). A filtered
// snapshot is always sent diskless, as Redis does, so that it never
// replaces the RDB file.
type RDBFilter struct {
	NoKeys, NoFunctions bool
}

// Filtered reports whether any part is left out.
func (f RDBFilter) Filtered() bool { return f.NoKeys || f.NoFunctions }

// NewReplica wraps a replica's connection.
func NewReplica(clientID uint64, conn net.Conn, ip string, port int, capaEOF, capaPSYNC2 bool) *Replica {
	r := &Replica{ClientID: clientID, conn: conn, IP: ip, Port: port, CapaEOF: capaEOF, CapaPSYNC2: capaPSYNC2, done: make(chan struct{}), acked: make(chan struct{})}
	r.state.Store(StateWaitBgsave)
	r.ackTime.Store(time.Now().UnixMilli())
	return r
}

// State returns wait_bgsave, send_bulk or online.
func (r *Replica) State() string { return r.state.Load().(string) }

// AckOffset returns the last offset the replica acknowledged.
func (r *Replica) AckOffset() int64 { return r.ackOff.Load() }

// LagSeconds returns the seconds since the last ACK.
func (r *Replica) LagSeconds() int64 {
	return (time.Now().UnixMilli() - r.ackTime.Load()) / 1000
}

// Done is closed when the replica has been dropped.
func (r *Replica) Done() <-chan struct{} { return r.done }

func (r *Replica) write(b []byte, timeout time.Duration) error {
	r.wmu.Lock()
	defer r.wmu.Unlock()
	if timeout > 0 {
		r.conn.SetWriteDeadline(time.Now().Add(timeout))
		defer r.conn.SetWriteDeadline(time.Time{})
	}
	_, err := r.conn.Write(b)
	return err
}

// keepalive writes the newline a master sends to a replica waiting for its
// full sync to start (never once the transfer began).
func (r *Replica) keepalive() {
	r.wmu.Lock()
	defer r.wmu.Unlock()
	if r.State() == StateWaitBgsave {
		r.conn.SetWriteDeadline(time.Now().Add(time.Second))
		r.conn.Write([]byte("\n"))
		r.conn.SetWriteDeadline(time.Time{})
	}
}

// ---- master side ----

// Attach handles PSYNC replid offset (replid "?" asks for a full sync; SYNC
// is PSYNC without a reply line, psync false). It answers +CONTINUE and
// starts streaming when the history allows it, and otherwise queues the
// replica for a full sync. It never blocks on the network for long.
func (m *Manager) Attach(r *Replica, replid string, offset int64, psync bool) {
	m.st.CreateBacklog()
	if psync && replid != "?" && !r.RDBOnly && !r.Filter.Filtered() {
		cur, myid, err := m.st.PartialResync(replid, offset)
		if err == nil {
			line := "+CONTINUE\r\n"
			if r.CapaPSYNC2 {
				line = "+CONTINUE " + myid + "\r\n"
			}
			if r.write([]byte(line), m.replTimeout()) != nil {
				r.conn.Close()
				return
			}
			m.stats.syncPartialOK.Add(1)
			m.log.Info(fmt.Sprintf("Partial resynchronization request from %s accepted. Sending %d bytes of backlog starting from offset %d.",
				r.describe(), m.st.Offset()+1-offset, offset))
			r.cur.Store(cur)
			r.ackOff.Store(offset - 1)
			m.addReplica(r)
			m.goOnline(r, false)
			return
		}
		m.stats.syncPartialErr.Add(1)
		m.log.Info(fmt.Sprintf("Partial resynchronization not accepted: %v (requested %s:%d)", err, replid, offset))
	}
	m.log.Info(fmt.Sprintf("Replica %s asks for synchronization", r.describe()))
	m.log.Info(fmt.Sprintf("Full resync requested by replica %s", r.describe()))
	r.waitMs = time.Now().UnixMilli()
	r.psync = psync
	m.addReplica(r)
	m.mu.Lock()
	m.waitingFull = append(m.waitingFull, r)
	start := !m.syncRunning
	m.syncRunning = true
	m.mu.Unlock()
	if start {
		m.wg.Add(1)
		go m.syncLoop()
	}
}

// describe names the replica as Redis's replicationGetSlaveName does.
func (r *Replica) describe() string {
	if r.Port == 0 {
		return r.IP + ":<unknown-replica-port>"
	}
	return net.JoinHostPort(r.IP, strconv.Itoa(r.Port))
}

func (m *Manager) addReplica(r *Replica) {
	m.mu.Lock()
	m.replicas = append(m.replicas, r)
	m.mu.Unlock()
}

// Detach forgets a replica whose connection ended.
func (m *Manager) Detach(r *Replica) {
	r.once.Do(func() { close(r.done) })
	m.mu.Lock()
	for i, x := range m.replicas {
		if x == r {
			m.replicas = append(m.replicas[:i], m.replicas[i+1:]...)
			break
		}
	}
	for i, x := range m.waitingFull {
		if x == r {
			m.waitingFull = append(m.waitingFull[:i], m.waitingFull[i+1:]...)
			break
		}
	}
	empty := len(m.replicas) == 0
	m.mu.Unlock()
	if empty {
		m.st.SetIdleSince(time.Now())
	}
	m.notifyAck()
	m.log.Info(fmt.Sprintf("Connection with replica %s lost.", r.describe()))
}

// drop closes a replica's connection; the server's client goroutine then
// calls Detach.
func (m *Manager) drop(r *Replica, why string) {
	if why != "" {
		m.log.Warn(fmt.Sprintf("Disconnecting replica %s: %s", r.describe(), why))
	}
	r.conn.Close()
	r.once.Do(func() { close(r.done) })
}

// Replicas returns the attached replicas in attach order.
func (m *Manager) Replicas() []*Replica {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]*Replica(nil), m.replicas...)
}

// Ack records REPLCONF ACK offset from a replica.
func (m *Manager) Ack(r *Replica, off int64) {
	r.ackOnce.Do(func() { close(r.acked) })
	if off > r.ackOff.Load() {
		r.ackOff.Store(off)
	}
	r.ackTime.Store(time.Now().UnixMilli())
	m.notifyAck()
}

func (m *Manager) notifyAck() {
	m.ackMu.Lock()
	if m.ackCh != nil {
		close(m.ackCh)
		m.ackCh = nil
	}
	m.ackMu.Unlock()
}

func (m *Manager) ackChan() <-chan struct{} {
	m.ackMu.Lock()
	defer m.ackMu.Unlock()
	if m.ackCh == nil {
		m.ackCh = make(chan struct{})
	}
	return m.ackCh
}

// CountAcks returns how many online replicas acknowledged offset.
func (m *Manager) CountAcks(offset int64) int {
	n := 0
	for _, r := range m.Replicas() {
		if r.State() == StateOnline && r.ackOff.Load() >= offset {
			n++
		}
	}
	return n
}

// Wait is WAIT: it returns once n replicas acknowledged offset, timeout
// passed (0: never), or cancel is closed, with the count reached.
func (m *Manager) Wait(offset int64, n int, timeout time.Duration, cancel <-chan struct{}) int {
	if c := m.CountAcks(offset); c >= n {
		return c
	}
	m.st.FeedGetAck()
	var tc <-chan time.Time
	if timeout > 0 {
		t := time.NewTimer(timeout)
		defer t.Stop()
		tc = t.C
	}
	getack := time.NewTicker(100 * time.Millisecond)
	defer getack.Stop()
	for {
		ch := m.ackChan()
		if c := m.CountAcks(offset); c >= n {
			return c
		}
		select {
		case <-ch:
		case <-getack.C:
			m.st.FeedGetAck()
		case <-tc:
			return m.CountAcks(offset)
		case <-cancel:
			return m.CountAcks(offset)
		case <-m.stop:
			return m.CountAcks(offset)
		}
	}
}

// GoodReplicas counts online replicas whose last ACK is at most maxLag
// seconds old (min-replicas-max-lag).
func (m *Manager) GoodReplicas(maxLag int) int {
	n := 0
	for _, r := range m.Replicas() {
		if r.State() == StateOnline && r.LagSeconds() <= int64(maxLag) {
			n++
		}
	}
	return n
}

// goOnline starts streaming to r from its cursor, right away or, after a
// diskless transfer, at the replica's first ACK.
func (m *Manager) goOnline(r *Replica, onAck bool) {
	r.state.Store(StateOnline)
	r.ackTime.Store(time.Now().UnixMilli())
	m.wg.Add(1)
	go m.sender(r, onAck)
}

// sender copies the stream to one replica.
func (m *Manager) sender(r *Replica, onAck bool) {
	defer m.wg.Done()
	if onAck {
		select {
		case <-r.acked:
		case <-r.done:
			return
		case <-m.stop:
			return
		}
	}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		cur := r.cur.Load()
		data, wake := m.st.Next(cur)
		if len(data) > 0 {
			if err := r.write(data, m.replTimeout()); err != nil {
				m.drop(r, "")
				return
			}
			cur.Advance(len(data))
			continue
		}
		select {
		case <-wake:
		case <-tick.C:
		case <-r.done:
			return
		case <-m.stop:
			return
		}
	}
}

func (m *Manager) replTimeout() time.Duration {
	return time.Duration(m.host.Config().ReplTimeout) * time.Second
}

// syncLoop serves the replicas waiting for a full sync, in batches.
func (m *Manager) syncLoop() {
	defer m.wg.Done()
	for {
		cfg := m.host.Config()
		m.mu.Lock()
		if len(m.waitingFull) == 0 {
			m.syncRunning = false
			m.mu.Unlock()
			return
		}
		// One snapshot serves the replicas that want the same parts of
		// it; the others wait for the next.
		filter := m.waitingFull[0].Filter
		var batch, rest []*Replica
		for _, r := range m.waitingFull {
			if r.Filter == filter {
				batch = append(batch, r)
			} else {
				rest = append(rest, r)
			}
		}
		oldest := batch[0].waitMs
		delay := int64(cfg.ReplDisklessSyncDelay) * 1000
		diskless := cfg.ReplDisklessSync || filter.Filtered()
		for _, r := range batch {
			diskless = diskless && r.CapaEOF
		}
		if diskless && time.Now().UnixMilli()-oldest < delay {
			m.mu.Unlock()
			select {
			case <-time.After(100 * time.Millisecond):
			case <-m.stop:
				return
			}
			continue
		}
		m.waitingFull = rest
		m.mu.Unlock()
		m.fullSync(batch, diskless)
		select {
		case <-m.stop:
			return
		default:
		}
	}
}

// fanout writes to every replica of a full sync that is still alive.
type fanout struct {
	m    *Manager
	rs   []*Replica
	live int
}

func (f *fanout) Write(b []byte) (int, error) {
	for i, r := range f.rs {
		if r == nil {
			continue
		}
		if err := r.write(b, f.m.replTimeout()); err != nil {
			f.m.drop(r, "full sync write failed: "+err.Error())
			f.rs[i] = nil
			f.live--
		}
	}
	if f.live == 0 {
		return 0, errors.New("no replica left")
	}
	return len(b), nil
}

// fullSync sends one snapshot to a batch of replicas.
func (m *Manager) fullSync(batch []*Replica, diskless bool) {
	m.snapMu.Lock()
	defer m.snapMu.Unlock()
	// Drop replicas that left while waiting.
	var rs []*Replica
	for _, r := range batch {
		select {
		case <-r.done:
		default:
			rs = append(rs, r)
		}
	}
	if len(rs) == 0 {
		return
	}
	m.st.CreateBacklog()
	opts := m.snapshotOptions()
	opts.NoKeys = rs[0].Filter.NoKeys
	if rs[0].Filter.NoFunctions {
		opts.Functions = nil
	}
	start := time.Now()
	sn := m.beginSnapshot(opts)
	if sn == nil {
		for _, r := range rs {
			m.drop(r, "snapshot unavailable")
		}
		return
	}
	replid, _, _ := m.st.IDs()
	target := "disk"
	if diskless {
		target = "replicas sockets"
	}
	m.log.Info(fmt.Sprintf("Starting BGSAVE for SYNC with target: %s (offset %d)", target, sn.Offset))
	f := &fanout{m: m, rs: rs, live: len(rs)}
	for _, r := range rs {
		r.cur.Store(sn.Cursor.Clone())
		r.ackOff.Store(0)
		r.wmu.Lock()
		r.state.Store(StateSendBulk)
		r.wmu.Unlock()
		if r.psync {
			f.Write([]byte("+FULLRESYNC " + replid + " " + strconv.FormatInt(sn.Offset, 10) + "\r\n"))
		}
		m.stats.syncFull.Add(1)
	}
	if f.live == 0 {
		sn.Abort()
		return
	}
	if diskless {
		var mark [20]byte
		rand.Read(mark[:])
		eof := []byte(hex.EncodeToString(mark[:]))
		f.Write([]byte("$EOF:" + string(eof) + "\r\n"))
		bw := bufio.NewWriterSize(f, 256<<10)
		n, err := sn.WriteTo(bw)
		if err == nil {
			err = bw.Flush()
		}
		if err == nil {
			_, err = f.Write(eof)
		}
		if err != nil {
			m.log.Warn("Diskless full sync failed: " + err.Error())
			return
		}
		m.log.Info(fmt.Sprintf("Diskless rdb transfer done: %d bytes in %.3f seconds", n, time.Since(start).Seconds()))
	} else {
		path, err := m.saveSnapshotToFile(sn, start)
		if err != nil {
			for _, r := range f.rs {
				if r != nil {
					m.drop(r, "BGSAVE for replication failed: "+err.Error())
				}
			}
			return
		}
		file, err := os.Open(path)
		if err != nil {
			for _, r := range f.rs {
				if r != nil {
					m.drop(r, err.Error())
				}
			}
			return
		}
		st, _ := file.Stat()
		f.Write([]byte("$" + strconv.FormatInt(st.Size(), 10) + "\r\n"))
		_, err = io.Copy(f, bufio.NewReaderSize(file, 256<<10))
		file.Close()
		if err != nil {
			return
		}
		m.log.Info(fmt.Sprintf("Synchronization with replicas succeeded (%d bytes from disk)", st.Size()))
	}
	for _, r := range f.rs {
		if r == nil {
			continue
		}
		if r.RDBOnly {
			m.log.Info(fmt.Sprintf("RDB transfer completed, rdb only replica (%s) should be disconnected asap", r.describe()))
			m.drop(r, "")
			continue
		}
		m.log.Info(fmt.Sprintf("Synchronization with replica %s succeeded", r.describe()))
		m.goOnline(r, diskless)
	}
}

// masterCron is the master side of the once-a-second replication cron.
func (m *Manager) masterCron(now time.Time, tick int64) {
	cfg := m.host.Config()
	rs := m.Replicas()
	if !m.IsReplica() {
		if period := int64(cfg.ReplPingReplicaPeriod); period > 0 && tick%period == 0 && len(rs) > 0 {
			m.st.FeedPing()
		}
		if len(rs) == 0 && m.st.Active() && cfg.ReplBacklogTTL > 0 &&
			now.Sub(m.st.IdleSince()) > time.Duration(cfg.ReplBacklogTTL)*time.Second {
			m.st.ChangeID()
			m.st.FreeBacklog()
			m.log.Info(fmt.Sprintf("Replication backlog freed after %d seconds without connected replicas.", cfg.ReplBacklogTTL))
		}
	}
	for _, r := range rs {
		switch r.State() {
		case StateWaitBgsave:
			r.keepalive()
		case StateOnline:
			if cfg.ReplTimeout > 0 && now.UnixMilli()-r.ackTime.Load() > int64(cfg.ReplTimeout)*1000 {
				m.drop(r, "timeout")
				continue
			}
		}
		if cur := r.cur.Load(); cur != nil {
			lag := m.st.Offset() + 1 - cur.Pos()
			if hard := cfg.ClientOutputBufferLimits["replica"].Hard; hard > 0 && lag > hard {
				m.log.Warn(fmt.Sprintf("Client id=%d addr=%s scheduled to be closed ASAP for overcoming of output buffer limits.", r.ClientID, r.describe()))
				m.drop(r, "")
			}
		}
	}
}

// WaitReplicasForShutdown is what Redis 7.0 does before shutting down a
// master: ask every online replica for its offset and wait, up to timeout,
// until all of them acknowledged everything, so that a replica taking over
// loses nothing. It reports whether they all caught up.
func (m *Manager) WaitReplicasForShutdown(timeout time.Duration) bool {
	if m.IsReplica() || timeout <= 0 {
		return true
	}
	var online []*Replica
	for _, r := range m.Replicas() {
		if r.State() == StateOnline {
			online = append(online, r)
		}
	}
	if len(online) == 0 {
		return true
	}
	target := m.st.Offset()
	m.log.Info("Waiting for replicas before shutting down.")
	got := m.Wait(target, len(online), timeout, nil)
	if got < len(online) {
		for _, r := range online {
			if off := r.AckOffset(); off < target {
				m.log.Warn(fmt.Sprintf("Lagging replica %s reported offset %d behind master, lag=%d, state=%s.", r.describe(), target-off, r.LagSeconds(), r.State()))
			}
		}
		return false
	}
	return true
}
