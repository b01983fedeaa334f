package main

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/chzyer/readline"
	"golang.org/x/term"

	"github.com/reefkv/reef/internal/resp"
	"github.com/reefkv/reef/internal/splitargs"
)

// prompt is cliRefreshPrompt's text.
func prompt(cfg *config) string {
	if cfg.conn == nil {
		return "not connected> "
	}
	p := cfg.host + ":" + cfg.port
	if strings.Contains(cfg.host, ":") {
		p = "[" + cfg.host + "]:" + cfg.port
	}
	if cfg.db != 0 {
		p += "[" + strconv.Itoa(cfg.db) + "]"
	}
	if cfg.inMulti {
		p += "(TX)"
	}
	return p + "> "
}

// historyFile is ~/.reefcli_history, or $REEFCLI_HISTFILE ("/dev/null"
// disables history, as REDISCLI_HISTFILE does for redis-cli).
func historyFile() string {
	if f := os.Getenv("REEFCLI_HISTFILE"); f != "" {
		if f == "/dev/null" {
			return ""
		}
		return f
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return ""
	}
	return filepath.Join(home, ".reefcli_history")
}

// repl is redis-cli's repl(): a line editor on a terminal, plain line
// reading otherwise. Either way each line is split like redis-cli does and
// run; redirections are announced.
func repl(cfg *config) int {
	cfg.interactive = true
	cliConnect(cfg, false)
	if !cfg.stdinTTY {
		sc := bufio.NewScanner(cfg.stdin)
		sc.Buffer(make([]byte, 1<<20), 512<<20)
		for sc.Scan() {
			if code, exit := replLine(cfg, sc.Text()); exit {
				return code
			}
			cfg.stdout.Flush()
		}
		return 0
	}
	h := &hinter{cfg: cfg}
	rl, err := readline.NewEx(&readline.Config{
		Prompt:            prompt(cfg),
		HistoryFile:       historyFile(),
		HistoryLimit:      100,
		AutoComplete:      h,
		Painter:           h,
		InterruptPrompt:   "",
		EOFPrompt:         "",
		HistorySearchFold: true,
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer rl.Close()
	for {
		rl.SetPrompt(prompt(cfg))
		line, err := rl.Readline()
		if err == readline.ErrInterrupt {
			continue
		}
		if err != nil {
			return 0
		}
		if strings.TrimSpace(line) == "" {
			continue
		}
		code, exit := replLine(cfg, line)
		cfg.stdout.Flush()
		if exit {
			return code
		}
	}
}

// replLine runs one line of the prompt.
func replLine(cfg *config, line string) (code int, exit bool) {
	parts, ok := splitargs.Split([]byte(line), nil)
	if !ok {
		fmt.Fprintf(cfg.stdout, "Invalid argument(s)\n")
		return 0, false
	}
	if len(parts) == 0 {
		return 0, false
	}
	args := make([]string, len(parts))
	for i, p := range parts {
		args[i] = string(p)
	}
	switch strings.ToLower(args[0]) {
	case "quit", "exit":
		return 0, true
	case "clear":
		if len(args) == 1 {
			fmt.Fprint(cfg.stdout, "\033[H\033[2J")
			return 0, false
		}
	case "connect":
		if len(args) == 3 {
			cfg.host, cfg.port = args[1], args[2]
			cliConnect(cfg, false)
			return 0, false
		}
	case "help":
		printHelp(cfg, args[1:])
		return 0, false
	}
	repeat := 1
	if len(args) > 1 {
		if n, err := strconv.Atoi(args[0]); err == nil {
			repeat = n
			args = args[1:]
		}
	}
	start := time.Now()
	c, fatal := 0, false
	for i := 0; i < repeat && !fatal; i++ {
		c, fatal = sendCommand(cfg, args)
		if cfg.interval > 0 && i+1 < repeat {
			cfg.stdout.Flush()
			time.Sleep(cfg.interval)
		}
	}
	if el := time.Since(start); el >= 500*time.Millisecond && cfg.output == outStandard {
		fmt.Fprintf(cfg.stdout, "(%.2fs)\n", el.Seconds())
	}
	if fatal && !cfg.interactive {
		return c, true
	}
	return 0, false
}

// hinter provides completion of command names and argument hints (shown
// in grey after the cursor, like redis-cli's), from the server's COMMAND
// DOCS with a built-in table for servers without it.
type hinter struct {
	cfg  *config
	once sync.Once
	docs map[string]string // lower-case command -> argument synopsis
	cmds []string
}

func (h *hinter) load() {
	h.once.Do(func() {
		h.docs = map[string]string{}
		for k, v := range builtinHints {
			h.docs[k] = v
		}
		if h.cfg.conn != nil {
			if v, err := h.cfg.conn.Do("COMMAND", "DOCS"); err == nil && v.Kind != resp.KindError {
				for i := 0; i+1 < len(v.Elems); i += 2 {
					name := strings.ToLower(v.Elems[i].Text())
					h.docs[name] = synopsis(v.Elems[i+1])
				}
			}
		}
		for k := range h.docs {
			if !strings.Contains(k, "|") {
				h.cmds = append(h.cmds, k)
			}
		}
		sort.Strings(h.cmds)
	})
}

// Do completes the command name (readline.AutoCompleter).
func (h *hinter) Do(line []rune, pos int) ([][]rune, int) {
	h.load()
	s := string(line[:pos])
	if strings.ContainsAny(s, " \t") {
		return nil, 0
	}
	low := strings.ToLower(s)
	var out [][]rune
	for _, c := range h.cmds {
		if strings.HasPrefix(c, low) {
			rest := c[len(low):]
			if strings.ToUpper(s) == s && s != "" {
				rest = strings.ToUpper(rest)
			}
			out = append(out, []rune(rest+" "))
		}
	}
	return out, len(s)
}

// Paint appends the hint for the arguments still to type (readline.Painter).
func (h *hinter) Paint(line []rune, pos int) []rune {
	if pos != len(line) || len(line) == 0 {
		return line
	}
	h.load()
	s := string(line)
	f := strings.Fields(s)
	if len(f) == 0 {
		return line
	}
	hint, ok := h.docs[strings.ToLower(f[0])]
	if len(f) >= 2 {
		if sub, ok2 := h.docs[strings.ToLower(f[0]+"|"+f[1])]; ok2 {
			hint, ok = sub, true
			f = f[1:]
		}
	}
	if !ok || hint == "" {
		return line
	}
	typed := len(f) - 1
	if !strings.HasSuffix(s, " ") {
		if typed == 0 {
			return line
		}
		return line
	}
	words := strings.Fields(hint)
	if typed >= len(words) {
		return line
	}
	rest := strings.Join(words[typed:], " ")
	// A hint that wraps makes the line editor leave stale lines behind:
	// cut it to what fits after the prompt and the typed text.
	width := 80
	if w, _, err := term.GetSize(int(os.Stdout.Fd())); err == nil && w > 0 {
		width = w
	}
	room := width - len([]rune(prompt(h.cfg))) - len(line) - 1
	if room <= 3 {
		return line
	}
	if r := []rune(rest); len(r) > room {
		rest = string(r[:room-3]) + "..."
	}
	return append(line, []rune("\033[90m"+rest+"\033[0m")...)
}

// synopsis renders COMMAND DOCS arguments as redis-cli shows them.
func synopsis(doc resp.Value) string {
	args := mapGet(doc, "arguments")
	var parts []string
	for _, a := range args.Elems {
		parts = append(parts, argText(a))
	}
	return strings.Join(parts, " ")
}

func mapGet(v resp.Value, key string) resp.Value {
	for i := 0; i+1 < len(v.Elems); i += 2 {
		if v.Elems[i].Text() == key {
			return v.Elems[i+1]
		}
	}
	return resp.Value{}
}

func argText(a resp.Value) string {
	typ := mapGet(a, "type").Text()
	name := mapGet(a, "name").Text()
	token := mapGet(a, "token").Text()
	var flags []string
	for _, f := range mapGet(a, "flags").Elems {
		flags = append(flags, f.Text())
	}
	var s string
	switch typ {
	case "pure-token":
		s = token
	case "oneof":
		var alts []string
		for _, c := range mapGet(a, "arguments").Elems {
			alts = append(alts, argText(c))
		}
		s = strings.Join(alts, "|")
		if token != "" {
			s = token + " " + s
		}
	case "block":
		var seq []string
		for _, c := range mapGet(a, "arguments").Elems {
			seq = append(seq, argText(c))
		}
		s = strings.Join(seq, " ")
		if token != "" {
			s = token + " " + s
		}
	default:
		s = name
		if token != "" {
			s = token + " " + name
		}
	}
	multiple, optional := false, false
	for _, f := range flags {
		switch f {
		case "multiple":
			multiple = true
		case "optional":
			optional = true
		}
	}
	if multiple {
		s = s + " [" + s + " ...]"
	}
	if optional {
		s = "[" + s + "]"
	}
	return s
}

// printHelp is a short `help <command>` from COMMAND DOCS.
func printHelp(cfg *config, args []string) {
	if len(args) == 0 {
		fmt.Fprintf(cfg.stdout, "reef-cli 7.0.15 (Reef)\nTo get help about Redis commands type:\n      \"help <command>\" for help on <command>\n      \"help <tab>\" to get a list of possible help topics\n      \"quit\" to exit\n\n")
		return
	}
	if cfg.conn == nil {
		return
	}
	v, err := cfg.conn.Do("COMMAND", "DOCS", args[0])
	if err != nil || v.IsError() || len(v.Elems) < 2 {
		return
	}
	doc := v.Elems[1]
	fmt.Fprintf(cfg.stdout, "\n  %s %s\n  summary: %s\n  since: %s\n  group: %s\n\n", strings.ToUpper(args[0]), synopsis(doc),
		mapGet(doc, "summary").Text(), mapGet(doc, "since").Text(), mapGet(doc, "group").Text())
}

// builtinHints covers common commands when the server has no COMMAND DOCS.
var builtinHints = map[string]string{
	"get": "key", "set": "key value [NX|XX] [GET] [EX seconds|PX milliseconds|EXAT unix-time-seconds|PXAT unix-time-milliseconds|KEEPTTL]",
	"del": "key [key ...]", "exists": "key [key ...]", "expire": "key seconds [NX|XX|GT|LT]", "ttl": "key",
	"incr": "key", "incrby": "key increment", "decr": "key", "mget": "key [key ...]", "mset": "key value [key value ...]",
	"hset": "key field value [field value ...]", "hget": "key field", "hgetall": "key", "hdel": "key field [field ...]",
	"lpush": "key element [element ...]", "rpush": "key element [element ...]", "lrange": "key start stop",
	"lpop": "key [count]", "rpop": "key [count]", "sadd": "key member [member ...]", "smembers": "key",
	"zadd": "key [NX|XX] [GT|LT] [CH] [INCR] score member [score member ...]", "zrange": "key start stop [BYSCORE|BYLEX] [REV] [LIMIT offset count] [WITHSCORES]",
	"scan": "cursor [MATCH pattern] [COUNT count] [TYPE type]", "keys": "pattern", "type": "key",
	"select": "index", "auth": "[username] password", "ping": "[message]", "info": "[section [section ...]]",
	"config": "", "config|get": "parameter [parameter ...]", "config|set": "parameter value [parameter value ...]",
	"cluster": "", "cluster|nodes": "", "cluster|info": "", "cluster|slots": "", "cluster|keyslot": "key",
	"dbsize": "", "flushall": "[ASYNC|SYNC]", "multi": "", "exec": "", "discard": "", "subscribe": "channel [channel ...]",
	"publish": "channel message", "hello": "[protover [AUTH username password] [SETNAME clientname]]",
}
