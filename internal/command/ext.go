package command

import (
	"strconv"

	"github.com/reefkv/reef/internal/resp"
)

// Subcommands beyond Redis 7.0's table: the atomic slot migration dialects
// of Valkey 9 (CLUSTER MIGRATESLOTS, GETSLOTMIGRATIONS,
// CANCELSLOTMIGRATIONS, SYNCSLOTS) and Redis 8.4 (CLUSTER MIGRATION). Their
// metadata is written here, with those servers' arities and flags, so that
// COMMAND INFO CLUSTER lists them and cluster managers can detect them.

// ExtSub describes one extension subcommand.
type ExtSub struct {
	Name       string // lower case, without the parent
	Arity      int
	Admin      bool
	Summary    string
	Since      string
	Complexity string
}

// AddSubcommands adds extension subcommands to parent's container. Call it
// right after NewTable, before the table is used.
func (t *Table) AddSubcommands(parent string, subs []ExtSub, handlers map[string]Handler) {
	ps := t.byName[parent]
	if ps == nil {
		panic("no container command " + parent)
	}
	if ps.Subs == nil {
		ps.Subs = map[string]*Spec{}
	}
	for _, x := range subs {
		full := parent + "|" + x.Name
		flags := FlagStale
		var flagNames []string
		acl := []string{"@slow"}
		if x.Admin {
			flags |= FlagAdmin | FlagNoAsyncLoading
			flagNames = []string{"admin", "stale", "no_async_loading"}
			acl = []string{"@admin", "@slow", "@dangerous"}
		} else {
			flagNames = []string{"stale"}
		}
		head := resp.AppendBulkString(nil, full)
		head = resp.AppendInt(head, int64(x.Arity))
		head = append(head, "~"+strconv.Itoa(len(flagNames))+"\r\n"...)
		for _, f := range flagNames {
			head = resp.AppendSimple(head, f)
		}
		head = append(head, ":0\r\n:0\r\n:0\r\n"...)
		head = append(head, "~"+strconv.Itoa(len(acl))+"\r\n"...)
		for _, a := range acl {
			head = resp.AppendSimple(head, a)
		}
		head = append(head, "~0\r\n~0\r\n"...)
		var docs []byte
		for _, kv := range [][2]string{{"summary", x.Summary}, {"since", x.Since}, {"group", "cluster"}, {"complexity", x.Complexity}} {
			docs = resp.AppendBulkString(docs, kv[0])
			docs = resp.AppendBulkString(docs, kv[1])
		}
		meta := &Meta{Name: full, Arity: x.Arity, Flags: flags, ACL: acl, InfoHead: string(head),
			DocFields: string(docs), DocFieldCount: 4}
		ps.Subs[x.Name] = &Spec{Meta: meta, Handler: handlers[x.Name], Parent: ps}
	}
}
