package nodesconf

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"syscall"

	"github.com/reefkv/reef/internal/cluster/state"
)

// ErrLocked is returned by Open when another process holds the file.
var ErrLocked = errors.New("cluster config file locked")

// File is an open, exclusively locked nodes.conf. The lock lasts until
// Close: a second process (ours or a real redis-server) cannot use the same
// file. File is safe for use by one goroutine at a time.
type File struct {
	path string
	dir  string
	mu   sync.Mutex
	lock *os.File // flocked descriptor of the current file
	// fresh: Open created the file, and nothing was saved in it yet.
	fresh bool
}

// Open opens (creating if missing) and locks path, then reads and parses
// it. The returned *state.Saved is nil when the file was missing or empty
// (no configuration: the node starts fresh). A damaged file returns a
// *ParseError naming the file and line; the caller must exit rather than
// start with a new identity.
func Open(path string) (*File, *state.Saved, error) {
	_, statErr := os.Stat(path)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, nil, fmt.Errorf("open cluster config file %s: %w", path, err)
	}
	if err := lockFd(f); err != nil {
		f.Close()
		if errors.Is(err, ErrLocked) {
			return nil, nil, lockedError{path}
		}
		return nil, nil, fmt.Errorf("lock cluster config file %s: %w", path, err)
	}
	b, err := io.ReadAll(f)
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("read cluster config file %s: %w", path, err)
	}
	saved, err := Parse(b)
	if err != nil {
		f.Close()
		var pe *ParseError
		if errors.As(err, &pe) {
			pe.Path = path
		}
		return nil, nil, err
	}
	return &File{path: path, dir: filepath.Dir(path), lock: f, fresh: os.IsNotExist(statErr)}, saved, nil
}

type lockedError struct{ path string }

func (e lockedError) Error() string {
	return "Sorry, the cluster configuration file " + e.path + " is already used by a different Redis Cluster node. Please make sure that different nodes use different cluster configuration files."
}

func (e lockedError) Unwrap() error { return ErrLocked }

func lockFd(f *os.File) error {
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, syscall.EINTR):
			continue
		case errors.Is(err, syscall.EWOULDBLOCK):
			return ErrLocked
		default:
			return err
		}
	}
}

// Path returns the file's path.
func (f *File) Path() string { return f.path }

// Save replaces the file's content atomically: write a temporary file in
// the same directory, fsync it (when fsync is set), rename it over the
// file, fsync the directory, and move the lock to the new file. A reader
// (or a crash) sees the old or the new content, never a mix.
func (f *File) Save(content []byte, fsync bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.lock == nil {
		return errors.New("cluster config file closed")
	}
	tmp := f.path + ".tmp"
	t, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	if _, err := t.Write(content); err != nil {
		t.Close()
		os.Remove(tmp)
		return err
	}
	if fsync {
		if err := t.Sync(); err != nil {
			t.Close()
			os.Remove(tmp)
			return err
		}
	}
	// Lock the new inode before it gets the name, so there is no moment
	// when the name points to an unlocked file.
	if err := lockFd(t); err != nil {
		t.Close()
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, f.path); err != nil {
		t.Close()
		os.Remove(tmp)
		return err
	}
	f.fresh = false
	if fsync {
		if d, err := os.Open(f.dir); err == nil {
			err = d.Sync()
			d.Close()
			if err != nil {
				t.Close()
				return err
			}
		} else {
			t.Close()
			return err
		}
	}
	old := f.lock
	f.lock = t
	old.Close()
	return nil
}

// Close releases the lock.
func (f *File) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.lock == nil {
		return nil
	}
	err := f.lock.Close()
	f.lock = nil
	return err
}

// Abandon closes a file the node gives up on before it started (its bus
// port is taken, say). A file Open created and nothing was saved in is
// removed: left behind empty, it would read as a node that lost its
// configuration rather than one that never had one.
func (f *File) Abandon() {
	f.mu.Lock()
	fresh := f.fresh
	f.mu.Unlock()
	if fresh {
		os.Remove(f.path)
	}
	f.Close()
}
