package config

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
)

// Live holds the running configuration and implements the CONFIG GET, SET,
// REWRITE and RESETSTAT semantics of Redis 7.0.15.
//
// Get is a single atomic load and may be called on any path. Set, Update and
// Rewrite are serialised by an internal mutex; apply hooks run while it is
// held, so a hook must not call Set, Update or Rewrite (it may call Get).
type Live struct {
	cur  atomic.Pointer[Config]
	file string

	mu struct {
		sync.Mutex
		hooks []applyHook
		reset []func()
		warn  func(msg string) // logs a warning (SetWarnLog)
		users func(c *Config) []string
	}
}

type applyHook struct {
	params map[*param]bool
	fn     func(old, new *Config) error
}

// NewLive starts a running configuration from c, which it takes ownership of
// (the caller must not modify c afterwards). configFile is the absolute path
// CONFIG REWRITE writes, normally c.ConfigFile, or "" when the server was
// started without a config file.
func NewLive(c *Config, configFile string) *Live {
	l := &Live{file: configFile}
	l.cur.Store(c)
	return l
}

// Get returns the current snapshot. It never blocks; the snapshot must not
// be modified.
func (l *Live) Get() *Config { return l.cur.Load() }

// ConfigFile returns the path CONFIG REWRITE writes, or "".
func (l *Live) ConfigFile() string { return l.file }

// SetContext describes the client and server state CONFIG SET depends on.
type SetContext struct {
	// Local reports a client on the loopback interface or a unix socket,
	// which enable-protected-configs "local" allows to set protected
	// parameters (dir, dbfilename).
	Local bool
	// Loading reports that the server is loading its dataset; Redis then
	// refuses appendonly, repl-diskless-load and dir with a LOADING error.
	Loading bool
}

// Set applies CONFIG SET name value [name value ...] (args excludes "CONFIG"
// and "SET") for a non-local client while not loading; see SetWith.
func (l *Live) Set(args [][]byte) (errText string) {
	return l.SetWith(args, SetContext{})
}

// SetWith applies CONFIG SET name value [name value ...] atomically with
// Redis 7.0 multi-set semantics: names are case-insensitive and aliases
// work; an unknown name, an immutable or protected parameter, a parameter
// named twice, or any invalid value fails the whole command and changes
// nothing. Hooks registered with OnApply then run for the parameters whose
// value changed; if one fails, the hooks that ran are called again with the
// old snapshot (errors ignored) and nothing changes. It returns the error
// reply text exactly as Redis words it, without the leading '-' (e.g.
// "ERR CONFIG SET failed (possibly related to argument 'port') - argument
// couldn't be parsed into an integer"), or "" on success.
func (l *Live) SetWith(args [][]byte, ctx SetContext) (errText string) {
	if len(args) < 2 {
		return "ERR wrong number of arguments for 'config|set' command"
	}
	if len(args)%2 != 0 {
		return "ERR syntax error"
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	cur := l.cur.Load()

	type item struct {
		e     *entry
		value string
	}
	items := make([]item, len(args)/2)
	var (
		invalid, unknown, denyLoading bool
		argName, errStr               string
	)
	for i := range items {
		name := string(args[2*i])
		var e *entry
		if strings.IndexByte(name, 0) < 0 {
			e = lookup(name)
		}
		if e == nil {
			if !invalid {
				argName, unknown, invalid = cstr(name), true, true
			}
			continue
		}
		if invalid {
			continue
		}
		if e.p.flags&fImmutable != 0 || e.p.flags&fProtected != 0 && !allowProtected(cur.EnableProtectedConfigs, ctx.Local) {
			errStr = "can't set protected config"
			if e.p.flags&fImmutable != 0 {
				errStr = "can't set immutable config"
			}
			argName, invalid = name, true
			continue
		}
		if ctx.Loading && e.p.flags&fDenyLoading != 0 {
			denyLoading, invalid = true, true
			continue
		}
		for j := 0; j < i; j++ {
			if items[j].e == e {
				errStr, argName, invalid = "duplicate parameter", name, true
				break
			}
		}
		items[i] = item{e, string(args[2*i+1])}
	}
	switch {
	case denyLoading:
		return "LOADING Redis is loading the dataset in memory"
	case unknown:
		return fmt.Sprintf("ERR Unknown option or number of arguments for CONFIG SET - '%s'", argName)
	case invalid && errStr != "":
		return fmt.Sprintf("ERR CONFIG SET failed (possibly related to argument '%s') - %s", argName, errStr)
	case invalid:
		return fmt.Sprintf("ERR CONFIG SET failed (possibly related to argument '%s')", argName)
	}

	next := cur.clone()
	for _, it := range items {
		vals := []string{it.value}
		if it.e.p.flags&fMultiArg != 0 {
			vals = splitSpace(it.value)
		}
		if err := it.e.p.set(next, vals, nil); err != "" {
			return fmt.Sprintf("ERR CONFIG SET failed (possibly related to argument '%s') - %s", it.e.name, err)
		}
	}

	// Hooks run in the order of the first changed parameter that names
	// them, as Redis orders its apply functions. Redis's own apply
	// adjustments run in that order too, which decides the hz a watchdog
	// adjustment sees.
	changed := map[*param]bool{}
	hz := cur.Hz
	for _, it := range items {
		if it.e.p.get(cur) == it.e.p.get(next) {
			continue
		}
		changed[it.e.p] = true
		if it.e.p.name == "hz" {
			hz = next.Hz
		}
		if it.e.p.applyPost != nil {
			it.e.p.applyPost(next, hz)
		}
	}
	var ran []applyHook
	done := map[int]bool{}
	for _, it := range items {
		if !changed[it.e.p] {
			continue
		}
		for hi, h := range l.mu.hooks {
			if done[hi] || !h.params[it.e.p] {
				continue
			}
			done[hi] = true
			ran = append(ran, h)
			if err := h.fn(cur, next); err != nil {
				if l.mu.warn != nil {
					l.mu.warn("Failed applying new configuration. Possibly related to new " + it.e.name + " setting. Restoring previous settings.")
				}
				for _, r := range ran {
					_ = r.fn(next, cur)
				}
				return fmt.Sprintf("ERR CONFIG SET failed (possibly related to argument '%s') - %s", it.e.name, err.Error())
			}
		}
	}
	l.cur.Store(next)
	return ""
}

// allowProtected is Redis's allowProtectedAction.
func allowProtected(setting string, local bool) bool {
	return setting == "yes" || setting == "local" && local
}

// SetWarnLog gives Set a way to log the warning Redis logs when an apply
// hook fails.
func (l *Live) SetWarnLog(fn func(msg string)) {
	l.mu.Lock()
	l.mu.warn = fn
	l.mu.Unlock()
}

// OnApply registers fn to run during Set when any parameter in names
// (primary names or aliases, any case) changes value. fn receives the
// snapshot before and the one about to be published; an error aborts the
// whole Set (nothing is published) and is reported as Redis reports a
// failed apply: "ERR CONFIG SET failed (possibly related to argument
// '<name>') - <err>". On such a rollback every hook that already ran for
// this Set, the failing one included, is called again with (new, old), so a
// hook must be able to return to the old state. The server uses hooks for
// port/bind re-listen, maxclients, dir (chdir), loglevel, and so on.
// OnApply panics on a name Redis does not know: that is a programming error.
func (l *Live) OnApply(names []string, fn func(old, new *Config) error) {
	h := applyHook{params: map[*param]bool{}, fn: fn}
	for _, n := range names {
		e := lookup(n)
		if e == nil {
			panic("config: OnApply: unknown parameter " + n)
		}
		h.params[e.p] = true
	}
	l.mu.Lock()
	l.mu.hooks = append(l.mu.hooks, h)
	l.mu.Unlock()
}

// Update publishes a copy of the current snapshot changed by fn, bypassing
// CONFIG SET rules and hooks. The server uses it for changes Redis makes
// internally, e.g. REPLICAOF setting ReplicaOf. fn must leave the Config
// valid (values in range, canonical enum names).
func (l *Live) Update(fn func(c *Config)) {
	l.mu.Lock()
	defer l.mu.Unlock()
	next := l.cur.Load().clone()
	fn(next)
	l.cur.Store(next)
}

// GetPatterns returns the name/value pairs of CONFIG GET pattern [pattern
// ...]. A pattern without '*', '?' or '[' is an exact, case-insensitive
// name (aliases and hidden parameters included) and is echoed as given;
// other patterns are Redis globs matched case-insensitively against every
// visible name and alias. A parameter is reported once. Values are
// formatted exactly as Redis prints them. Redis returns the pairs in hash
// order, which is random; this returns them in pattern order, then table
// order.
func (l *Live) GetPatterns(patterns [][]byte) [][2]string {
	c := l.Get()
	seen := map[string]bool{}
	var out [][2]string
	for _, pb := range patterns {
		pat := cstr(string(pb))
		if !strings.ContainsAny(pat, "[*?") {
			e := lookup(pat)
			if e == nil || seen[e.name] {
				continue
			}
			seen[e.name] = true
			out = append(out, [2]string{pat, e.p.get(c)})
			continue
		}
		for _, e := range entries {
			if e.p.flags&fHidden != 0 || seen[e.name] {
				continue
			}
			if stringMatch(pat, e.name, true) {
				seen[e.name] = true
				out = append(out, [2]string{e.name, e.p.get(c)})
			}
		}
	}
	return out
}

// ReplyError is an error whose text is a Redis error reply (without the
// leading '-').
type ReplyError struct {
	Text string
	Err  error // the underlying cause, if any
}

func (e *ReplyError) Error() string { return e.Text }
func (e *ReplyError) Unwrap() error { return e.Err }

// Rewrite implements CONFIG REWRITE as Redis 7.0 does: it keeps comments,
// blank lines and lines it does not understand (commented out as "# ???"),
// keeps include, rename-command and sentinel lines, rewrites every set
// parameter on the first line that already names it (aliases included),
// blanks that parameter's other lines, drops lines of parameters back at
// their default, appends the remaining non-default parameters after "#
// Generated by CONFIG REWRITE", always writes "dir", "save" and
// "latency-tracking-info-percentiles" as Redis does, and replaces the file
// atomically (temporary file, fsync, chmod 0644 minus umask, rename,
// directory fsync). Errors are *ReplyError with Redis's text: "ERR The
// server is running without a config file" or "ERR Rewriting config file:
// <strerror>". Redis appends new lines in hash order; Reef in table order.
func (l *Live) Rewrite() error {
	if l.file == "" {
		return &ReplyError{Text: "ERR The server is running without a config file"}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	c := l.cur.Load()
	describe := l.mu.users
	if describe == nil {
		describe = DefaultUserLines
	}
	if err := rewriteConfig(l.file, c, describe(c)); err != nil {
		return &ReplyError{Text: "ERR Rewriting config file: " + strerror(err), Err: err}
	}
	return nil
}

// SetUserDescriber installs the function CONFIG REWRITE uses to describe
// ACL users as "user ..." lines (the server's ACL implementation); without
// one, DefaultUserLines is used.
func (l *Live) SetUserDescriber(fn func(c *Config) []string) {
	l.mu.Lock()
	l.mu.users = fn
	l.mu.Unlock()
}

// OnResetStat registers fn to run on CONFIG RESETSTAT.
func (l *Live) OnResetStat(fn func()) {
	l.mu.Lock()
	l.mu.reset = append(l.mu.reset, fn)
	l.mu.Unlock()
}

// ResetStat implements CONFIG RESETSTAT: it runs every function registered
// with OnResetStat, in order. The reply is always "+OK".
func (l *Live) ResetStat() {
	l.mu.Lock()
	fns := append([]func(){}, l.mu.reset...)
	l.mu.Unlock()
	for _, fn := range fns {
		fn()
	}
}
