package repl

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Link states, as INFO's master_link_status and ROLE report them.
const (
	LinkNone       = "none"
	LinkConnect    = "connect"
	LinkConnecting = "connecting"
	LinkHandshake  = "handshake"
	LinkSync       = "sync"
	LinkConnected  = "connected"
)

// linkState is the replica side: the link to this node's master.
type linkState struct {
	mu         sync.Mutex
	host       string
	port       int
	state      string
	cancel     chan struct{}
	conn       net.Conn
	done       chan struct{}
	cur        *Link
	downSince  int64 // unix seconds, 0: never up
	hasHistory bool  // the stream's replid/offset describe a dataset we hold
	replica    atomic.Bool
	up         atomic.Bool

	syncTotal, syncRead atomic.Int64
	syncLastIO          atomic.Int64
}

// Link is an established connection to this node's master, handed to the
// server to apply the stream.
type Link struct {
	// Conn is the connection; R reads from it (it may hold bytes already
	// received after the RDB payload).
	Conn net.Conn
	R    *bufio.Reader
	m    *Manager
	wmu  sync.Mutex
	// lastIO is the unix ms of the last byte received.
	lastIO atomic.Int64
}

// Touch records that data arrived from the master.
func (l *Link) Touch() { l.lastIO.Store(time.Now().UnixMilli()) }

// SendAck sends REPLCONF ACK <offset> with the stream's current offset.
func (l *Link) SendAck() error {
	off := strconv.FormatInt(l.m.st.Offset(), 10)
	b := AppendCommand(nil, [][]byte{[]byte("REPLCONF"), []byte("ACK"), []byte(off)})
	l.wmu.Lock()
	defer l.wmu.Unlock()
	l.Conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
	_, err := l.Conn.Write(b)
	l.Conn.SetWriteDeadline(time.Time{})
	return err
}

// IsReplica reports whether this node follows a master.
func (m *Manager) IsReplica() bool { return m.link.replica.Load() }

// MasterInfo describes the link for INFO and ROLE.
type MasterInfo struct {
	Host          string
	Port          int
	State         string // one of the Link* constants
	LastIOSecAgo  int64  // -1 when not connected
	SyncInProcess bool
	SyncTotal     int64
	SyncRead      int64
	SyncLastIO    int64
	DownSinceSec  int64 // seconds the link has been down, -1 if it never was up
}

// MasterInfo returns the link state; ok is false on a master.
func (m *Manager) MasterInfo() (MasterInfo, bool) {
	l := &m.link
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.host == "" {
		return MasterInfo{}, false
	}
	mi := MasterInfo{Host: l.host, Port: l.port, State: l.state, LastIOSecAgo: -1, DownSinceSec: -1}
	now := time.Now()
	if l.state == LinkConnected && l.cur != nil {
		mi.LastIOSecAgo = (now.UnixMilli() - l.cur.lastIO.Load()) / 1000
	}
	if l.state == LinkSync {
		mi.SyncInProcess = true
		mi.SyncTotal = l.syncTotal.Load()
		mi.SyncRead = l.syncRead.Load()
		mi.SyncLastIO = now.Unix() - l.syncLastIO.Load()
	}
	if l.downSince > 0 {
		mi.DownSinceSec = now.Unix() - l.downSince
	}
	return mi, true
}

// LinkUp reports whether the link to the master is up (streaming).
func (m *Manager) LinkUp() bool { return m.link.up.Load() }

// ReplicaOf makes this node a replica of host:port (REPLICAOF host port).
// Replicas attached to this node are disconnected so that they learn about
// the new history (they reconnect and usually resync partially). When the
// node was a master, its own replication ID and offset are what it offers
// the new master for a partial resync (Redis's cached master "using
// myself").
func (m *Manager) ReplicaOf(host string, port int) {
	m.stopLink()
	l := &m.link
	l.mu.Lock()
	wasMaster := l.host == ""
	l.host, l.port = host, port
	l.replica.Store(true)
	l.state = LinkConnect
	l.cancel = make(chan struct{})
	l.done = make(chan struct{})
	if wasMaster {
		l.hasHistory = true
	}
	cancel, done := l.cancel, l.done
	l.mu.Unlock()
	for _, r := range m.Replicas() {
		m.drop(r, "")
	}
	m.log.Info(fmt.Sprintf("Connecting to MASTER %s:%d", host, port))
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		defer close(done)
		m.linkLoop(host, port, cancel)
	}()
}

// ReplicaOfNoOne makes this node a master again. It keeps the master's
// replication ID as replid2 (valid up to the current offset) and takes a
// new one, so that the other replicas of the old master, and this node's
// own replicas, can continue from it with a partial resync.
func (m *Manager) ReplicaOfNoOne() {
	if !m.IsReplica() {
		return
	}
	m.stopLink()
	l := &m.link
	l.mu.Lock()
	l.host, l.port, l.state = "", 0, LinkNone
	l.replica.Store(false)
	l.downSince = 0
	l.mu.Unlock()
	m.st.CreateBacklog()
	m.st.ShiftIDs()
	for _, r := range m.Replicas() {
		m.drop(r, "")
	}
	m.st.SetIdleSince(time.Now())
	m.log.Info("MASTER MODE enabled (user request from replicaof no one)")
}

func (m *Manager) stopLink() {
	l := &m.link
	l.mu.Lock()
	cancel, done, conn := l.cancel, l.done, l.conn
	l.cancel, l.done = nil, nil
	l.mu.Unlock()
	if cancel != nil {
		close(cancel)
	}
	if conn != nil {
		conn.Close()
	}
	if done != nil {
		<-done
	}
}

func (m *Manager) setLinkState(s string) {
	m.link.mu.Lock()
	m.link.state = s
	m.link.up.Store(s == LinkConnected)
	m.link.mu.Unlock()
}

// linkLoop connects to the master and serves the link, reconnecting once a
// second after a failure, until cancel is closed.
func (m *Manager) linkLoop(host string, port int, cancel chan struct{}) {
	for {
		err := m.linkOnce(host, port, cancel)
		select {
		case <-cancel:
			return
		default:
		}
		l := &m.link
		l.mu.Lock()
		wasUp := l.state == LinkConnected
		l.state = LinkConnect
		l.up.Store(false)
		l.conn, l.cur = nil, nil
		if wasUp || l.downSince == 0 {
			l.downSince = time.Now().Unix()
		}
		l.mu.Unlock()
		if err != nil {
			if wasUp {
				m.log.Info("Connection with master lost.")
			} else {
				m.log.Warn(fmt.Sprintf("Master %s:%d: %v", host, port, err))
			}
		}
		select {
		case <-cancel:
			return
		case <-time.After(time.Second):
		}
		m.log.Info(fmt.Sprintf("Connecting to MASTER %s:%d", host, port))
	}
}

// errCancelled ends a link the user replaced.
var errCancelled = errors.New("replication link cancelled")

// linkOnce runs one connection to the master: handshake, sync, stream.
func (m *Manager) linkOnce(host string, port int, cancel chan struct{}) error {
	cfg := m.host.Config()
	m.setLinkState(LinkConnecting)
	timeout := time.Duration(cfg.ReplTimeout) * time.Second
	conn, err := net.DialTimeout("tcp", net.JoinHostPort(host, strconv.Itoa(port)), timeout)
	if err != nil {
		return fmt.Errorf("Error condition on socket for SYNC: %w", err)
	}
	l := &m.link
	l.mu.Lock()
	select {
	case <-cancel:
		l.mu.Unlock()
		conn.Close()
		return errCancelled
	default:
	}
	l.conn = conn
	l.mu.Unlock()
	defer conn.Close()
	m.log.Info("MASTER <-> REPLICA sync started")
	m.setLinkState(LinkHandshake)
	br := bufio.NewReaderSize(conn, 64<<10)
	cmd := func(args ...string) (string, error) {
		argv := make([][]byte, len(args))
		for i, a := range args {
			argv[i] = []byte(a)
		}
		conn.SetDeadline(time.Now().Add(timeout))
		defer conn.SetDeadline(time.Time{})
		if _, err := conn.Write(AppendCommand(nil, argv)); err != nil {
			return "", err
		}
		return readLine(br)
	}
	reply, err := cmd("PING")
	if err != nil {
		return err
	}
	if strings.HasPrefix(reply, "-") && !strings.HasPrefix(reply, "-NOAUTH") && !strings.HasPrefix(reply, "-NOPERM") && !strings.HasPrefix(reply, "-ERR operation not permitted") {
		return fmt.Errorf("Error reply to PING from master: '%s'", reply)
	}
	m.log.Info("Master replied to PING, replication can continue...")
	if cfg.MasterAuth != "" {
		var r string
		if cfg.MasterUser != "" {
			r, err = cmd("AUTH", cfg.MasterUser, cfg.MasterAuth)
		} else {
			r, err = cmd("AUTH", cfg.MasterAuth)
		}
		if err != nil {
			return err
		}
		if strings.HasPrefix(r, "-") {
			return fmt.Errorf("Unable to AUTH to MASTER: %s", r)
		}
	}
	lport := cfg.Port
	if cfg.ReplicaAnnouncePort != 0 {
		lport = cfg.ReplicaAnnouncePort
	}
	if r, err := cmd("REPLCONF", "listening-port", strconv.Itoa(lport)); err != nil {
		return err
	} else if strings.HasPrefix(r, "-") {
		m.log.Info("(Non critical) Master does not understand REPLCONF listening-port: " + r)
	}
	if cfg.ReplicaAnnounceIP != "" {
		if r, err := cmd("REPLCONF", "ip-address", cfg.ReplicaAnnounceIP); err != nil {
			return err
		} else if strings.HasPrefix(r, "-") {
			m.log.Info("(Non critical) Master does not understand REPLCONF ip-address: " + r)
		}
	}
	if r, err := cmd("REPLCONF", "capa", "eof", "capa", "psync2"); err != nil {
		return err
	} else if strings.HasPrefix(r, "-") {
		m.log.Info("(Non critical) Master does not understand REPLCONF capa: " + r)
	}
	replid, _, _ := m.st.IDs()
	psyncID, psyncOff := "?", "-1"
	l.mu.Lock()
	if l.hasHistory {
		psyncID, psyncOff = replid, strconv.FormatInt(m.st.Offset()+1, 10)
		m.log.Info(fmt.Sprintf("Trying a partial resynchronization (request %s:%s).", psyncID, psyncOff))
	}
	l.mu.Unlock()
	conn.SetDeadline(time.Now().Add(timeout))
	if _, err := conn.Write(AppendCommand(nil, [][]byte{[]byte("PSYNC"), []byte(psyncID), []byte(psyncOff)})); err != nil {
		return err
	}
	var reply2 string
	for {
		// The master may send newlines while it prepares the sync.
		reply2, err = readLine(br)
		if err != nil {
			return err
		}
		if reply2 != "" {
			break
		}
		conn.SetDeadline(time.Now().Add(timeout))
	}
	conn.SetDeadline(time.Time{})
	link := &Link{Conn: conn, R: br, m: m}
	link.Touch()
	switch {
	case strings.HasPrefix(reply2, "+FULLRESYNC"):
		f := strings.Fields(reply2)
		if len(f) != 3 || len(f[1]) != 40 {
			return fmt.Errorf("Master replied with wrong +FULLRESYNC syntax: %q", reply2)
		}
		off, err := strconv.ParseInt(f[2], 10, 64)
		if err != nil {
			return fmt.Errorf("Master replied with wrong +FULLRESYNC syntax: %q", reply2)
		}
		m.log.Info(fmt.Sprintf("Full resync from master: %s:%d", f[1], off))
		if err := m.fullSyncFromMaster(conn, br, f[1], off, timeout); err != nil {
			return err
		}
	case strings.HasPrefix(reply2, "+CONTINUE"):
		f := strings.Fields(reply2)
		if len(f) >= 2 && len(f[1]) == 40 && f[1] != replid {
			m.st.AdoptID(f[1])
			m.log.Info("Master replication ID changed to " + f[1])
			for _, r := range m.Replicas() {
				m.drop(r, "")
			}
		}
		m.st.CreateBacklog()
		m.log.Info("Successful partial resynchronization with master.")
		m.log.Info("MASTER <-> REPLICA sync: Master accepted a Partial Resynchronization.")
	case strings.HasPrefix(reply2, "-NOMASTERLINK"), strings.HasPrefix(reply2, "-LOADING"):
		return fmt.Errorf("Master is currently unable to PSYNC but should be in the future: %s", reply2)
	default:
		return fmt.Errorf("Unexpected reply to PSYNC from master: %s", reply2)
	}
	l.mu.Lock()
	select {
	case <-cancel:
		l.mu.Unlock()
		return errCancelled
	default:
	}
	l.state = LinkConnected
	l.up.Store(true)
	l.cur = link
	l.hasHistory = true
	l.mu.Unlock()
	link.SendAck()
	return m.host.ServeMaster(link)
}

// fullSyncFromMaster receives the RDB payload into a temporary file (as
// Redis does with repl-diskless-load disabled), then replaces the dataset
// with it.
func (m *Manager) fullSyncFromMaster(conn net.Conn, br *bufio.Reader, replid string, off int64, timeout time.Duration) error {
	m.setLinkState(LinkSync)
	l := &m.link
	var hdr string
	var err error
	for {
		conn.SetReadDeadline(time.Now().Add(timeout))
		hdr, err = readLine(br)
		if err != nil {
			return fmt.Errorf("I/O error reading bulk count from MASTER: %w", err)
		}
		if hdr != "" {
			break
		}
	}
	if strings.HasPrefix(hdr, "-") {
		return fmt.Errorf("MASTER aborted replication with an error: %s", hdr)
	}
	if !strings.HasPrefix(hdr, "$") {
		return fmt.Errorf("Bad protocol from MASTER, the first byte is not '$' (we received '%s'), are you sure the host and port are right?", hdr)
	}
	cfg := m.host.Config()
	tmp := filepath.Join(cfg.Dir, fmt.Sprintf("temp-%d.%d.rdb", time.Now().Unix(), os.Getpid()))
	f, err := os.Create(tmp)
	if err != nil {
		return fmt.Errorf("Opening the temp file needed for MASTER <-> REPLICA synchronization: %w", err)
	}
	defer os.Remove(tmp)
	bw := bufio.NewWriterSize(f, 1<<20)
	l.syncRead.Store(0)
	l.syncLastIO.Store(time.Now().Unix())
	dl := &deadlineReader{conn: conn, r: br, timeout: timeout, read: &l.syncRead, lastIO: &l.syncLastIO}
	if strings.HasPrefix(hdr, "$EOF:") {
		mark := []byte(hdr[5:])
		if len(mark) != 40 {
			f.Close()
			return fmt.Errorf("bad EOF mark %q", hdr)
		}
		l.syncTotal.Store(-1)
		m.log.Info("MASTER <-> REPLICA sync: receiving streamed RDB from master with EOF to disk")
		if err := copyUntilMark(bw, dl, mark); err != nil {
			f.Close()
			return fmt.Errorf("I/O error trying to sync with MASTER: %w", err)
		}
	} else {
		n, err := strconv.ParseInt(hdr[1:], 10, 64)
		if err != nil || n < 0 {
			f.Close()
			return fmt.Errorf("bad bulk length from MASTER: %q", hdr)
		}
		l.syncTotal.Store(n)
		m.log.Info(fmt.Sprintf("MASTER <-> REPLICA sync: receiving %d bytes from master to disk", n))
		if _, err := io.CopyN(bw, dl, n); err != nil {
			f.Close()
			return fmt.Errorf("I/O error trying to sync with MASTER: %w", err)
		}
	}
	conn.SetReadDeadline(time.Time{})
	if err := bw.Flush(); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		f.Close()
		return err
	}
	defer f.Close()
	m.log.Info("MASTER <-> REPLICA sync: Flushing old data")
	// Our replicas follow a history that is about to end.
	for _, r := range m.Replicas() {
		m.drop(r, "")
	}
	// No snapshot may run while the dataset is replaced.
	m.snapMu.Lock()
	defer m.snapMu.Unlock()
	m.host.SetLoading(true)
	m.persist.loading.Store(true)
	m.persist.loadStart.Store(time.Now().Unix())
	m.host.EmptyData()
	m.log.Info("MASTER <-> REPLICA sync: Loading DB in memory")
	start := time.Now()
	res, err := Load(bufio.NewReaderSize(f, 1<<20), m.ks, m.codec, LoadOptions{KeepExpired: true, Access: m.host.LoadedAccess})
	m.st.Reset(replid, off)
	m.SetStreamDB(res.ReplStreamDB)
	m.persist.loading.Store(false)
	m.host.SetLoading(false)
	if err != nil {
		m.host.EmptyData()
		return fmt.Errorf("Failed trying to load the MASTER synchronization DB from disk: %w", err)
	}
	m.log.Info(fmt.Sprintf("MASTER <-> REPLICA sync: Finished with success (loaded in %.3f seconds)", time.Since(start).Seconds()))
	return nil
}

// deadlineReader reads with a per-read deadline and counts bytes.
type deadlineReader struct {
	conn    net.Conn
	r       io.Reader
	timeout time.Duration
	read    *atomic.Int64
	lastIO  *atomic.Int64
}

func (d *deadlineReader) Read(p []byte) (int, error) {
	d.conn.SetReadDeadline(time.Now().Add(d.timeout))
	n, err := d.r.Read(p)
	if n > 0 {
		d.read.Add(int64(n))
		d.lastIO.Store(time.Now().Unix())
	}
	return n, err
}

// copyUntilMark copies r to w until the 40-byte mark ends the stream; the
// mark is not copied.
func copyUntilMark(w io.Writer, r io.Reader, mark []byte) error {
	buf := make([]byte, 256<<10)
	var hold []byte // the last up-to-40 bytes, not yet written
	for {
		n, err := r.Read(buf)
		if n > 0 {
			data := append(hold, buf[:n]...)
			if len(data) >= len(mark) && bytes.Equal(data[len(data)-len(mark):], mark) {
				_, werr := w.Write(data[:len(data)-len(mark)])
				return werr
			}
			keep := min(len(mark), len(data))
			if _, werr := w.Write(data[:len(data)-keep]); werr != nil {
				return werr
			}
			hold = append(hold[:0:0], data[len(data)-keep:]...)
		}
		if err != nil {
			return err
		}
	}
}

// readLine reads one line without its CR LF.
func readLine(br *bufio.Reader) (string, error) {
	line, err := br.ReadString('\n')
	if err != nil {
		return "", err
	}
	return strings.TrimRight(line, "\r\n"), nil
}

// linkCron sends REPLCONF ACK every second and closes a link that has been
// silent for repl-timeout.
func (m *Manager) linkCron(now time.Time) {
	l := &m.link
	l.mu.Lock()
	cur, state, conn := l.cur, l.state, l.conn
	l.mu.Unlock()
	cfg := m.host.Config()
	if state == LinkConnected && cur != nil {
		if cfg.ReplTimeout > 0 && now.UnixMilli()-cur.lastIO.Load() > int64(cfg.ReplTimeout)*1000 {
			m.log.Warn("MASTER timeout: no data nor PING received...")
			conn.Close()
			return
		}
		cur.SendAck()
	}
}
