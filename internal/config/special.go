package config

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"github.com/reefkv/reef/internal/splitargs"
)

// The parameters Redis implements with special set/get/rewrite functions.

func specialParams() []*param {
	return []*param{dirParam(), saveParam(), obufParam(), oomValuesParam(), notifyParam(), bindParam(), replicaofParam(), percentilesParam()}
}

func itoa(i int) string { return strconv.Itoa(i) }

// dir: Redis chdir()s and reports getcwd(). Reef resolves the directory
// against the current Dir instead and stores the physical path.
func dirParam() *param {
	const name = "dir"
	p := &param{name: name, flags: fProtected | fDenyLoading}
	p.init = func(c *Config) {
		wd, err := syscall.Getwd()
		if err != nil {
			wd = ""
		}
		c.Dir = wd
	}
	p.set = func(c *Config, args []string, _ *loadState) string {
		if len(args) != 1 {
			return "wrong number of arguments"
		}
		d, err := resolveDir(c.Dir, cstr(args[0]))
		if err != "" {
			return err
		}
		c.Dir = d
		return ""
	}
	p.get = func(c *Config) string { return c.Dir }
	p.rewrite = func(c *Config, st *rewriteState) {
		st.rewriteLine(name, name+" "+splitargs.Repr(c.Dir), true)
	}
	return p
}

// resolveDir does what chdir(arg) followed by getcwd() does when the current
// directory is cur, and returns strerror's text on failure.
func resolveDir(cur, arg string) (string, string) {
	if arg == "" {
		return "", "No such file or directory"
	}
	path := arg
	if arg[0] != '/' {
		path = cur + "/" + arg
	}
	fi, err := os.Stat(path)
	if err != nil {
		return "", strerror(err)
	}
	if !fi.IsDir() {
		return "", "Not a directory"
	}
	if err := syscall.Access(path, 1); err != nil { // X_OK: chdir needs search permission
		return "", strerror(err)
	}
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		return "", strerror(err)
	}
	return real, ""
}

// strerror renders an OS error the way glibc's strerror does.
func strerror(err error) string {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		switch errno {
		case syscall.ENOENT:
			return "No such file or directory"
		case syscall.EACCES:
			return "Permission denied"
		case syscall.ENOTDIR:
			return "Not a directory"
		case syscall.EISDIR:
			return "Is a directory"
		case syscall.ELOOP:
			return "Too many levels of symbolic links"
		case syscall.ENAMETOOLONG:
			return "File name too long"
		case syscall.EROFS:
			return "Read-only file system"
		case syscall.ENOSPC:
			return "No space left on device"
		case syscall.EPERM:
			return "Operation not permitted"
		case syscall.EEXIST:
			return "File exists"
		case syscall.EMFILE:
			return "Too many open files"
		case syscall.EIO:
			return "Input/output error"
		}
		s := errno.Error()
		if s != "" {
			return strings.ToUpper(s[:1]) + s[1:]
		}
	}
	return err.Error()
}

// save: pairs of "seconds changes". A lone empty argument clears the list.
// While files load, the first "save" line replaces the built-in defaults
// and later lines add to it; but Redis clears its "reading a file" flag when
// any file, an include too, ends, after which every "save" line replaces
// the list again. That quirk is reproduced.
func saveParam() *param {
	const name = "save"
	p := &param{name: name, flags: fMultiArg}
	p.init = func(c *Config) {
		c.Save = []SavePoint{{3600, 1}, {300, 100}, {60, 10000}}
	}
	p.set = func(c *Config, args []string, ls *loadState) string {
		if len(args) == 1 && cstr(args[0]) == "" {
			c.Save = nil
			args = nil
		}
		if len(args)%2 != 0 {
			return "Invalid save parameters"
		}
		for j, a := range args {
			v, rest, _ := strtoll(cstr(a), 10)
			if rest != "" || j%2 == 0 && v < 1 || j%2 == 1 && v < 0 {
				return "Invalid save parameters"
			}
		}
		if ls == nil || !ls.readingFile {
			c.Save = nil
		} else if !ls.saveLoaded {
			ls.saveLoaded = true
			c.Save = nil
		}
		for j := 0; j < len(args); j += 2 {
			s, _, _ := strtoll(cstr(args[j]), 10)
			ch, _, _ := strtoll(cstr(args[j+1]), 10)
			// Redis keeps changes in a C int.
			c.Save = append(c.Save, SavePoint{Seconds: s, Changes: int64(int32(ch))})
		}
		return ""
	}
	p.get = func(c *Config) string {
		parts := make([]string, 0, 2*len(c.Save))
		for _, s := range c.Save {
			parts = append(parts, strconv.FormatInt(s.Seconds, 10), strconv.FormatInt(s.Changes, 10))
		}
		return strings.Join(parts, " ")
	}
	p.rewrite = func(c *Config, st *rewriteState) {
		if len(c.Save) == 0 {
			st.rewriteLine(name, `save ""`, true)
		}
		for _, s := range c.Save {
			st.rewriteLine(name, fmt.Sprintf("save %d %d", s.Seconds, s.Changes), true)
		}
		st.markProcessed(name)
	}
	return p
}

// Client output buffer limits, in Redis's class order.
var obufClasses = []struct{ key, get, rewrite string }{
	{"normal", "normal", "normal"},
	{"replica", "slave", "replica"},
	{"pubsub", "pubsub", "pubsub"},
}

var obufDefaults = map[string]OutputBufferLimit{
	"normal":  {0, 0, 0},
	"replica": {256 * mb, 64 * mb, 60},
	"pubsub":  {32 * mb, 8 * mb, 60},
}

func obufParam() *param {
	const name = "client-output-buffer-limit"
	p := &param{name: name, flags: fMultiArg}
	p.init = func(c *Config) {
		c.ClientOutputBufferLimits = maps.Clone(obufDefaults)
	}
	p.set = func(c *Config, args []string, _ *loadState) string {
		if len(args)%4 != 0 {
			return "Wrong number of arguments in buffer limit configuration."
		}
		next := maps.Clone(c.ClientOutputBufferLimits)
		for j := 0; j < len(args); j += 4 {
			var class string
			switch asciiLower(cstr(args[j])) {
			case "normal":
				class = "normal"
			case "slave", "replica":
				class = "replica"
			case "pubsub":
				class = "pubsub"
			default: // including "master"
				return "Invalid client class specified in buffer limit configuration."
			}
			hard, ok1 := memtoull(args[j+1])
			soft, ok2 := memtoull(args[j+2])
			secs, rest, _ := strtoll(cstr(args[j+3]), 10)
			secs = int64(int32(secs)) // Redis reads it into a C int
			if !ok1 || !ok2 || secs < 0 || rest != "" {
				return "Error in hard, soft or soft_seconds setting in buffer limit configuration."
			}
			next[class] = OutputBufferLimit{Hard: int64(hard), Soft: int64(soft), SoftSeconds: secs}
		}
		c.ClientOutputBufferLimits = next
		return ""
	}
	p.get = func(c *Config) string {
		var b strings.Builder
		for i, cl := range obufClasses {
			l := c.ClientOutputBufferLimits[cl.key]
			if i > 0 {
				b.WriteByte(' ')
			}
			fmt.Fprintf(&b, "%s %d %d %d", cl.get, uint64(l.Hard), uint64(l.Soft), l.SoftSeconds)
		}
		return b.String()
	}
	p.rewrite = func(c *Config, st *rewriteState) {
		for _, cl := range obufClasses {
			l := c.ClientOutputBufferLimits[cl.key]
			line := fmt.Sprintf("%s %s %s %s %d", name, cl.rewrite, formatMemory(l.Hard), formatMemory(l.Soft), l.SoftSeconds)
			st.rewriteLine(name, line, l != obufDefaults[cl.key])
		}
	}
	return p
}

var oomDefaults = [3]int{0, 200, 800}

func oomValuesParam() *param {
	const name = "oom-score-adj-values"
	p := &param{name: name, flags: fMultiArg}
	p.init = func(c *Config) { c.OOMScoreAdjValues = oomDefaults }
	p.set = func(c *Config, args []string, _ *loadState) string {
		if len(args) != 3 {
			return "wrong number of arguments"
		}
		var v [3]int
		for i, a := range args {
			n, rest, _ := strtoll(cstr(a), 10)
			if rest != "" || n < -2000 || n > 2000 {
				return "Invalid oom-score-adj-values, elements must be between -2000 and 2000."
			}
			v[i] = int(n)
		}
		c.OOMScoreAdjValues = v
		return ""
	}
	p.get = func(c *Config) string {
		v := c.OOMScoreAdjValues
		return fmt.Sprintf("%d %d %d", v[0], v[1], v[2])
	}
	p.rewrite = func(c *Config, st *rewriteState) {
		st.rewriteLine(name, name+" "+p.get(c), c.OOMScoreAdjValues != oomDefaults)
	}
	return p
}

// Keyspace notification classes, with Redis's bit values.
const (
	notifyKeyspace = 1 << iota
	notifyKeyevent
	notifyGeneric
	notifyString
	notifyList
	notifySet
	notifyHash
	notifyZset
	notifyExpired
	notifyEvicted
	notifyStream
	notifyKeyMiss
	notifyModule
	notifyNew
	notifyAll = notifyGeneric | notifyString | notifyList | notifySet | notifyHash | notifyZset | notifyExpired | notifyEvicted | notifyStream | notifyModule
)

// KeyspaceEventFlags parses a notify-keyspace-events string into Redis's
// NOTIFY_* bit set, or returns -1 if it has a character Redis rejects.
func KeyspaceEventFlags(s string) int {
	flags := 0
	for _, c := range []byte(cstr(s)) {
		switch c {
		case 'A':
			flags |= notifyAll
		case 'g':
			flags |= notifyGeneric
		case '$':
			flags |= notifyString
		case 'l':
			flags |= notifyList
		case 's':
			flags |= notifySet
		case 'h':
			flags |= notifyHash
		case 'z':
			flags |= notifyZset
		case 'x':
			flags |= notifyExpired
		case 'e':
			flags |= notifyEvicted
		case 'K':
			flags |= notifyKeyspace
		case 'E':
			flags |= notifyKeyevent
		case 't':
			flags |= notifyStream
		case 'm':
			flags |= notifyKeyMiss
		case 'd':
			flags |= notifyModule
		case 'n':
			flags |= notifyNew
		default:
			return -1
		}
	}
	return flags
}

// keyspaceEventsString is keyspaceEventsFlagsToString. Note that "A" hides
// "n": Redis prints "A" for any set containing all of g$lshzxetd.
func keyspaceEventsString(flags int) string {
	var b strings.Builder
	if flags&notifyAll == notifyAll {
		b.WriteByte('A')
	} else {
		for _, f := range []struct {
			bit int
			c   byte
		}{{notifyGeneric, 'g'}, {notifyString, '$'}, {notifyList, 'l'}, {notifySet, 's'}, {notifyHash, 'h'}, {notifyZset, 'z'}, {notifyExpired, 'x'}, {notifyEvicted, 'e'}, {notifyStream, 't'}, {notifyModule, 'd'}, {notifyNew, 'n'}} {
			if flags&f.bit != 0 {
				b.WriteByte(f.c)
			}
		}
	}
	if flags&notifyKeyspace != 0 {
		b.WriteByte('K')
	}
	if flags&notifyKeyevent != 0 {
		b.WriteByte('E')
	}
	if flags&notifyKeyMiss != 0 {
		b.WriteByte('m')
	}
	return b.String()
}

func notifyParam() *param {
	const name = "notify-keyspace-events"
	p := &param{name: name}
	p.init = func(c *Config) { c.NotifyKeyspaceEvents = "" }
	p.set = func(c *Config, args []string, _ *loadState) string {
		if len(args) != 1 {
			return "wrong number of arguments"
		}
		f := KeyspaceEventFlags(args[0])
		if f < 0 {
			return "Invalid event class character. Use 'Ag$lshzxeKEtmdn'."
		}
		c.NotifyKeyspaceEvents = keyspaceEventsString(f)
		return ""
	}
	p.get = func(c *Config) string { return c.NotifyKeyspaceEvents }
	p.rewrite = func(c *Config, st *rewriteState) {
		f := KeyspaceEventFlags(c.NotifyKeyspaceEvents)
		st.rewriteLine(name, name+" "+splitargs.Repr(c.NotifyKeyspaceEvents), f != 0)
	}
	return p
}

var defaultBind = []string{"*", "-::*"}

func bindParam() *param {
	const name = "bind"
	p := &param{name: name, flags: fMultiArg}
	p.init = func(c *Config) { c.Bind = slices.Clone(defaultBind) }
	p.set = func(c *Config, args []string, _ *loadState) string {
		if len(args) > 16 {
			return "Too many bind addresses specified."
		}
		if len(args) == 1 && args[0] == "" {
			args = nil
		}
		b := make([]string, len(args))
		for i, a := range args {
			b[i] = cstr(a)
		}
		c.Bind = b
		return ""
	}
	p.get = func(c *Config) string { return strings.Join(c.Bind, " ") }
	p.rewrite = func(c *Config, st *rewriteState) {
		if slices.Equal(c.Bind, defaultBind) {
			st.markProcessed(name)
			return
		}
		addrs := `""`
		if len(c.Bind) > 0 {
			addrs = strings.Join(c.Bind, " ")
		}
		st.rewriteLine(name, name+" "+addrs, true)
	}
	return p
}

func replicaofParam() *param {
	const name = "replicaof"
	p := &param{name: name, alias: "slaveof", flags: fImmutable | fMultiArg}
	p.init = func(c *Config) { c.ReplicaOf = "" }
	p.set = func(c *Config, args []string, _ *loadState) string {
		if len(args) != 2 {
			return "wrong number of arguments"
		}
		c.ReplicaOf = ""
		host, port := cstr(args[0]), cstr(args[1])
		if asciiEqualFold(host, "no") && asciiEqualFold(port, "one") {
			return ""
		}
		n, rest, _ := strtoll(port, 10)
		if n < 0 || n > 65535 || rest != "" {
			return "Invalid master port"
		}
		c.ReplicaOf = host + " " + strconv.FormatInt(n, 10)
		return ""
	}
	p.get = func(c *Config) string { return c.ReplicaOf }
	p.rewrite = func(c *Config, st *rewriteState) {
		if c.ClusterEnabled || c.ReplicaOf == "" {
			st.markProcessed(name)
			return
		}
		st.rewriteLine(name, name+" "+c.ReplicaOf, true)
	}
	return p
}

func percentilesParam() *param {
	const name = "latency-tracking-info-percentiles"
	p := &param{name: name, flags: fMultiArg}
	p.init = func(c *Config) { c.LatencyTrackingInfoPercentiles = []float64{50, 99, 99.9} }
	p.set = func(c *Config, args []string, _ *loadState) string {
		if len(args) == 1 && args[0] == "" {
			args = nil
		}
		v := make([]float64, len(args))
		for i, a := range args {
			f, ok := string2d(a)
			if !ok {
				return "Invalid latency-tracking-info-percentiles parameters"
			}
			if f > 100 || f < 0 {
				return "latency-tracking-info-percentiles parameters should sit between [0.0,100.0]"
			}
			v[i] = f
		}
		c.LatencyTrackingInfoPercentiles = v
		return ""
	}
	p.get = func(c *Config) string {
		parts := make([]string, len(c.LatencyTrackingInfoPercentiles))
		for i, f := range c.LatencyTrackingInfoPercentiles {
			parts[i] = formatPercentile(f)
		}
		return strings.Join(parts, " ")
	}
	p.rewrite = func(c *Config, st *rewriteState) {
		line := name + ` ""`
		if len(c.LatencyTrackingInfoPercentiles) > 0 {
			line = name + " " + p.get(c)
		}
		st.rewriteLine(name, line, true)
	}
	return p
}
