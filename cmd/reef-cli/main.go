package main

import (
	"bufio"
	"fmt"
	"io"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/reefkv/reef/internal/client"
	"github.com/reefkv/reef/internal/resp"
)

// Output modes (redis-cli's OUTPUT_*).
const (
	outStandard = iota
	outRaw
	outCSV
)

// config is everything the command line sets.
type config struct {
	host, port   string
	user, pass   string
	noAuthWarn   bool
	db           int
	resp3        bool
	cluster      bool // -c
	stdinLast    bool // -x
	repeat       int
	interval     time.Duration
	setErrCode   bool // -e
	output       int
	mbDelim      string
	cmdDelim     string
	verbose      bool
	timeout      time.Duration
	scan         bool
	pattern      string
	count        int
	bigkeys      bool
	latency      bool
	latencyHist  bool
	stat         bool
	intervalSet  bool
	interactive  bool
	clusterArgs  *clusterCmd
	args         []string
	stdout       *bufio.Writer
	stdin        io.Reader
	stdoutTTY    bool
	stdinTTY     bool
	inMulti      bool
	conn         *client.Conn
	sendAsking   bool
	connectFails bool
}

func usageExit(code int) {
	fmt.Fprintln(os.Stderr, usageText)
	os.Exit(code)
}

func main() {
	os.Exit(run(os.Args[1:]))
}

// run is main without os.Exit, so deferred flushes happen.
func run(argv []string) int {
	cfg := &config{host: "127.0.0.1", port: "6379", repeat: 1, mbDelim: "\n", cmdDelim: "\n", stdin: os.Stdin}
	cfg.stdout = bufio.NewWriterSize(os.Stdout, 64*1024)
	defer cfg.stdout.Flush()
	cfg.stdoutTTY = term.IsTerminal(int(os.Stdout.Fd()))
	cfg.stdinTTY = term.IsTerminal(int(os.Stdin.Fd()))
	if cfg.stdoutTTY {
		cfg.output = outStandard
	} else {
		cfg.output = outRaw
	}
	if p := os.Getenv("REDISCLI_AUTH"); p != "" {
		cfg.pass = p
	}
	if code, done := parseOptions(cfg, argv); done {
		return code
	}
	if cfg.clusterArgs != nil {
		cfg.stdout.Flush()
		return runCluster(cfg)
	}
	if cfg.pass != "" && !cfg.noAuthWarn && passFromArgv(argv) {
		fmt.Fprintln(os.Stderr, "Warning: Using a password with '-a' or '-u' option on the command line interface may not be safe.")
	}
	switch {
	case cfg.latency:
		return latencyMode(cfg)
	case cfg.stat:
		return statMode(cfg)
	case cfg.scan:
		return scanMode(cfg)
	case cfg.bigkeys:
		return bigKeysMode(cfg)
	}
	if len(cfg.args) == 0 {
		return repl(cfg)
	}
	if cfg.stdinLast {
		b, err := io.ReadAll(cfg.stdin)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		cfg.args = append(cfg.args, string(b))
	}
	if err := cliConnect(cfg, false); err != nil {
		return 1
	}
	return issueRepeat(cfg, cfg.args, cfg.repeat)
}

// passFromArgv reports whether the password came from -a/-u (the warning
// is not printed for REDISCLI_AUTH).
func passFromArgv(argv []string) bool {
	for _, a := range argv {
		if a == "-a" || a == "-u" || a == "--pass" {
			return true
		}
	}
	return false
}

// parseOptions is redis-cli's parseOptions. done reports that the program
// should exit with code.
func parseOptions(cfg *config, argv []string) (code int, done bool) {
	for _, a := range argv {
		if a == "--cluster" {
			return parseClusterArgv(cfg, argv)
		}
	}
	i := 0
	need := func() (string, bool) {
		if i+1 >= len(argv) {
			fmt.Fprintf(os.Stderr, "Unrecognized option or bad number of args for: '%s'\n", argv[i])
			return "", false
		}
		i++
		return argv[i], true
	}
	for ; i < len(argv); i++ {
		a := argv[i]
		if !strings.HasPrefix(a, "-") || a == "-" {
			break
		}
		var v string
		var ok bool
		switch a {
		case "-h":
			if v, ok = need(); !ok {
				return 1, true
			}
			cfg.host = v
		case "-p":
			if v, ok = need(); !ok {
				return 1, true
			}
			cfg.port = v
		case "-a", "--pass":
			if v, ok = need(); !ok {
				return 1, true
			}
			cfg.pass = v
		case "--user":
			if v, ok = need(); !ok {
				return 1, true
			}
			cfg.user = v
		case "-u":
			if v, ok = need(); !ok {
				return 1, true
			}
			if err := parseURI(cfg, v); err != nil {
				fmt.Fprintf(os.Stderr, "Invalid URI scheme\n")
				return 1, true
			}
		case "-n":
			if v, ok = need(); !ok {
				return 1, true
			}
			cfg.db, _ = strconv.Atoi(v)
		case "-r":
			if v, ok = need(); !ok {
				return 1, true
			}
			cfg.repeat, _ = strconv.Atoi(v)
		case "-i":
			if v, ok = need(); !ok {
				return 1, true
			}
			f, _ := strconv.ParseFloat(v, 64)
			cfg.interval = time.Duration(f * float64(time.Second))
			cfg.intervalSet = true
		case "-t":
			if v, ok = need(); !ok {
				return 1, true
			}
			f, _ := strconv.ParseFloat(v, 64)
			cfg.timeout = time.Duration(f * float64(time.Second))
		case "-d":
			if v, ok = need(); !ok {
				return 1, true
			}
			cfg.mbDelim = unescape(v)
		case "-D":
			if v, ok = need(); !ok {
				return 1, true
			}
			cfg.cmdDelim = unescape(v)
		case "-2":
			cfg.resp3 = false
		case "-3":
			cfg.resp3 = true
		case "-x":
			cfg.stdinLast = true
		case "-c":
			cfg.cluster = true
		case "-e":
			cfg.setErrCode = true
		case "--raw":
			cfg.output = outRaw
		case "--no-raw":
			cfg.output = outStandard
		case "--csv":
			cfg.output = outCSV
		case "--no-auth-warning":
			cfg.noAuthWarn = true
		case "--verbose":
			cfg.verbose = true
		case "--scan":
			cfg.scan = true
		case "--pattern":
			if v, ok = need(); !ok {
				return 1, true
			}
			cfg.pattern = v
		case "--count":
			if v, ok = need(); !ok {
				return 1, true
			}
			cfg.count, _ = strconv.Atoi(v)
		case "--bigkeys":
			cfg.bigkeys = true
		case "--latency":
			cfg.latency = true
		case "--latency-history":
			cfg.latency = true
			cfg.latencyHist = true
		case "--stat":
			cfg.stat = true
		case "--help":
			usageExit(0)
		case "-v", "--version":
			fmt.Fprintf(cfg.stdout, "reef-cli 7.0.15 (Reef)\n")
			return 0, true
		default:
			fmt.Fprintf(os.Stderr, "Unrecognized option or bad number of args for: '%s'\n", a)
			return 1, true
		}
	}
	cfg.args = argv[i:]
	return 0, false
}

// unescape turns \n, \r, \t and \\ in -d/-D into their bytes.
func unescape(s string) string {
	r := strings.NewReplacer(`\n`, "\n", `\r`, "\r", `\t`, "\t", `\\`, `\`)
	return r.Replace(s)
}

// parseURI handles -u redis://[[user:]pass@]host[:port][/db].
func parseURI(cfg *config, s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") {
		return fmt.Errorf("invalid URI")
	}
	if u.User != nil {
		if p, ok := u.User.Password(); ok {
			cfg.user = u.User.Username()
			cfg.pass = p
		} else {
			cfg.pass = u.User.Username()
		}
	}
	if h := u.Hostname(); h != "" {
		cfg.host = h
	}
	if p := u.Port(); p != "" {
		cfg.port = p
	}
	if db := strings.TrimPrefix(u.Path, "/"); db != "" {
		cfg.db, _ = strconv.Atoi(db)
	}
	return nil
}

func (cfg *config) addr() string {
	p, _ := strconv.Atoi(cfg.port)
	return client.JoinHostPort(cfg.host, p)
}

func (cfg *config) connOpts() client.Options {
	o := client.Options{User: cfg.user, DB: 0, Timeout: cfg.timeout}
	if cfg.resp3 {
		o.Protocol = 3
	}
	return o
}

// cliConnect connects (or reconnects) to cfg's host, authenticating and
// selecting the database as redis-cli does: an AUTH failure is reported
// and the connection kept, so the server's NOAUTH replies show.
func cliConnect(cfg *config, quiet bool) error {
	if cfg.conn != nil {
		cfg.conn.Close()
		cfg.conn = nil
	}
	c, err := client.Dial(cfg.addr(), cfg.connOpts())
	if err != nil {
		if !quiet {
			fmt.Fprintf(os.Stderr, "Could not connect to Redis at %s: %s\n", cfg.addr(), connErr(err))
		}
		cfg.connectFails = true
		return err
	}
	cfg.conn = c
	cfg.connectFails = false
	if cfg.pass != "" {
		args := []string{"AUTH", cfg.pass}
		if cfg.user != "" {
			args = []string{"AUTH", cfg.user, cfg.pass}
		}
		v, err := c.Do(args...)
		if err != nil {
			return err
		}
		if v.IsError() {
			fmt.Fprintf(os.Stderr, "AUTH failed: %s\n", v.Str)
		}
	}
	if cfg.db != 0 {
		v, err := c.Do("SELECT", strconv.Itoa(cfg.db))
		if err != nil {
			return err
		}
		if v.IsError() {
			fmt.Fprintf(os.Stderr, "SELECT %d failed: %s\n", cfg.db, v.Str)
		}
	}
	return nil
}

func connErr(err error) string {
	s := err.Error()
	switch {
	case strings.Contains(s, "connection refused"):
		return "Connection refused"
	case strings.Contains(s, "i/o timeout"):
		return "Connection timed out"
	case strings.Contains(s, "no such host"):
		return "Name or service not known"
	}
	return s
}

// formatReply formats v in the configured output mode (cliFormatReply).
func formatReply(cfg *config, v resp.Value) string {
	switch cfg.output {
	case outRaw:
		return client.FormatRaw(v, cfg.mbDelim) + cfg.cmdDelim
	case outCSV:
		return client.FormatCSV(v) + "\n"
	}
	return client.FormatTTY(v)
}

// issueRepeat runs a command repeat times (-r), sleeping -i between runs;
// a negative repeat runs forever.
func issueRepeat(cfg *config, args []string, repeat int) int {
	for n := 0; repeat < 0 || n < repeat; n++ {
		code, fatal := sendCommand(cfg, args)
		if fatal {
			return code
		}
		if cfg.interval > 0 && (repeat < 0 || n+1 < repeat) {
			cfg.stdout.Flush()
			time.Sleep(cfg.interval)
		}
	}
	return 0
}

// sendCommand is cliSendCommand + cliReadReply: send, follow -c
// redirections, print. fatal reports that the program must exit with code
// (-e on an error reply, a lost connection in one-shot mode).
func sendCommand(cfg *config, args []string) (code int, fatal bool) {
	if cfg.conn == nil || cfg.conn.Closed() {
		if err := cliConnect(cfg, false); err != nil {
			return 1, !cfg.interactive
		}
	}
	lower := strings.ToLower(args[0])
	for hops := 0; ; hops++ {
		if cfg.sendAsking {
			cfg.sendAsking = false
			v, err := cfg.conn.Do("ASKING")
			if err == nil && v.IsError() {
				fmt.Fprintf(os.Stderr, "ASKING failed: %s\n", v.Str)
			}
		}
		pubsub := lower == "subscribe" || lower == "psubscribe" || lower == "ssubscribe"
		if pubsub && cfg.output == outStandard {
			fmt.Fprintf(cfg.stdout, "Reading messages... (press Ctrl-C to quit)\n")
		}
		v, err := cfg.conn.Do(args...)
		if err != nil {
			fmt.Fprintf(os.Stderr, "Error: %s\n", ioErrText(err))
			cfg.conn = nil
			return 1, !cfg.interactive
		}
		if cfg.cluster && hops < 16 {
			if r, ok := client.ParseRedirect(v); ok {
				h, p, _ := client.SplitHostPort(r.Addr)
				cfg.host, cfg.port = h, strconv.Itoa(p)
				if cfg.interactive {
					fmt.Fprintf(cfg.stdout, "-> Redirected to slot [%d] located at %s:%d\n", r.Slot, h, p)
				}
				cfg.sendAsking = r.Ask
				if err := cliConnect(cfg, false); err != nil {
					return 1, !cfg.interactive
				}
				continue
			}
		}
		if v.IsError() && cfg.setErrCode && !cfg.interactive {
			cfg.stdout.Flush()
			fmt.Fprintf(os.Stderr, "%s\n", v.Str)
			return 1, true
		}
		cfg.stdout.WriteString(formatReply(cfg, v))
		if !v.IsError() {
			switch lower {
			case "select":
				if len(args) == 2 {
					cfg.db, _ = strconv.Atoi(args[1])
				}
			case "multi":
				cfg.inMulti = true
			case "exec", "discard":
				cfg.inMulti = false
			case "hello":
				if len(args) > 1 {
					cfg.resp3 = args[1] == "3"
				}
			case "auth":
				if len(args) == 2 {
					cfg.pass = args[1]
				} else if len(args) == 3 {
					cfg.user, cfg.pass = args[1], args[2]
				}
			}
		} else if lower == "exec" {
			cfg.inMulti = false
		}
		if lower == "subscribe" || lower == "psubscribe" || lower == "ssubscribe" || lower == "monitor" {
			return pushLoop(cfg)
		}
		return 0, false
	}
}

// pushLoop prints messages after SUBSCRIBE/MONITOR until the connection
// ends, as redis-cli does.
func pushLoop(cfg *config) (int, bool) {
	for {
		cfg.stdout.Flush()
		v, err := cfg.conn.Receive()
		if err != nil {
			fmt.Fprintf(os.Stderr, "Error: %s\n", ioErrText(err))
			return 1, true
		}
		cfg.stdout.WriteString(formatReply(cfg, v))
	}
}

func ioErrText(err error) string {
	if err == io.EOF || strings.Contains(err.Error(), "EOF") {
		return "Server closed the connection"
	}
	return err.Error()
}
