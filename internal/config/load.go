package config

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/reefkv/reef/internal/splitargs"
)

// FatalError is a startup configuration failure. redis-server exits with
// status 1 after printing it, in one of two ways: the "*** FATAL CONFIG FILE
// ERROR ***" block written raw to standard error (Stderr), or messages
// emitted through its logger at warning level (Log), e.g. "Fatal error, can't
// open config file ...". Error returns exactly what Redis prints: Stderr if
// set, otherwise the log messages joined by newlines (without the log
// prefix, which the logger adds).
type FatalError struct {
	// Stderr is the text to write to standard error as is, or "".
	Stderr string
	// Log holds messages to log at warning level, in order, or nil.
	Log []string
	// File and Line locate the offending line when known ("" and 0
	// otherwise). They are not part of Redis's text, which names only the
	// line number; File is the config file, an included file, "-" for
	// standard input, or "" for command-line options.
	File string
	Line int
}

// Error returns the text redis-server prints.
func (e *FatalError) Error() string {
	if e.Stderr != "" {
		return e.Stderr
	}
	return strings.Join(e.Log, "\n")
}

// LoadOptions adjusts Load for embedding and tests. The zero value behaves
// like redis-server.
type LoadOptions struct {
	// Stdin is read when the arguments ask for "-"; nil means os.Stdin.
	Stdin io.Reader
	// Dir is the absolute working directory relative paths start from
	// (Redis's cwd at startup); "" means the process's current directory.
	Dir string
	// Commands, when not nil, is the command table (names, any case) that
	// "rename-command" is checked against, as Redis does ("No such command
	// in rename-command", "Target command name already exists"). When nil
	// every rename is accepted.
	Commands []string
}

// Load reads redis-server style startup arguments (argv[1:]): an optional
// config file path, or "-" for standard input, followed by "--directive
// value ..." options, exactly as redis-server 7.0.15 does. The options are
// appended to the file's text (after a newline), so they win and count in
// line numbers as in Redis. On any problem it returns a *FatalError carrying
// Redis's exact message.
//
// The caller handles "-v", "--version", "-h", "--help", "--test-memory" and
// "--check-system" as the first argument before calling Load. Load resolves
// "dir" without changing the process's directory: the server should
// os.Chdir(cfg.Dir). Like Redis, Load creates the log file if it is missing
// (it opens it for appending to check it can).
func Load(args []string) (*Config, error) {
	return LoadWith(args, LoadOptions{})
}

// LoadWith is Load with options.
func LoadWith(args []string, opt LoadOptions) (*Config, error) {
	c := Default()
	if opt.Dir != "" {
		c.Dir = opt.Dir
	}
	if len(args) == 0 {
		return c, nil
	}
	l := &loader{c: c, opt: opt, ls: &loadState{}, modConfs: map[string]bool{}}
	if opt.Commands != nil {
		l.commands = map[string]bool{}
		for _, n := range opt.Commands {
			l.commands[asciiLower(n)] = true
		}
	}

	j := 0
	if args[0] == "" || args[0][0] != '-' {
		c.ConfigFile = absPath(c.Dir, args[0])
		j = 1
	}
	var opts strings.Builder
	handled := true
	for ; j < len(args); j++ {
		a := args[j]
		switch {
		case a == "-" && (j == 0 || j == len(args)-1):
			c.ConfigFromStdin = true
		case handled && strings.HasPrefix(a, "--"):
			if opts.Len() > 0 {
				opts.WriteString("\n")
			}
			opts.WriteString(a[2:])
			opts.WriteString(" ")
			split, _ := splitargs.Split([]byte(a), nil)
			if len(split) != 1 {
				// "--port 6380" in one argument carries its value.
				handled = true
				break
			}
			handled = false
			nextIsOption := j != len(args)-1 && strings.HasPrefix(args[j+1], "--")
			last := j == len(args)-1
			switch {
			case nextIsOption && asciiEqualFold(a, "--save"):
				// "--save --port 1" means an empty save, as before 7.0.
				opts.WriteString(`""`)
				handled = true
			case last && asciiEqualFold(a, "--save"):
				opts.WriteString(`""`)
			case nextIsOption && asciiEqualFold(a, "--sentinel"):
				handled = true
			}
		default:
			opts.WriteString(splitargs.Repr(a))
			opts.WriteString(" ")
			handled = true
		}
	}

	var text []byte
	fileLines := 0
	if c.ConfigFile != "" {
		var err error
		if text, err = l.readConfigFile(c.ConfigFile, c.ConfigFile, text); err != nil {
			return nil, err
		}
		fileLines = strings.Count(string(text), "\n")
	}
	if c.ConfigFromStdin {
		in := opt.Stdin
		if in == nil {
			in = os.Stdin
		}
		text = appendFgets(text, in)
	}
	stdinLines := strings.Count(string(text), "\n")
	text = append(text, '\n')
	text = append(text, opts.String()...)
	l.where = func(line int) string {
		switch {
		case c.ConfigFile != "" && line <= fileLines+1:
			return c.ConfigFile
		case c.ConfigFromStdin && line <= stdinLines+1:
			return "-"
		}
		return ""
	}
	if err := l.parse(string(text), ""); err != nil {
		return nil, err
	}
	// Redis applies the watchdog period once the configuration is loaded.
	if e := lookup("watchdog-period"); e.p.applyPost != nil {
		e.p.applyPost(c, c.Hz)
	}

	// What redis-server checks after loading the configuration, in its
	// order: modules load (Reef has none), then queued module
	// configurations, then ACL users.
	if len(c.LoadModules) > 0 {
		m := c.LoadModules[0][0]
		return nil, &FatalError{Log: []string{
			fmt.Sprintf("Module %s failed to load: Reef does not support modules", m),
			fmt.Sprintf("Can't load module from %s: server aborting", m),
		}}
	}
	if len(l.modConfs) > 0 {
		return nil, &FatalError{Log: []string{"Module Configuration detected without loadmodule directive or no ApplyConfig call: aborting"}}
	}
	if c.ACLFile != "" && len(c.Users) > 0 {
		return nil, &FatalError{Log: []string{"Configuring Redis with users defined in redis.conf and at the same setting an ACL file path is invalid. This setup is very likely to lead to configuration errors and security holes, please define either an ACL file or declare users directly in your redis.conf, but not both."}}
	}
	return c, nil
}

// maxIncludeDepth bounds include nesting, so that a cycle fails instead of
// exhausting the stack.
const maxIncludeDepth = 100

// loader is the state of one Load.
type loader struct {
	c        *Config
	opt      LoadOptions
	ls       *loadState
	commands map[string]bool // nil: rename-command is not checked
	modConfs map[string]bool
	depth    int // include nesting
	// where names the source of a line of the top-level text.
	where func(line int) string
}

// absPath is Redis's getAbsolutePath: trim, keep an absolute path, else
// join it to cwd, folding only leading "../" elements.
func absPath(cwd, name string) string {
	rel := strings.Trim(name, " \r\n\t")
	if strings.HasPrefix(rel, "/") {
		return rel
	}
	abs := cwd
	if abs != "" && !strings.HasSuffix(abs, "/") {
		abs += "/"
	}
	for strings.HasPrefix(rel, "../") {
		rel = rel[3:]
		if len(abs) > 1 {
			k := strings.LastIndexByte(abs[:len(abs)-1], '/')
			abs = abs[:k+1]
		}
	}
	return abs + rel
}

// resolve makes a path relative to the (virtual) working directory usable.
func (l *loader) resolve(p string) string {
	if strings.HasPrefix(p, "/") {
		return p
	}
	return l.c.Dir + "/" + p
}

// readConfigFile is the reading half of Redis's loadServerConfig: a name
// with a wildcard is globbed (no match is not an error), anything else must
// open. shown is the name Redis prints in its error. It appends the text to
// dst as fgets would.
func (l *loader) readConfigFile(name, shown string, dst []byte) ([]byte, error) {
	if strings.ContainsAny(name, "*?[") {
		matches := globC(l.resolve(name))
		for _, m := range matches {
			show := m
			if !strings.HasPrefix(name, "/") {
				show = strings.TrimPrefix(m, l.c.Dir+"/")
			}
			f, err := os.Open(m)
			if err != nil {
				return nil, &FatalError{Log: []string{fmt.Sprintf("Fatal error, can't open config file '%s': %s", show, strerror(err))}}
			}
			dst = appendFgets(dst, f)
			f.Close()
		}
		return dst, nil
	}
	f, err := os.Open(l.resolve(name))
	if err != nil {
		return nil, &FatalError{Log: []string{fmt.Sprintf("Fatal error, can't open config file '%s': %s", shown, strerror(err))}}
	}
	defer f.Close()
	return appendFgets(dst, f), nil
}

// appendFgets appends r's content the way Redis's fgets loop builds its
// string: 1024-byte chunks (or up to a newline), each cut at its first NUL.
// A read error (a directory, say) ends the input, as fgets returning NULL.
func appendFgets(dst []byte, r io.Reader) []byte {
	br := bufio.NewReaderSize(r, 4096)
	for {
		var chunk []byte
		for len(chunk) < 1024 {
			b, err := br.ReadByte()
			if err != nil {
				break
			}
			chunk = append(chunk, b)
			if b == '\n' {
				break
			}
		}
		if len(chunk) == 0 {
			return dst
		}
		if z := strings.IndexByte(string(chunk), 0); z >= 0 {
			chunk = chunk[:z]
		}
		dst = append(dst, chunk...)
	}
}

// globC is glob(3) with no flags: sorted matches, and wildcards do not match
// a leading dot.
func globC(pattern string) []string {
	pat := strings.ReplaceAll(pattern, "[!", "[^")
	matches, err := filepath.Glob(pat)
	if err != nil {
		return nil
	}
	pparts := strings.Split(pat, "/")
	out := matches[:0]
	for _, m := range matches {
		mparts := strings.Split(m, "/")
		ok := len(mparts) == len(pparts)
		for i := 0; ok && i < len(mparts); i++ {
			if strings.HasPrefix(mparts[i], ".") && !strings.HasPrefix(pparts[i], ".") {
				ok = false
			}
		}
		if ok {
			out = append(out, m)
		}
	}
	sort.Strings(out)
	return out
}

// asciiLower is sdstolower: ASCII only, as C's tolower in the "C" locale
// (Go's strings.ToLower would also fold non-ASCII letters such as the
// Kelvin sign into "k").
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		b[i] = lowerByte(c)
	}
	return string(b)
}

// asciiEqualFold is strcasecmp(a, b) == 0 in the "C" locale.
func asciiEqualFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		if lowerByte(a[i]) != lowerByte(b[i]) {
			return false
		}
	}
	return true
}

// fatalBlock formats Redis's loaderr output; line 0 means the error is not
// about one line (the checks after the last line).
func fatalBlock(line int, text, msg string) string {
	s := "\n*** FATAL CONFIG FILE ERROR (Redis " + RedisVersion + ") ***\n"
	if line > 0 {
		s += fmt.Sprintf("Reading the configuration file, at line %d\n>>> '%s'\n", line, text)
	}
	return s + msg + "\n"
}

// parse is loadServerConfigFromString. file names the included file whose
// text this is, or "" for the top-level text.
func (l *loader) parse(text, file string) error {
	c := l.c
	l.ls.readingFile = true
	var lines []string
	if text != "" {
		lines = strings.Split(text, "\n")
	}
	fail := func(i int, line, msg string) error {
		e := &FatalError{Stderr: fatalBlock(i+1, line, msg), File: file, Line: i + 1}
		if file == "" && l.where != nil {
			e.File = l.where(i + 1)
		}
		return e
	}
	for i, raw := range lines {
		line := strings.Trim(raw, " \t\r\n")
		if line == "" || line[0] == '#' {
			continue
		}
		split, ok := splitargs.Split([]byte(line), nil)
		if !ok {
			return fail(i, line, "Unbalanced quotes in configuration line")
		}
		if len(split) == 0 {
			continue
		}
		argv := make([]string, len(split))
		for k, a := range split {
			argv[k] = string(a)
		}
		argv[0] = asciiLower(argv[0])

		if e := lookup(argv[0]); e != nil {
			p := e.p
			if p.flags&fMultiArg == 0 && len(argv) != 2 {
				return fail(i, line, "wrong number of arguments")
			}
			vals := argv[1:]
			if p.flags&fMultiArg != 0 && len(argv) == 2 && argv[1] != "" {
				// One argument holding several values, as in
				// --save "900 1 300 10".
				sub, _ := splitargs.Split([]byte(argv[1]), nil)
				vals = make([]string, len(sub))
				for k, a := range sub {
					vals[k] = string(a)
				}
			}
			if err := p.set(c, vals, l.ls); err != "" {
				return fail(i, line, err)
			}
			continue
		}
		if len(argv) == 2 && (argv[0] == "list-max-ziplist-entries" || argv[0] == "list-max-ziplist-value" || argv[0] == "lua-replicate-commands") {
			// Deprecated directives Redis 7.0 still accepts and ignores.
			continue
		}
		switch {
		case argv[0] == "include" && len(argv) == 2:
			// Redis recurses without limit and crashes on an include
			// cycle; Reef stops with a fatal error instead.
			if l.depth >= maxIncludeDepth {
				return &FatalError{Log: []string{fmt.Sprintf("Fatal error, can't open config file '%s': too many nested includes (more than %d)", argv[1], maxIncludeDepth)}, File: file, Line: i + 1}
			}
			inc, err := l.readConfigFile(argv[1], argv[1], nil)
			if err != nil {
				return err
			}
			l.depth++
			err = l.parse(string(inc), argv[1])
			l.depth--
			if err != nil {
				return err
			}
		case argv[0] == "rename-command" && len(argv) == 3:
			if l.commands != nil {
				from, to := asciiLower(argv[1]), asciiLower(argv[2])
				if !l.commands[from] {
					return fail(i, line, "No such command in rename-command")
				}
				delete(l.commands, from)
				if to != "" {
					if l.commands[to] {
						return fail(i, line, "Target command name already exists")
					}
					l.commands[to] = true
				}
			}
			c.RenameCommands = append(c.RenameCommands, [2]string{argv[1], argv[2]})
		case argv[0] == "user" && len(argv) >= 2:
			c.Users = append(c.Users, argv[1:])
		case argv[0] == "loadmodule" && len(argv) >= 2:
			c.LoadModules = append(c.LoadModules, argv[1:])
		case strings.IndexByte(argv[0], '.') >= 0:
			if len(argv) < 2 {
				return fail(i, line, "Module config specified without value")
			}
			l.modConfs[argv[0]] = true
		case argv[0] == "sentinel":
			// A bare "sentinel" is handled by Redis's main(); Reef has
			// no sentinel mode, so it is accepted and ignored.
			if len(argv) != 1 {
				return fail(i, line, "sentinel directive while not in sentinel mode")
			}
		default:
			return fail(i, line, "Bad directive or wrong number of arguments")
		}
	}

	if c.Logfile != "" {
		f, err := os.OpenFile(l.resolve(c.Logfile), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o666)
		if err != nil {
			return &FatalError{Stderr: fatalBlock(0, "", "Can't open the log file: "+strerror(err)), File: file}
		}
		f.Close()
	}
	if c.ClusterEnabled && c.ReplicaOf != "" {
		return &FatalError{Stderr: fatalBlock(0, "", "replicaof directive not allowed in cluster mode"), File: file}
	}
	l.ls.readingFile = false
	return nil
}
