package admin

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/reefkv/reef/internal/client"
)

// UpOptions configure a local cluster started by Up.
type UpOptions struct {
	Nodes    int    // processes to start (default 6)
	Replicas int    // replicas per master (default 1)
	Port     int    // first port (default 7000); node i listens on Port+i
	Dir      string // working folder (default ./reef-cluster)
	Bin      string // server binary; see ServerBinary
	Extra    []string
}

// ServerBinary finds the reef-server to run: $REEF_SERVER_BIN, then a
// reef-server next to the running executable, then one on $PATH, else it
// builds ./cmd/reef-server into dir when run inside the Reef module.
func ServerBinary(dir string) (string, error) {
	if b := os.Getenv("REEF_SERVER_BIN"); b != "" {
		return b, nil
	}
	if exe, err := os.Executable(); err == nil {
		p := filepath.Join(filepath.Dir(exe), "reef-server")
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p, nil
		}
	}
	if p, err := exec.LookPath("reef-server"); err == nil {
		return p, nil
	}
	if _, err := os.Stat("cmd/reef-server"); err == nil {
		out := filepath.Join(dir, "reef-server")
		cmd := exec.Command("go", "build", "-o", out, "./cmd/reef-server")
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			return "", fmt.Errorf("build reef-server: %w", err)
		}
		return out, nil
	}
	return "", fmt.Errorf("no reef-server found: set REEF_SERVER_BIN, put reef-server on PATH, or run from the Reef source tree")
}

const pidsFile = "pids"

// Up starts local server processes, creates a cluster of them and waits until
// it is ok. The processes run in their own session so they outlive reef-cli;
// Down stops them.
func (m *Manager) Up(o UpOptions) error {
	if o.Nodes == 0 {
		o.Nodes = 6
	}
	if o.Port == 0 {
		o.Port = 7000
	}
	if o.Dir == "" {
		o.Dir = "reef-cluster"
	}
	dir, err := filepath.Abs(o.Dir)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if b, err := os.ReadFile(filepath.Join(dir, pidsFile)); err == nil && len(strings.TrimSpace(string(b))) > 0 {
		m.logErr("[ERR] %s already holds a running cluster (%s): run reef-cli --cluster down first.\n", dir, pidsFile)
		return ErrFailed
	}
	bin := o.Bin
	if bin == "" {
		if bin, err = ServerBinary(dir); err != nil {
			m.logErr("[ERR] %v\n", err)
			return ErrFailed
		}
	}
	var addrs []string
	var pids []string
	m.logInfo(">>> Starting %d nodes of %s in %s\n", o.Nodes, filepath.Base(bin), dir)
	for i := 0; i < o.Nodes; i++ {
		port := o.Port + i
		addr := "127.0.0.1:" + strconv.Itoa(port)
		if c, err := client.Dial(addr, client.Options{DialTimeout: 200 * time.Millisecond}); err == nil {
			c.Close()
			m.logErr("[ERR] Port %d is already in use.\n", port)
			stopPIDs(pids)
			return ErrFailed
		}
		args := []string{"--port", strconv.Itoa(port), "--cluster-enabled", "yes",
			"--cluster-config-file", fmt.Sprintf("nodes-%d.conf", port), "--dir", dir,
			"--daemonize", "no", "--logfile", fmt.Sprintf("node-%d.log", port),
			// The nodes share one folder: each needs its own snapshot and
			// append-only file, or a restart would load another node's data.
			"--dbfilename", fmt.Sprintf("dump-%d.rdb", port),
			"--appendfilename", fmt.Sprintf("appendonly-%d.aof", port),
			"--appenddirname", fmt.Sprintf("appendonlydir-%d", port)}
		args = append(args, o.Extra...)
		cmd := exec.Command(bin, args...)
		cmd.Dir = dir
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
		if err := cmd.Start(); err != nil {
			stopPIDs(pids)
			m.logErr("[ERR] start %s: %v\n", bin, err)
			return ErrFailed
		}
		pids = append(pids, strconv.Itoa(cmd.Process.Pid))
		cmd.Process.Release()
		addrs = append(addrs, addr)
	}
	if err := os.WriteFile(filepath.Join(dir, pidsFile), []byte(strings.Join(pids, "\n")+"\n"), 0o644); err != nil {
		stopPIDs(pids)
		return err
	}
	for _, a := range addrs {
		if !waitPing(a, 20*time.Second) {
			m.logErr("[ERR] Node %s did not start; see %s\n", a, dir)
			return ErrFailed
		}
	}
	m.Opts.Replicas = o.Replicas
	m.Opts.Yes = true
	if err := m.Create(addrs); err != nil {
		return err
	}
	m.printf("Waiting for cluster_state:ok")
	deadline := time.Now().Add(60 * time.Second)
	wantReplicas := 0
	if o.Replicas > 0 {
		wantReplicas = o.Nodes - o.Nodes/(o.Replicas+1)
	}
	for !allStateOK(addrs, m.connOpts()) || !allSeeReplicas(addrs, m.connOpts(), wantReplicas) {
		if time.Now().After(deadline) {
			m.printf("\n")
			m.logErr("[ERR] The cluster did not reach cluster_state:ok within 60s.\n")
			return ErrFailed
		}
		m.printf(".")
		time.Sleep(200 * time.Millisecond)
	}
	m.printf("\n")
	m.logOK("[OK] Cluster of %d nodes is up (%s).\n", o.Nodes, dir)
	m.printf("Connect with:  reef-cli -c -p %d\n", o.Port)
	m.printf("Check with:    reef-cli --cluster check 127.0.0.1:%d\n", o.Port)
	m.printf("Stop with:     reef-cli --cluster down --dir %s\n", o.Dir)
	return nil
}

func waitPing(addr string, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if c, err := client.Dial(addr, client.Options{DialTimeout: 200 * time.Millisecond, Timeout: time.Second}); err == nil {
			v, err := c.Do("PING")
			c.Close()
			if err == nil && !strings.HasPrefix(v.Text(), "LOADING") {
				return true
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return false
}

func allStateOK(addrs []string, o client.Options) bool {
	for _, a := range addrs {
		c, err := client.Dial(a, o)
		if err != nil {
			return false
		}
		v, err := c.Do("CLUSTER", "INFO")
		c.Close()
		if err != nil || infoField(v.Text(), "cluster_state") != "ok" {
			return false
		}
	}
	return true
}

// allSeeReplicas reports whether every node's view lists want replicas, so
// "up" returns only once gossip has spread the roles set by create.
func allSeeReplicas(addrs []string, o client.Options, want int) bool {
	for _, a := range addrs {
		c, err := client.Dial(a, o)
		if err != nil {
			return false
		}
		v, err := c.Do("CLUSTER", "NODES")
		c.Close()
		if err != nil || strings.Count(v.Text(), "slave") != want {
			return false
		}
	}
	return true
}

func stopPIDs(pids []string) {
	for _, p := range pids {
		if pid, err := strconv.Atoi(p); err == nil && pid > 0 {
			syscall.Kill(pid, syscall.SIGTERM)
		}
	}
}

// Down stops the processes Up started in dir (by the PIDs it recorded) and
// waits for them to exit.
func (m *Manager) Down(dir string) error {
	if dir == "" {
		dir = "reef-cluster"
	}
	f, err := os.Open(filepath.Join(dir, pidsFile))
	if err != nil {
		m.logErr("[ERR] No cluster started by reef-cli in %s.\n", dir)
		return ErrFailed
	}
	var pids []int
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if pid, err := strconv.Atoi(strings.TrimSpace(sc.Text())); err == nil && pid > 0 {
			pids = append(pids, pid)
		}
	}
	f.Close()
	for _, pid := range pids {
		syscall.Kill(pid, syscall.SIGTERM)
	}
	deadline := time.Now().Add(15 * time.Second)
	for _, pid := range pids {
		for syscall.Kill(pid, 0) == nil && !isZombie(pid) {
			if time.Now().After(deadline) {
				syscall.Kill(pid, syscall.SIGKILL)
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	os.Remove(filepath.Join(dir, pidsFile))
	m.logOK("[OK] Stopped %d nodes in %s.\n", len(pids), dir)
	return nil
}

// isZombie reports whether pid has exited but was not reaped yet (it is our
// child when Up and Down run in one process, as in tests).
func isZombie(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	s := string(b)
	if i := strings.LastIndexByte(s, ')'); i >= 0 && i+2 < len(s) {
		return s[i+2] == 'Z'
	}
	return false
}
