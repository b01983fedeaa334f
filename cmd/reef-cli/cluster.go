package main

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/reefkv/reef/internal/admin"
)

// clusterCmd is a parsed `--cluster <name> args...`.
type clusterCmd struct {
	name string
	args []string
	opts admin.Options
	up   admin.UpOptions
}

// arity of each subcommand, as redis-cli's clusterManagerCommands table
// (negative: at least). -1 for commands taking host:port or host port.
var clusterArity = map[string]int{
	"create": -2, "check": -1, "info": -1, "fix": -1, "reshard": -1, "rebalance": -1,
	"add-node": 2, "del-node": 2, "call": -2, "set-timeout": 2, "import": 1, "backup": 2, "help": 0,
	// Reef extensions.
	"plan": -2, "apply": -1, "up": 0, "down": 0,
}

// tribAliases maps redis-trib.rb option spellings to redis-cli's.
var tribAliases = map[string]string{
	"--replicas": "--cluster-replicas", "--from": "--cluster-from", "--to": "--cluster-to",
	"--slots": "--cluster-slots", "--yes": "--cluster-yes", "--slave": "--cluster-slave",
	"--master-id": "--cluster-master-id", "--weight": "--cluster-weight",
	"--auto-weights": "--cluster-auto-weights", "--use-empty-masters": "--cluster-use-empty-masters",
	"--simulate": "--cluster-simulate", "--threshold": "--cluster-threshold",
	"--pipeline": "--cluster-pipeline", "--timeout": "--cluster-timeout", "--copy": "--cluster-copy",
	"--replace": "--cluster-replace",
}

// parseClusterArgv parses a command line that contains --cluster. Options
// may come before or after the subcommand, as with redis-cli.
func parseClusterArgv(cfg *config, argv []string) (int, bool) {
	cc := &clusterCmd{opts: admin.DefaultOptions()}
	if os.Getenv("REDISCLI_CLUSTER_YES") == "1" {
		cc.opts.Yes = true
	}
	o := &cc.opts
	for i := 0; i < len(argv); i++ {
		a := argv[i]
		if al, ok := tribAliases[a]; ok {
			a = al
		}
		need := func() (string, bool) {
			if i+1 >= len(argv) {
				fmt.Fprintf(os.Stderr, "Unrecognized option or bad number of args for: '%s'\n", argv[i])
				return "", false
			}
			i++
			return argv[i], true
		}
		var v string
		ok := true
		switch a {
		case "--cluster":
			if cc.name != "" || i+1 >= len(argv) {
				usageExit(1)
			}
			i++
			cc.name = argv[i]
			for i+1 < len(argv) && !strings.HasPrefix(argv[i+1], "-") {
				i++
				cc.args = append(cc.args, argv[i])
			}
		case "-h":
			v, ok = need()
			cfg.host = v
		case "-p":
			v, ok = need()
			cfg.port = v
		case "-a", "--pass":
			v, ok = need()
			cfg.pass = v
		case "--user":
			v, ok = need()
			cfg.user = v
		case "--no-auth-warning":
			cfg.noAuthWarn = true
		case "--verbose":
			o.Verbose = true
		case "-3", "-2", "--raw", "--no-raw", "-c", "-e":
		case "--cluster-replicas":
			v, ok = need()
			o.Replicas, _ = strconv.Atoi(v)
		case "--cluster-from":
			v, ok = need()
			o.From = v
		case "--cluster-to":
			v, ok = need()
			o.To = v
		case "--cluster-slots":
			v, ok = need()
			o.Slots, _ = strconv.Atoi(v)
		case "--cluster-timeout":
			v, ok = need()
			o.Timeout, _ = strconv.Atoi(v)
		case "--cluster-pipeline":
			v, ok = need()
			o.Pipeline, _ = strconv.Atoi(v)
		case "--cluster-threshold":
			v, ok = need()
			o.Threshold, _ = strconv.ParseFloat(v, 64)
		case "--cluster-master-id":
			v, ok = need()
			o.MasterID = v
		case "--cluster-from-user":
			v, ok = need()
			o.FromUser = v
		case "--cluster-from-pass":
			v, ok = need()
			o.FromPass = v
		case "--cluster-from-askpass":
			fmt.Fprint(os.Stderr, "Please input import source node password: ")
			l, _ := readLineStdin()
			o.FromPass = l
		case "--cluster-weight":
			if i+1 >= len(argv) {
				// redis-cli wants an argument after it, whatever it is.
				_, ok = need()
				break
			}
			if o.Weights != nil {
				// redis-cli exits right there, before parsing the rest.
				fmt.Fprintln(os.Stderr, "WARNING: you cannot use --cluster-weight more than once.\nYou can set more weights by adding them as a space-separated list, ie:\n--cluster-weight n1=w n2=w")
				return 1, true
			}
			o.Weights = []string{}
			for i+1 < len(argv) && !strings.HasPrefix(argv[i+1], "--") {
				i++
				if strings.Contains(argv[i], "=") {
					o.Weights = append(o.Weights, argv[i])
				}
			}
		case "--cluster-yes":
			o.Yes = true
		case "--cluster-search-multiple-owners":
			o.SearchMultipleOwners = true
		case "--cluster-fix-with-unreachable-masters":
			o.FixWithUnreachable = true
		case "--cluster-replace":
			o.Replace = true
		case "--cluster-use-empty-masters":
			o.UseEmptyMasters = true
		case "--cluster-simulate":
			o.Simulate = true
		case "--cluster-slave", "--cluster-replica":
			o.Slave = true
		case "--cluster-only-masters":
			o.OnlyMasters = true
		case "--cluster-only-replicas":
			o.OnlyReplicas = true
		case "--cluster-copy":
			o.Copy = true
		case "--cluster-auto-weights":
			o.AutoWeights = true
		case "--cluster-legacy":
			o.Legacy = true
		case "--cluster-by":
			v, ok = need()
			o.By = v
		case "--cluster-parallel":
			v, ok = need()
			o.Parallel, _ = strconv.Atoi(v)
		case "--cluster-slot-batch":
			v, ok = need()
			o.SlotBatch, _ = strconv.Atoi(v)
		case "--cluster-max-batch-bytes":
			v, ok = need()
			o.MaxBatchBytes, _ = strconv.ParseInt(v, 10, 64)
		case "--cluster-big-key-bytes":
			v, ok = need()
			o.BigKeyBytes, _ = strconv.ParseInt(v, 10, 64)
		case "--cluster-plan-file":
			v, ok = need()
			o.PlanFile = v
		case "--nodes":
			v, ok = need()
			cc.up.Nodes, _ = strconv.Atoi(v)
		case "--port":
			v, ok = need()
			cc.up.Port, _ = strconv.Atoi(v)
		case "--dir":
			v, ok = need()
			cc.up.Dir = v
		default:
			fmt.Fprintf(os.Stderr, "Unrecognized option or bad number of args for: '%s'\n", argv[i])
			return 1, true
		}
		if !ok {
			return 1, true
		}
	}
	if o.By != "slots" && o.By != "keys" && o.By != "memory" {
		fmt.Fprintf(os.Stderr, "Invalid --cluster-by %q: use slots, keys or memory\n", o.By)
		return 1, true
	}
	o.User, o.Password = cfg.user, cfg.pass
	cc.up.Replicas = o.Replicas
	if cc.name == "up" && !hasArg(argv, "--cluster-replicas", "--replicas") {
		cc.up.Replicas = 1
	}
	cfg.clusterArgs = cc
	return 0, false
}

func hasArg(argv []string, names ...string) bool {
	for _, a := range argv {
		for _, n := range names {
			if a == n {
				return true
			}
		}
	}
	return false
}

func readLineStdin() (string, error) {
	var b []byte
	one := make([]byte, 1)
	for {
		n, err := os.Stdin.Read(one)
		if n == 0 || err != nil || one[0] == '\n' {
			return strings.TrimRight(string(b), "\r"), err
		}
		b = append(b, one[0])
	}
}

// hostArgs is getClusterHostFromCmdArgs: "ip:port" or "ip port".
func hostArgs(args []string) (string, []string, bool) {
	if len(args) == 0 {
		return "", nil, false
	}
	a := args[0]
	if i := strings.LastIndexByte(a, ':'); i > 0 {
		if p, err := strconv.Atoi(a[i+1:]); err == nil && p > 0 && p < 65536 {
			return a, args[1:], true
		}
		return "", nil, false
	}
	if len(args) >= 2 {
		if p, err := strconv.Atoi(args[1]); err == nil && p > 0 && p < 65536 {
			return a + ":" + args[1], args[2:], true
		}
	}
	return "", nil, false
}

const invalidHostMsg = "[ERR] Invalid arguments: you need to pass either a valid address (ie. 120.0.0.1:7000) or space separated IP and port (ie. 120.0.0.1 7000)\n"

// runCluster runs a --cluster subcommand and returns the exit status.
func runCluster(cfg *config) int {
	cc := cfg.clusterArgs
	arity, known := clusterArity[cc.name]
	if !known {
		fmt.Fprintf(os.Stderr, "Unknown --cluster subcommand\n")
		return 1
	}
	argc := len(cc.args)
	// "host port" counts as one address for the -1 commands.
	if arity == -1 && argc >= 2 {
		if _, err := strconv.Atoi(cc.args[1]); err == nil && !strings.Contains(cc.args[0], ":") {
			argc--
		}
	}
	if (arity > 0 && argc != arity) || (arity < 0 && argc < -arity) || (arity == 0 && cc.name == "help" && argc != 0) {
		fmt.Fprintf(os.Stderr, "[ERR] Wrong number of arguments for specified --cluster sub command\n")
		return 1
	}
	if cfg.pass != "" && !cfg.noAuthWarn && passFromArgv(os.Args[1:]) {
		fmt.Fprintln(os.Stderr, "Warning: Using a password with '-a' or '-u' option on the command line interface may not be safe.")
	}
	out := &syncWriter{w: os.Stdout}
	m := admin.New(cc.opts, out, os.Stderr, os.Stdin, admin.ColorFromEnv())
	defer m.Close()
	if cfg.stdoutTTY && !cc.opts.Legacy {
		m.SetProgress(&bar{})
	}
	err := dispatchCluster(m, cc)
	if err != nil {
		if !errors.Is(err, admin.ErrFailed) {
			fmt.Fprintln(os.Stderr, err)
		}
		return 1
	}
	return 0
}

func dispatchCluster(m *admin.Manager, cc *clusterCmd) error {
	host := func() (string, []string, error) {
		h, rest, ok := hostArgs(cc.args)
		if !ok {
			fmt.Fprint(os.Stderr, invalidHostMsg)
			return "", nil, admin.ErrFailed
		}
		return h, rest, nil
	}
	switch cc.name {
	case "help":
		return m.Help()
	case "create":
		return m.Create(cc.args)
	case "up":
		return m.Up(cc.up)
	case "down":
		return m.Down(cc.up.Dir)
	case "apply":
		addr := ""
		if len(cc.args) > 1 {
			addr = cc.args[1]
		}
		return m.Apply(cc.args[0], addr)
	case "plan":
		kind := cc.args[0]
		h, _, ok := hostArgs(cc.args[1:])
		if !ok {
			fmt.Fprint(os.Stderr, invalidHostMsg)
			return admin.ErrFailed
		}
		return m.MakePlan(kind, h)
	case "add-node":
		return m.AddNode(cc.args[0], cc.args[1])
	case "del-node":
		return m.DelNode(cc.args[0], cc.args[1])
	case "set-timeout":
		return m.SetTimeout(cc.args[0], cc.args[1])
	case "backup":
		return m.Backup(cc.args[0], cc.args[1])
	}
	h, rest, err := host()
	if err != nil {
		return err
	}
	switch cc.name {
	case "check":
		return m.Check(h)
	case "info":
		return m.Info(h)
	case "fix":
		return m.Fix(h)
	case "reshard":
		return m.Reshard(h)
	case "rebalance":
		return m.Rebalance(h)
	case "call":
		return m.Call(h, rest)
	case "import":
		if cc.opts.From == "" {
			fmt.Fprintf(os.Stderr, "[ERR] Option '--cluster-from' is required for subcommand 'import'.\n")
			return admin.ErrFailed
		}
		return m.Import(h, cc.opts.From)
	}
	return admin.ErrFailed
}

// syncWriter is stdout shared by the manager's goroutines.
type syncWriter struct {
	mu sync.Mutex
	w  *os.File
}

func (s *syncWriter) Write(b []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(b)
}

// bar draws slot-move progress with slots done, keys/s and an ETA.
type bar struct {
	mu    sync.Mutex
	pb    *progressbar.ProgressBar
	keys  int64
	start time.Time
}

func (b *bar) Start(total int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.start = time.Now()
	b.pb = progressbar.NewOptions(total,
		progressbar.OptionSetWriter(os.Stdout),
		progressbar.OptionSetDescription("moving slots"),
		progressbar.OptionShowCount(),
		progressbar.OptionSetItsString("slots"),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionSetElapsedTime(true),
		progressbar.OptionFullWidth(),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionOnCompletion(func() { fmt.Fprintln(os.Stdout) }),
	)
}

func (b *bar) Add(slots, keys int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.pb == nil {
		return
	}
	b.keys += int64(keys)
	if el := time.Since(b.start).Seconds(); el > 0 {
		b.pb.Describe(fmt.Sprintf("%d keys (%.0f keys/s)", b.keys, float64(b.keys)/el))
	}
	if slots > 0 {
		b.pb.Add(slots)
	}
}

func (b *bar) Finish() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.pb != nil {
		b.pb.Finish()
	}
}
