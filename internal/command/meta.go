package command

// Flags are a command's flags as COMMAND INFO lists them.
type Flags uint64

// Command flags, named after Redis's.
const (
	FlagWrite Flags = 1 << iota
	FlagReadonly
	FlagDenyOOM
	FlagModule
	FlagAdmin
	FlagPubSub
	FlagNoScript
	FlagBlocking
	FlagLoading
	FlagStale
	FlagSkipMonitor
	FlagSkipSlowlog
	FlagAsking
	FlagFast
	FlagNoAuth
	FlagMayReplicate
	FlagSentinel
	FlagOnlySentinel
	FlagNoMandatoryKeys
	FlagProtected
	FlagModuleGetKeys
	FlagNoAsyncLoading
	FlagNoMulti
	FlagMovableKeys
	FlagAllowBusy
	FlagModuleGetChannels
)

// KeySpec is one of a command's key specifications (Redis 7 key specs): where
// to start looking for keys and how to find them from there.
type KeySpec struct {
	Flags       []string
	BeginSearch string // "index", "keyword" or "unknown"
	BSIndex     int
	BSKeyword   string
	BSStartFrom int
	FindKeys    string // "range", "keynum" or "unknown"
	FKLastKey   int
	FKKeyStep   int
	FKLimit     int
	FKKeyNumIdx int
	FKFirstKey  int
}

// Meta is the metadata Redis publishes for a command: what COMMAND INFO and
// COMMAND DOCS return, and the arity, flags and key positions the router
// checks. InfoHead is the RESP3 encoding of the first nine elements of the
// COMMAND INFO entry, DocFields the RESP3 key/value pairs of COMMAND DOCS
// except "subcommands", both captured from Redis; the server appends the
// subcommands it implements.
type Meta struct {
	Name          string
	Arity         int
	Flags         Flags
	FirstKey      int
	LastKey       int
	Step          int
	ACL           []string
	KeySpecs      []KeySpec
	InfoHead      string
	DocFields     string
	DocFieldCount int
	Sub           map[string]*Meta
}
