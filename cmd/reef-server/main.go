// Command reef-server is a Reef node. It takes redis-server's arguments:
//
//	reef-server [/path/to/reef.conf] [--directive value ...]
//
// and runs until SIGTERM, SIGINT or SHUTDOWN.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/reefkv/reef/internal/command"
	"github.com/reefkv/reef/internal/config"
	"github.com/reefkv/reef/internal/logging"
	"github.com/reefkv/reef/internal/server"
)

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	if len(args) > 0 {
		switch args[0] {
		case "-v", "--version":
			fmt.Printf("Redis server v=%s sha=00000000:0 malloc=go bits=64 build=reef-%s\n", command.RedisVersion, server.Version)
			return 0
		case "-h", "--help":
			usage(os.Stdout)
			return 0
		}
	}
	cfg, err := config.Load(args)
	if err != nil {
		var fe *config.FatalError
		if errors.As(err, &fe) && fe.Stderr != "" {
			fmt.Fprint(os.Stderr, fe.Stderr)
			if fe.File != "" && fe.Line > 0 {
				fmt.Fprintf(os.Stderr, "(in %s, line %d)\n", fe.File, fe.Line)
			}
		} else {
			logging.NewOutput(os.Stdout, logging.LevelWarning).Logger().Warn(err.Error())
		}
		return 1
	}
	if cfg.Daemonize {
		return daemonize(args)
	}
	// Redis chdir()s while reading "dir", before it ever opens the log
	// file: a relative logfile (and pidfile) is inside dir.
	if err := os.Chdir(cfg.Dir); err != nil {
		logging.NewOutput(os.Stdout, logging.LevelWarning).Logger().Warn(fmt.Sprintf("Can't chdir to '%s': %v", cfg.Dir, err))
		return 1
	}
	out := io.Writer(os.Stdout)
	if cfg.Logfile != "" {
		f, err := os.OpenFile(cfg.Logfile, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
		if err != nil {
			fmt.Fprintf(os.Stderr, "Can't open the log file: %v\n", err)
			return 1
		}
		defer f.Close()
		out = f
	}
	logOut := logging.NewOutput(out, logging.ParseLevel(cfg.LogLevel))
	log := logOut.Logger()
	log.Warn("oO0OoO0OoO0Oo Reef is starting oO0OoO0OoO0Oo")
	log.Warn(fmt.Sprintf("Reef version=%s (Redis %s compatible), bits=64, PID: %d, just started", server.Version, command.RedisVersion, os.Getpid()))
	log.Warn("Configuration loaded")
	if cfg.DisableTHP && thpAlways() {
		// As Redis does with disable-thp yes; the pages LATENCY DOCTOR
		// warns of then stay away from this process.
		unix.Prctl(unix.PR_SET_THP_DISABLE, 1, 0, 0, 0)
	}
	if cfg.Pidfile != "" {
		if err := os.WriteFile(cfg.Pidfile, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
			log.Warn(fmt.Sprintf("Failed to write PID file: %v", err))
		}
	}
	// REEF_CPUPROFILE=<file> records a CPU profile for the process's life,
	// for performance work (go tool pprof).
	// "{pid}" in the name is replaced by the process ID (several nodes).
	if path := os.Getenv("REEF_CPUPROFILE"); path != "" {
		path = strings.ReplaceAll(path, "{pid}", strconv.Itoa(os.Getpid()))
		if f, err := os.Create(path); err == nil {
			pprof.StartCPUProfile(f)
			defer pprof.StopCPUProfile()
		}
	}
	srv := server.New(cfg, logOut)
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		for sig := range sigs {
			name := "SIGTERM"
			if sig == syscall.SIGINT {
				name = "SIGINT"
			}
			log.Warn(fmt.Sprintf("Received %s scheduling shutdown...", name))
			srv.RequestShutdown(name, srv.ShutdownOnSignal(sig == syscall.SIGINT))
		}
	}()
	return srv.Run()
}

// daemonize starts a detached copy of this process with daemonize off, as
// redis-server's fork does, and returns in the parent.
func daemonize(args []string) int {
	exe, err := os.Executable()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	cmd := exec.Command(exe, append(args, "--daemonize", "no")...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	devnull, _ := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = devnull, devnull, devnull
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

func usage(w io.Writer) {
	fmt.Fprint(w, `Usage: ./reef-server [/path/to/reef.conf] [options] [-]
       ./reef-server - (read config from stdin)
       ./reef-server -v or --version
       ./reef-server -h or --help

Examples:
       ./reef-server (run the server with default conf)
       ./reef-server /etc/redis/6379.conf
       ./reef-server --port 7777
       ./reef-server --port 7777 --replicaof 127.0.0.1 8888
       ./reef-server /etc/myredis.conf --loglevel verbose -
       ./reef-server /etc/myredis.conf --loglevel verbose
`)
}

// thpAlways reports whether the kernel gives transparent huge pages to
// every process ("[always]"), not only to those that ask ("[madvise]").
func thpAlways() bool {
	b, err := os.ReadFile("/sys/kernel/mm/transparent_hugepage/enabled")
	return err == nil && strings.Contains(string(b), "[always]")
}
