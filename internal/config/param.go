package config

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/reefkv/reef/internal/splitargs"
)

// flag is a parameter property, with the meaning of Redis's *_CONFIG flags.
type flag uint16

const (
	fImmutable   flag = 1 << iota // CONFIG SET refuses it: "can't set immutable config"
	fSensitive                    // its value is redacted from logs and MONITOR
	fHidden                       // CONFIG GET patterns skip it; an exact name still works
	fProtected                    // CONFIG SET needs enable-protected-configs
	fDenyLoading                  // CONFIG SET refuses it while loading data
	fMultiArg                     // takes several arguments (space separated in CONFIG SET)
)

// numType is the C type Redis stores a numeric parameter in; it decides
// whether bounds are compared signed or unsigned.
type numType uint8

const (
	tInt numType = iota
	tUInt
	tLong
	tULong
	tLongLong
	tULongLong
	tSizeT
	tSSizeT
	tOffT
	tTimeT
)

// numFlag is how a numeric parameter is written (Redis's numeric flags).
type numFlag uint8

const (
	nMemory  numFlag = 1 << iota // accepts 1kb, 5mb, 2gb ...
	nPercent                     // accepts "N%", stored as -N
	nOctal                       // parsed and printed in octal
)

// loadState carries what Redis keeps in statics while it reads config files.
// It is nil for CONFIG SET.
type loadState struct {
	// readingFile is Redis's reading_config_file: set when a file starts
	// loading and cleared when any file (an include too) finishes.
	readingFile bool
	// saveLoaded is the static in setConfigSaveOption: the first "save"
	// line read from a file drops the built-in save points.
	saveLoaded bool
}

// param describes one Redis parameter: how to initialise, parse, print and
// rewrite it. The closures read and write the Config passed in, so one table
// serves every snapshot.
type param struct {
	name  string
	alias string
	flags flag

	// init stores the default.
	init func(c *Config)
	// set parses args (one element unless fMultiArg) into c and returns
	// Redis's error text, or "" on success.
	set func(c *Config, args []string, ls *loadState) string
	// get formats the value as CONFIG GET prints it.
	get func(c *Config) string
	// rewrite emits the value into a CONFIG REWRITE state.
	rewrite func(c *Config, st *rewriteState)
	// applyPost, when set, adjusts the value after CONFIG SET changed it,
	// as the Redis apply function does (see numOpts.applyPost).
	applyPost func(c *Config, hz int)
}

// entry is one name in the lookup table: a parameter's name or its alias.
type entry struct {
	name  string
	p     *param
	alias bool
}

var (
	nExtraBool, nExtraString, nExtraNum int

	params          = buildParams()
	entries, byName = buildEntries(params)
)

// buildEntries indexes every name and alias of ps, in table order.
func buildEntries(ps []*param) ([]*entry, map[string]*entry) {
	var list []*entry
	m := map[string]*entry{}
	for _, p := range ps {
		e := &entry{name: p.name, p: p}
		list = append(list, e)
		m[p.name] = e
		if p.alias != "" {
			a := &entry{name: p.alias, p: p, alias: true}
			list = append(list, a)
			m[p.alias] = a
		}
	}
	return list, m
}

// lookup finds a parameter by name or alias, case-insensitively, as Redis's
// config dictionary does.
func lookup(name string) *entry {
	if e, ok := byName[name]; ok {
		return e
	}
	return byName[asciiLower(name)]
}

// Storage accessors for the three kinds of values.

type boolRef func(c *Config) *bool
type strRef func(c *Config) *string
type numRef struct {
	get func(c *Config) int64
	set func(c *Config, v int64)
}

func xBool() boolRef {
	i := nExtraBool
	nExtraBool++
	return func(c *Config) *bool { return &c.xb[i] }
}

func xStr() strRef {
	i := nExtraString
	nExtraString++
	return func(c *Config) *string { return &c.xs[i] }
}

func xNum() numRef {
	i := nExtraNum
	nExtraNum++
	return numRef{func(c *Config) int64 { return c.xn[i] }, func(c *Config, v int64) { c.xn[i] = v }}
}

func ri(f func(c *Config) *int) numRef {
	return numRef{func(c *Config) int64 { return int64(*f(c)) }, func(c *Config, v int64) { *f(c) = int(v) }}
}

func r64(f func(c *Config) *int64) numRef {
	return numRef{func(c *Config) int64 { return *f(c) }, func(c *Config, v int64) { *f(c) = v }}
}

// Bool parameters.

func boolP(name, alias string, fl flag, def bool, ref boolRef) *param {
	return boolPV(name, alias, fl, def, nil, ref)
}

// boolPV is boolP with a validity check of the parsed value.
func boolPV(name, alias string, fl flag, def bool, valid func(bool) string, ref boolRef) *param {
	p := &param{name: name, alias: alias, flags: fl}
	p.init = func(c *Config) { *ref(c) = def }
	p.set = func(c *Config, args []string, _ *loadState) string {
		yn := yesno(args[0])
		if yn < 0 {
			return "argument must be 'yes' or 'no'"
		}
		if valid != nil {
			if err := valid(yn == 1); err != "" {
				return err
			}
		}
		*ref(c) = yn == 1
		return ""
	}
	p.get = func(c *Config) string { return YesNo(*ref(c)) }
	p.rewrite = func(c *Config, st *rewriteState) {
		v := *ref(c)
		st.rewriteLine(name, name+" "+YesNo(v), v != def)
	}
	return p
}

// YesNo spells a boolean as a yes/no directive's value (CONFIG GET, the
// rewritten file, INFO server's reef_io_uring).
func YesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// String parameters. A nullable one (Redis's EMPTY_STRING_IS_NULL) treats ""
// as "unset", which CONFIG REWRITE removes from the file; hasDef is false
// when Redis's default is NULL. A binary one (an sds in Redis) keeps bytes
// after a NUL; the others are C strings.
type strOpts struct {
	nullable bool
	def      string
	hasDef   bool
	binary   bool
	valid    func(c *Config, v string) string
}

func strP(name, alias string, fl flag, o strOpts, ref strRef) *param {
	p := &param{name: name, alias: alias, flags: fl}
	p.init = func(c *Config) { *ref(c) = o.def }
	p.set = func(c *Config, args []string, _ *loadState) string {
		v := args[0]
		if !o.binary {
			v = cstr(v)
		}
		if o.valid != nil {
			if err := o.valid(c, v); err != "" {
				return err
			}
		}
		*ref(c) = v
		return ""
	}
	p.get = func(c *Config) string { return *ref(c) }
	p.rewrite = func(c *Config, st *rewriteState) {
		v := *ref(c)
		if o.nullable && v == "" {
			st.markProcessed(name)
			return
		}
		st.rewriteLine(name, name+" "+splitargs.Repr(v), !(o.hasDef && v == o.def))
	}
	return p
}

// nullStr is a string whose Redis default is NULL.
var nullStr = strOpts{nullable: true}

// Enum parameters, stored as the canonical name (the first table name with
// the chosen value, which is what Redis prints).

type enumItem struct {
	name string
	val  int
}

func enumErr(items []enumItem) string {
	names := make([]string, len(items))
	for i, it := range items {
		names[i] = it.name
	}
	return "argument(s) must be one of the following: " + strings.Join(names, ", ")
}

func enumName(items []enumItem, v int) string {
	for _, it := range items {
		if it.val == v {
			return it.name
		}
	}
	return "unknown"
}

func enumP(name string, fl flag, items []enumItem, def string, ref strRef) *param {
	p := &param{name: name, flags: fl}
	p.init = func(c *Config) { *ref(c) = def }
	p.set = func(c *Config, args []string, _ *loadState) string {
		if len(args) != 1 {
			return enumErr(items)
		}
		a := cstr(args[0])
		for _, it := range items {
			if asciiEqualFold(a, it.name) {
				*ref(c) = enumName(items, it.val)
				return ""
			}
		}
		return enumErr(items)
	}
	p.get = func(c *Config) string { return *ref(c) }
	p.rewrite = func(c *Config, st *rewriteState) {
		v := *ref(c)
		st.rewriteLine(name, name+" "+v, v != def)
	}
	return p
}

// bitsP is an enum whose values are OR-ed bit flags (shutdown-on-sig*).
func bitsP(name string, fl flag, items []enumItem, valid func(int) string, ref func(c *Config) *int) *param {
	p := &param{name: name, flags: fl | fMultiArg}
	p.init = func(c *Config) { *ref(c) = 0 }
	p.set = func(c *Config, args []string, _ *loadState) string {
		if len(args) == 0 {
			return enumErr(items)
		}
		v := 0
		for _, a := range args {
			a = cstr(a)
			matched := false
			for _, it := range items {
				if asciiEqualFold(a, it.name) {
					v |= it.val
					matched = true
				}
			}
			if !matched {
				return enumErr(items)
			}
		}
		if valid != nil {
			if err := valid(v); err != "" {
				return err
			}
		}
		*ref(c) = v
		return ""
	}
	p.get = func(c *Config) string { return bitsName(items, *ref(c)) }
	p.rewrite = func(c *Config, st *rewriteState) {
		v := *ref(c)
		st.rewriteLine(name, name+" "+bitsName(items, v), v != 0)
	}
	return p
}

// bitsName is configEnumGetName for bit flags: an exact match wins,
// otherwise the names of the contained flags in table order.
func bitsName(items []enumItem, v int) string {
	var names []string
	unmatched := v
	for _, it := range items {
		if it.val == v {
			return it.name
		}
		if it.val != 0 && it.val == unmatched&it.val {
			names = append(names, it.name)
			unmatched &^= it.val
		}
	}
	if len(names) == 0 || unmatched != 0 {
		return "unknown"
	}
	return strings.Join(names, " ")
}

// Numeric parameters.

type numOpts struct {
	typ    numType
	nf     numFlag
	lo, hi int64 // for unsigned types, read as uint64
	def    int64
	post   func(v int64) int64 // adjusts the stored value (hz clamping)
	// applyPost is what a Redis apply function does to a value CONFIG SET
	// changed; hz is the server frequency in effect when it runs. Apply
	// functions do not run while config files load.
	applyPost func(v int64, hz int) int64
}

func (o *numOpts) unsigned() bool {
	return o.typ == tULongLong || o.typ == tUInt || o.typ == tSizeT
}

// parse is numericParseString.
func (o *numOpts) parse(v string) (int64, string) {
	if o.nf&nMemory != 0 {
		if u, ok := memtoull(v); ok {
			return int64(u), ""
		}
	}
	if o.nf&nPercent != 0 && len(v) > 1 && v[len(v)-1] == '%' {
		if n, ok := string2ll(v[:len(v)-1]); ok && n >= 0 {
			return -n, ""
		}
	}
	if o.nf&nOctal != 0 {
		if n, rest, erange := strtoll(cstr(v), 8); !erange && rest == "" {
			return n, ""
		}
	}
	if o.nf == 0 {
		if n, ok := string2ll(v); ok {
			return n, ""
		}
	}
	switch {
	case o.nf&nMemory != 0 && o.nf&nPercent != 0:
		return 0, "argument must be a memory or percent value"
	case o.nf&nMemory != 0:
		return 0, "argument must be a memory value"
	case o.nf&nOctal != 0:
		return 0, "argument couldn't be parsed as an octal number"
	}
	return 0, "argument couldn't be parsed into an integer"
}

// check is numericBoundaryCheck.
func (o *numOpts) check(v int64) string {
	if o.unsigned() {
		u, lo, hi := uint64(v), uint64(o.lo), uint64(o.hi)
		if u > hi || u < lo {
			if o.nf&nOctal != 0 {
				return fmt.Sprintf("argument must be between %o and %o inclusive", lo, hi)
			}
			return fmt.Sprintf("argument must be between %d and %d inclusive", lo, hi)
		}
		return ""
	}
	if o.nf&nPercent != 0 && v < 0 {
		if v < o.lo {
			return fmt.Sprintf("percentage argument must be less or equal to %d", -o.lo)
		}
		return ""
	}
	if v > o.hi || v < o.lo {
		return fmt.Sprintf("argument must be between %d and %d inclusive", o.lo, o.hi)
	}
	return ""
}

// format is numericConfigGet.
func (o *numOpts) format(v int64) string {
	switch {
	case o.nf&nPercent != 0 && v < 0:
		return strconv.FormatInt(-v, 10) + "%"
	case o.nf&nMemory != 0:
		return strconv.FormatUint(uint64(v), 10)
	case o.nf&nOctal != 0:
		return strconv.FormatUint(uint64(v), 8)
	}
	return strconv.FormatInt(v, 10)
}

func numP(name, alias string, fl flag, o numOpts, ref numRef) *param {
	p := &param{name: name, alias: alias, flags: fl}
	p.init = func(c *Config) { ref.set(c, o.def) }
	p.set = func(c *Config, args []string, _ *loadState) string {
		v, err := o.parse(args[0])
		if err == "" {
			err = o.check(v)
		}
		if err != "" {
			return err
		}
		if o.post != nil {
			v = o.post(v)
		}
		ref.set(c, v)
		return ""
	}
	p.get = func(c *Config) string { return o.format(ref.get(c)) }
	if o.applyPost != nil {
		p.applyPost = func(c *Config, hz int) { ref.set(c, o.applyPost(ref.get(c), hz)) }
	}
	p.rewrite = func(c *Config, st *rewriteState) {
		v := ref.get(c)
		force := v != o.def
		switch {
		case o.nf&nPercent != 0 && v < 0:
			st.rewriteLine(name, name+" "+strconv.FormatInt(-v, 10)+"%", force)
		case o.nf&nMemory != 0:
			st.rewriteLine(name, name+" "+formatMemory(v), force)
		case o.nf&nOctal != 0:
			st.rewriteLine(name, name+" "+strconv.FormatUint(uint64(v), 8), force)
		default:
			st.rewriteLine(name, name+" "+strconv.FormatInt(v, 10), force)
		}
	}
	return p
}

// Integer limits of the C types, as Redis's table spells them.
const (
	intMin   = -1 << 31
	intMax   = 1<<31 - 1
	uintMax  = 1<<32 - 1
	longMax  = 1<<63 - 1
	llongMax = 1<<63 - 1
	ullMax   = -1 // ULLONG_MAX, read unsigned
)

func ints(lo, hi, def int64) numOpts { return numOpts{typ: tInt, lo: lo, hi: hi, def: def} }

const mb = 1024 * 1024
