package server

import (
	"strings"

	"github.com/reefkv/reef/internal/command"
	"github.com/reefkv/reef/internal/glob"
)

// commandCommand is COMMAND with no subcommand: every command's info.
func commandCommand(ctx *command.Ctx) {
	t := clientOf(ctx).srv.table
	ctx.ArrayLen(t.Count())
	for _, s := range t.All() {
		ctx.Out = append(ctx.Out, t.Info(s, ctx.Proto)...)
	}
}

// lookupForCommandCmd resolves "name" or "name|sub" for COMMAND INFO/DOCS.
func lookupForCommandCmd(t *command.Table, name []byte) *command.Spec {
	if i := strings.IndexByte(string(name), '|'); i >= 0 {
		parent := t.Lookup(name[:i])
		if parent == nil || parent.Subs == nil {
			return nil
		}
		return parent.LookupSub(name[i+1:])
	}
	return t.Lookup(name)
}

func commandInfo(ctx *command.Ctx) {
	t := clientOf(ctx).srv.table
	if len(ctx.Args) == 2 {
		commandCommand(ctx)
		return
	}
	ctx.ArrayLen(len(ctx.Args) - 2)
	for _, name := range ctx.Args[2:] {
		s := lookupForCommandCmd(t, name)
		if s == nil || s.Handler == nil && s.Subs == nil {
			ctx.Null() // Redis's addReplyNull: $-1 in RESP2
			continue
		}
		ctx.Out = append(ctx.Out, t.Info(s, ctx.Proto)...)
	}
}

func commandDocs(ctx *command.Ctx) {
	t := clientOf(ctx).srv.table
	var specs []*command.Spec
	if len(ctx.Args) == 2 {
		specs = t.All()
	} else {
		for _, name := range ctx.Args[2:] {
			if s := lookupForCommandCmd(t, name); s != nil {
				specs = append(specs, s)
			}
		}
	}
	ctx.MapLen(len(specs))
	for _, s := range specs {
		ctx.BulkString(s.Name)
		ctx.Out = append(ctx.Out, t.Docs(s, ctx.Proto)...)
	}
}

func commandGetKeys(ctx *command.Ctx, withFlags bool) {
	t := clientOf(ctx).srv.table
	args := ctx.Args[2:]
	s := t.Lookup(args[0])
	if s != nil && s.Subs != nil && len(args) >= 2 {
		s = s.LookupSub(args[1])
	}
	if s == nil || s.Handler == nil {
		ctx.Err("ERR Invalid command specified")
		return
	}
	if (s.Arity > 0 && s.Arity != len(args)) || len(args) < -s.Arity {
		ctx.Err("ERR Invalid number of arguments specified for command")
		return
	}
	keys, ok := s.KeyPositions(args, nil)
	if !ok {
		ctx.Err("ERR Invalid arguments specified for command")
		return
	}
	if len(keys) == 0 {
		if s.Flags&command.FlagMovableKeys != 0 || len(s.KeySpecs) > 0 {
			ctx.Err("ERR Invalid arguments specified for command")
		} else {
			ctx.Err("ERR The command has no key arguments")
		}
		return
	}
	ctx.ArrayLen(len(keys))
	for _, k := range keys {
		if withFlags {
			ctx.ArrayLen(2)
			ctx.Bulk(args[k])
			flags := s.KeyFlags(args, k)
			ctx.SetLen(len(flags))
			for _, f := range flags {
				ctx.Simple(f)
			}
			continue
		}
		ctx.Bulk(args[k])
	}
}

func commandList(ctx *command.Ctx) {
	t := clientOf(ctx).srv.table
	var match func(s *command.Spec) bool
	if len(ctx.Args) > 2 {
		if len(ctx.Args) != 5 || !command.EqualFold(ctx.Args[2], "filterby") {
			ctx.Err(command.ErrSyntax)
			return
		}
		val := ctx.Args[4]
		switch {
		case command.EqualFold(ctx.Args[3], "module"):
			match = func(*command.Spec) bool { return false }
		case command.EqualFold(ctx.Args[3], "aclcat"):
			cat := "@" + strings.ToLower(string(val))
			match = func(s *command.Spec) bool {
				for _, a := range s.ACL {
					if a == cat {
						return true
					}
				}
				return false
			}
		case command.EqualFold(ctx.Args[3], "pattern"):
			match = func(s *command.Spec) bool { return glob.Match(val, []byte(s.Name), true) }
		default:
			ctx.Err(command.ErrSyntax)
			return
		}
	}
	var names []string
	for _, s := range t.All() {
		if match == nil || match(s) {
			names = append(names, s.Name)
		}
		for _, sub := range s.Subs {
			if match == nil || match(sub) {
				names = append(names, sub.Name)
			}
		}
	}
	ctx.ArrayLen(len(names))
	for _, n := range names {
		ctx.BulkString(n)
	}
}

func commandHelp(ctx *command.Ctx) {
	command.HelpReply(ctx, "COMMAND", []string{
		"(no subcommand)",
		"    Return details about all Redis commands.",
		"COUNT",
		"    Return the total number of commands in this Redis server.",
		"LIST",
		"    Return a list of all commands in this Redis server.",
		"INFO [<command-name> ...]",
		"    Return details about multiple Redis commands.",
		"    If no command names are given, documentation details for all",
		"    commands are returned.",
		"DOCS [<command-name> ...]",
		"    Return documentation details about multiple Redis commands.",
		"    If no command names are given, documentation details for all",
		"    commands are returned.",
		"GETKEYS <full-command>",
		"    Return the keys from a full Redis command.",
		"GETKEYSANDFLAGS <full-command>",
		"    Return the keys and the access flags from a full Redis command.",
	})
}
