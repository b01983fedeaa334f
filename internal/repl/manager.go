package repl

import (
	"bufio"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/reefkv/reef/internal/clock"
	"github.com/reefkv/reef/internal/config"
	"github.com/reefkv/reef/internal/keyspace"
	"github.com/reefkv/reef/internal/rdb"
)

// Host is what the Manager needs from the server.
type Host interface {
	// Config returns the current configuration snapshot.
	Config() *config.Config
	// Dirty returns the number of changes since the last save, and
	// SubDirty subtracts the changes a completed save covered.
	Dirty() int64
	SubDirty(n int64)
	// UsedMemory is written as the used-mem AUX field.
	UsedMemory() int64
	// LoadedAccess is the access field (LRU clock or LFU counter) of a key
	// loaded with the LFU frequency and LRU idle time the RDB file saved
	// with it (-1 when absent).
	LoadedAccess(freq, idle int64) uint32
	// SavedAccess returns the access data to save with each key (its idle
	// time or frequency) under the current maxmemory-policy, or nil when
	// the policy saves none.
	SavedAccess() func(v keyspace.Value, meta *rdb.KeyMeta)
	// EmptyData removes every key (a replica about to load its master's
	// dataset), invalidating WATCHes.
	EmptyData()
	// SetLoading switches the LOADING state clients see.
	SetLoading(on bool)
	// ServeMaster applies the master's stream read from l until the link
	// fails or is closed: commands run with FromMaster set, replies are
	// discarded except REPLCONF GETACK's, and every applied command is fed
	// to the stream with Stream.FeedRaw. It blocks.
	ServeMaster(l *Link) error
	// Functions returns the Function libraries to save (FUNCTION2).
	Functions() [][]byte
	// PauseApply stops applying the master's stream between two commands
	// (outside MULTI blocks) until the returned function is called, so that
	// a snapshot's offset falls between whole commands on a replica.
	PauseApply() (resume func())
	// SnapshotWorking is called when a snapshot starts walking the
	// keyspace, a CPU-bound goroutine beside the clients' ones, and the
	// function it returns when the walk ends.
	SnapshotWorking() (done func())
}

// Manager owns a node's replication (both sides) and RDB persistence: the
// stream and backlog, the replicas attached to it, the link to its own
// master, and snapshots (full syncs, SAVE, BGSAVE).
type Manager struct {
	host  Host
	ks    *keyspace.Keyspace
	st    *Stream
	codec Codec
	log   *slog.Logger

	stop chan struct{}
	wg   sync.WaitGroup

	mu          sync.Mutex
	replicas    []*Replica
	waitingFull []*Replica
	syncRunning bool

	ackMu sync.Mutex
	ackCh chan struct{}

	// snapMu makes snapshots exclusive (a full sync, SAVE, BGSAVE).
	snapMu sync.Mutex

	stats struct {
		syncFull, syncPartialOK, syncPartialErr atomic.Int64
	}

	persist persistState
	link    linkState

	// streamDB is the database the master's stream has selected, on a
	// replica (Redis keeps it in its cached master client): a partial
	// resync continues without a SELECT.
	streamDB atomic.Int64
}

// StreamDB returns the database selected in the master's stream.
func (m *Manager) StreamDB() int { return int(m.streamDB.Load()) }

// SetStreamDB records the database selected in the master's stream.
func (m *Manager) SetStreamDB(db int) { m.streamDB.Store(int64(db)) }

type persistState struct {
	lastSave      atomic.Int64 // unix seconds
	bgInProgress  atomic.Bool
	bgStart       atomic.Int64 // unix ms
	lastBgOK      atomic.Bool
	lastBgTimeSec atomic.Int64
	lastBgTry     atomic.Int64 // unix seconds
	saves         atomic.Int64
	tmpSeq        atomic.Int64
	loading       atomic.Bool
	loadStart     atomic.Int64
}

// NewManager returns a manager for ks. log must not be nil.
func NewManager(host Host, ks *keyspace.Keyspace, codec Codec, log *slog.Logger) *Manager {
	cfg := host.Config()
	m := &Manager{host: host, ks: ks, codec: codec, log: log, stop: make(chan struct{})}
	m.st = NewStream(cfg.ReplBacklogSize, ks.AfterCut)
	m.persist.lastSave.Store(time.Now().Unix())
	m.persist.lastBgOK.Store(true)
	m.persist.lastBgTimeSec.Store(-1)
	return m
}

// Stream returns the replication stream.
func (m *Manager) Stream() *Stream { return m.st }

// Start runs the replication cron (and the link to the master configured
// with replicaof).
func (m *Manager) Start() {
	if host, port, ok := m.host.Config().Master(); ok {
		m.ReplicaOf(host, port)
	}
	m.wg.Add(1)
	go m.cron()
}

// Close stops every goroutine of the manager and waits for them. Replica
// connections belong to the server, which closes them.
func (m *Manager) Close() {
	select {
	case <-m.stop:
		return
	default:
	}
	m.stopLink()
	close(m.stop)
	for _, r := range m.Replicas() {
		m.drop(r, "")
	}
	m.wg.Wait()
}

// cron runs once a second, on the beat of the process's pulse that ends
// the second rather than on a ticker of its own, so that an idle node
// wakes up for it together with its other periodic duties (clock.Pulse).
func (m *Manager) cron() {
	defer m.wg.Done()
	pulse, cancel := clock.Pulse()
	defer cancel()
	var tick int64
	last := time.Now()
	for {
		select {
		case <-m.stop:
			return
		case now := <-pulse:
			// Half a period of slack: beats arrive a few microseconds
			// early or late.
			if now.Sub(last) < time.Second-clock.PulsePeriod/2 {
				continue
			}
			last = now
			tick++
			m.masterCron(now, tick)
			m.linkCron(now)
			m.saveCron(now)
		}
	}
}

// ---- persistence ----

// SyncStats returns sync_full, sync_partial_ok and sync_partial_err.
func (m *Manager) SyncStats() (full, partialOK, partialErr int64) {
	return m.stats.syncFull.Load(), m.stats.syncPartialOK.Load(), m.stats.syncPartialErr.Load()
}

// LastSave returns the unix time of the last successful save.
func (m *Manager) LastSave() int64 { return m.persist.lastSave.Load() }

// PersistInfo is what INFO persistence reports.
type PersistInfo struct {
	Loading           bool
	LoadingStartTime  int64
	BgsaveInProgress  bool
	LastSaveTime      int64
	LastBgsaveOK      bool
	LastBgsaveTimeSec int64
	CurrentBgsaveSec  int64
	Saves             int64
}

// PersistInfo returns the persistence state.
func (m *Manager) PersistInfo() PersistInfo {
	p := &m.persist
	pi := PersistInfo{
		Loading:           p.loading.Load(),
		LoadingStartTime:  p.loadStart.Load(),
		BgsaveInProgress:  p.bgInProgress.Load(),
		LastSaveTime:      p.lastSave.Load(),
		LastBgsaveOK:      p.lastBgOK.Load(),
		LastBgsaveTimeSec: p.lastBgTimeSec.Load(),
		CurrentBgsaveSec:  -1,
		Saves:             p.saves.Load(),
	}
	if pi.BgsaveInProgress {
		pi.CurrentBgsaveSec = (time.Now().UnixMilli() - p.bgStart.Load()) / 1000
	}
	return pi
}

// ErrSaveInProgress is returned while another snapshot runs.
var ErrSaveInProgress = errors.New("ERR Background save already in progress")

func (m *Manager) snapshotOptions() SnapshotOptions {
	cfg := m.host.Config()
	return SnapshotOptions{
		Write: rdb.WriteOptions{
			DisableCompression:  !cfg.RDBCompression,
			DisableChecksum:     !cfg.RDBChecksum,
			ListMaxListpackSize: cfg.ListMaxListpackSize,
			ListCompressDepth:   cfg.ListCompressDepth,
		},
		Aux:       AuxNow(m.host.UsedMemory()),
		Functions: m.host.Functions(),
		KeyMeta:   m.host.SavedAccess(),
		Working:   m.host.SnapshotWorking,
	}
}

// beginSnapshot starts a snapshot with the master link (if any) paused at a
// command boundary. REQUIRES: snapMu held.
func (m *Manager) beginSnapshot(opts SnapshotOptions) *Snapshot {
	resume := m.host.PauseApply()
	defer resume()
	start := time.Now()
	sn := BeginSnapshot(m.ks, m.st, m.codec, opts)
	if sn != nil {
		m.log.Debug(fmt.Sprintf("Snapshot cut at offset %d (drain took %d us)", sn.Offset, time.Since(start).Microseconds()))
	}
	if sn != nil && sn.opts.Aux.Repl != nil && m.IsReplica() {
		sn.opts.Aux.Repl.StreamDB = m.StreamDB()
	}
	return sn
}

// RDBPath returns dir/dbfilename.
func (m *Manager) RDBPath() string {
	cfg := m.host.Config()
	return filepath.Join(cfg.Dir, cfg.DBFilename)
}

// Save is SAVE: it writes the dataset to the RDB file and returns when it is
// on disk. Other clients keep being served meanwhile.
func (m *Manager) Save() error {
	if !m.snapMu.TryLock() {
		return ErrSaveInProgress
	}
	return m.saveLocked()
}

// SaveWaiting saves like Save, after waiting for a snapshot in progress
// (a full sync, a BGSAVE) to finish: the final save of a shutdown.
func (m *Manager) SaveWaiting() error {
	m.snapMu.Lock()
	return m.saveLocked()
}

// Reload is DEBUG RELOAD: save (unless !save), empty the dataset and load
// the file back, with no snapshot running meanwhile (a snapshot in progress
// would capture the emptied slots).
func (m *Manager) Reload(save bool, asReplica bool) error {
	m.snapMu.Lock()
	if save {
		if err := m.saveUnlocked(); err != nil {
			m.snapMu.Unlock()
			return err
		}
	}
	defer m.snapMu.Unlock()
	m.host.EmptyData()
	_, err := m.LoadFile(m.RDBPath(), asReplica)
	return err
}

// saveLocked is SAVE. REQUIRES: snapMu held; it releases it.
func (m *Manager) saveLocked() error {
	defer m.snapMu.Unlock()
	return m.saveUnlocked()
}

// saveUnlocked is SAVE. REQUIRES: snapMu held.
func (m *Manager) saveUnlocked() error {
	start := time.Now()
	sn := m.beginSnapshot(m.snapshotOptions())
	if sn == nil {
		return ErrSaveInProgress
	}
	if _, err := m.saveSnapshotToFile(sn, start); err != nil {
		m.log.Warn("Failed saving the DB: " + err.Error())
		return err
	}
	m.log.Info("DB saved on disk")
	m.persist.lastBgOK.Store(true) // as Redis's rdbSave
	return nil
}

// LastBgsaveFailed reports whether the last background save failed (and no
// save succeeded since): Redis's lastbgsave_status == C_ERR, which refuses
// writes under stop-writes-on-bgsave-error.
func (m *Manager) LastBgsaveFailed() bool { return !m.persist.lastBgOK.Load() }

// BGSave is BGSAVE: it starts writing the RDB file in the background.
func (m *Manager) BGSave() error {
	if !m.snapMu.TryLock() {
		return ErrSaveInProgress
	}
	p := &m.persist
	start := time.Now()
	p.bgInProgress.Store(true)
	p.bgStart.Store(start.UnixMilli())
	p.lastBgTry.Store(start.Unix())
	sn := m.beginSnapshot(m.snapshotOptions())
	if sn == nil {
		p.bgInProgress.Store(false)
		m.snapMu.Unlock()
		return ErrSaveInProgress
	}
	m.log.Info(fmt.Sprintf("Background saving started by pid %d", os.Getpid()))
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		defer m.snapMu.Unlock()
		_, err := m.saveSnapshotToFile(sn, start)
		p.lastBgOK.Store(err == nil)
		p.lastBgTimeSec.Store(int64(time.Since(start).Seconds()))
		p.bgInProgress.Store(false)
		if err != nil {
			m.log.Warn("Background saving error: " + err.Error())
			return
		}
		m.log.Info("Background saving terminated with success")
	}()
	return nil
}

// saveSnapshotToFile writes sn to a temporary file, syncs it and renames it
// to the RDB path; it updates LASTSAVE and the dirty counter on success.
// REQUIRES: snapMu held.
func (m *Manager) saveSnapshotToFile(sn *Snapshot, start time.Time) (string, error) {
	dirtyBefore := m.host.Dirty()
	path := m.RDBPath()
	tmp := filepath.Join(filepath.Dir(path), fmt.Sprintf("temp-%d-%d.rdb", os.Getpid(), m.persist.tmpSeq.Add(1)))
	f, err := os.Create(tmp)
	if err != nil {
		sn.Abort()
		return "", fmt.Errorf("Failed opening the temp RDB file %s (in server root dir %s) for saving: %w", filepath.Base(tmp), filepath.Dir(path), err)
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	_, err = sn.WriteTo(bw)
	if err == nil {
		err = bw.Flush()
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return "", err
	}
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		d.Sync()
		d.Close()
	}
	m.host.SubDirty(dirtyBefore)
	m.persist.lastSave.Store(time.Now().Unix())
	m.persist.saves.Add(1)
	_ = start
	return path, nil
}

// saveCron starts a BGSAVE when a save point is reached, as Redis's
// serverCron does.
func (m *Manager) saveCron(now time.Time) {
	cfg := m.host.Config()
	if len(cfg.Save) == 0 || m.persist.bgInProgress.Load() {
		return
	}
	dirty := m.host.Dirty()
	since := now.Unix() - m.persist.lastSave.Load()
	for _, sp := range cfg.Save {
		if dirty >= sp.Changes && since > sp.Seconds &&
			(m.persist.lastBgOK.Load() || now.Unix()-m.persist.lastBgTry.Load() > 5) {
			m.log.Info(fmt.Sprintf("%d changes in %d seconds. Saving...", sp.Changes, sp.Seconds))
			m.BGSave()
			return
		}
	}
}

// LoadFile loads the RDB file at path into the (empty) keyspace at
// startup, restoring the replication ID and offset it records, as Redis 7.0
// does, so that replicas can continue with a partial resync. A missing
// file is not an error.
func (m *Manager) LoadFile(path string, asReplica bool) (LoadResult, error) {
	f, err := os.Open(path)
	if err != nil {
		if os.IsNotExist(err) {
			return LoadResult{}, nil
		}
		return LoadResult{}, err
	}
	defer f.Close()
	start := time.Now()
	m.persist.loading.Store(true)
	m.persist.loadStart.Store(start.Unix())
	defer m.persist.loading.Store(false)
	res, err := Load(bufio.NewReaderSize(f, 1<<20), m.ks, m.codec, LoadOptions{
		KeepExpired: asReplica,
		Now:         time.Now().UnixMilli(),
		Access:      m.host.LoadedAccess,
		Read:        rdb.ReadOptions{SkipChecksum: !m.host.Config().RDBChecksum},
	})
	if err != nil {
		return res, err
	}
	if res.ReplID != "" {
		if asReplica {
			m.st.Reset(res.ReplID, res.ReplOffset)
			m.link.hasHistory = true
			m.SetStreamDB(res.ReplStreamDB)
		} else {
			// A master keeps its history as replid2, so replicas that
			// followed it can still partially resync.
			m.st.Reset(res.ReplID, res.ReplOffset)
			m.st.ShiftIDs()
		}
	}
	m.log.Info(fmt.Sprintf("DB loaded from disk: %.3f seconds", time.Since(start).Seconds()))
	return res, nil
}

// Loading reports whether a dataset is being loaded.
func (m *Manager) Loading() bool { return m.persist.loading.Load() }
