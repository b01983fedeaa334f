package server

import (
	"github.com/reefkv/reef/internal/cluster/state"
	"github.com/reefkv/reef/internal/command"
	"github.com/reefkv/reef/internal/dict"
	"github.com/reefkv/reef/internal/keyspace"
	"github.com/reefkv/reef/internal/rconv"
	"github.com/reefkv/reef/internal/resp"
	"github.com/reefkv/reef/internal/slot"
)

const errClusterDisabled = "ERR This instance has cluster support disabled"

// clusterSubcommands are the CLUSTER subcommands of Redis 7.0. All but
// COUNTKEYSINSLOT and GETKEYSINSLOT are answered by the cluster driver.
var clusterSubcommands = []string{"addslots", "addslotsrange", "bumpepoch", "count-failure-reports",
	"countkeysinslot", "delslots", "delslotsrange", "failover", "flushslots", "forget", "getkeysinslot",
	"help", "info", "keyslot", "links", "meet", "myid", "nodes", "replicas", "replicate", "reset",
	"saveconfig", "set-config-epoch", "setslot", "shards", "slaves", "slots"}

// clusterFamily returns CLUSTER and the connection commands of cluster
// mode (ASKING, READONLY, READWRITE).
func (s *Server) clusterFamily() command.Family {
	subs := map[string]command.Handler{}
	for _, name := range clusterSubcommands {
		subs[name] = clusterCommand
	}
	subs["countkeysinslot"] = clusterCountKeysInSlot
	subs["getkeysinslot"] = clusterGetKeysInSlot
	return command.Family{
		Commands: map[string]command.Handler{
			"cluster":   nil,
			"asking":    askingCommand,
			"readonly":  readonlyCommand,
			"readwrite": readwriteCommand,
		},
		Subcommands: map[string]map[string]command.Handler{"cluster": subs},
	}
}

// clusterCommand forwards a CLUSTER subcommand to the driver, which replies
// once nodes.conf reflects it.
func clusterCommand(ctx *command.Ctx) {
	c := clientOf(ctx)
	s := c.srv
	n := s.cluster
	if n == nil {
		ctx.Err(errClusterDisabled)
		return
	}
	args := make([]string, len(ctx.Args)-1)
	for i, a := range ctx.Args[1:] {
		args[i] = string(a)
	}
	setslot := command.EqualFold(ctx.Args[1], "setslot")
	var r state.Reply
	var err error
	if setslot && ctx.FromMaster {
		// My master's open slots (see propagateSetSlot).
		r, err = n.d.DoReplicated(s.ctx, args)
	} else {
		r, err = n.d.Do(s.ctx, args, s.ks.Size(0), func(sl int) int64 { return s.ks.Count(0, sl) })
	}
	if err != nil {
		ctx.Err("ERR " + err.Error())
		return
	}
	appendClusterReply(ctx, r)
	if setslot && !ctx.FromMaster {
		propagateSetSlot(ctx, r)
	}
	// CLUSTER RESET on a replica empties the dataset: let the client see
	// it done. Not inside EXEC or a script, which hold slot locks the
	// worker may need.
	if command.EqualFold(ctx.Args[1], "reset") && !ctx.DenyBlocking {
		n.clusterBarrier()
	}
}

// appendClusterReply encodes a driver reply as Redis does, in the client's
// protocol.
func appendClusterReply(ctx *command.Ctx, r state.Reply) {
	switch r := r.(type) {
	case state.Status:
		ctx.Simple(string(r))
	case state.Error:
		ctx.Err(string(r))
	case state.Int:
		ctx.Int(int64(r))
	case state.Bulk:
		ctx.BulkString(string(r))
	case state.Verbatim:
		ctx.Out = resp.AppendVerbatim(ctx.Out, ctx.Proto, "txt", []byte(r))
	case state.BulkArray:
		ctx.Out = resp.AppendBulkStrings(ctx.Out, r)
	case state.Lines:
		ctx.ArrayLen(len(r))
		for _, l := range r {
			ctx.Simple(l)
		}
	case state.SlotsReply:
		ctx.ArrayLen(len(r))
		for _, rg := range r {
			ctx.ArrayLen(2 + len(rg.Nodes))
			ctx.Int(int64(rg.Start))
			ctx.Int(int64(rg.End))
			for _, nd := range rg.Nodes {
				ctx.ArrayLen(4)
				if nd.EndpointNull {
					ctx.Null()
				} else {
					ctx.BulkString(nd.Endpoint)
				}
				ctx.Int(int64(nd.Port))
				ctx.BulkString(nd.ID)
				ctx.MapLen(len(nd.Extra))
				for _, kv := range nd.Extra {
					ctx.BulkString(kv.Key)
					ctx.BulkString(kv.Value)
				}
			}
		}
	case state.ShardsReply:
		ctx.ArrayLen(len(r))
		for _, sh := range r {
			ctx.MapLen(2)
			ctx.BulkString("slots")
			ctx.ArrayLen(len(sh.Slots))
			for _, v := range sh.Slots {
				ctx.Int(int64(v))
			}
			ctx.BulkString("nodes")
			ctx.ArrayLen(len(sh.Nodes))
			for _, nd := range sh.Nodes {
				appendShardNode(ctx, &nd)
			}
		}
	case state.LinksReply:
		ctx.ArrayLen(len(r))
		for _, l := range r {
			ctx.MapLen(6)
			ctx.BulkString("direction")
			ctx.BulkString(l.Direction)
			ctx.BulkString("node")
			ctx.BulkString(l.Node)
			ctx.BulkString("create-time")
			ctx.Int(l.CreateTime)
			ctx.BulkString("events")
			ctx.BulkString(l.Events)
			ctx.BulkString("send-buffer-allocated")
			ctx.Int(l.SendBufferAllocated)
			ctx.BulkString("send-buffer-used")
			ctx.Int(l.SendBufferUsed)
		}
	default:
		ctx.Err("ERR unexpected cluster reply")
	}
}

// appendShardNode is one node map of CLUSTER SHARDS, keys in Redis's order.
func appendShardNode(ctx *command.Ctx, nd *state.ShardNode) {
	n := 6
	if nd.Port != 0 {
		n++
	}
	if nd.TLSPort != 0 {
		n++
	}
	if nd.Hostname != "" {
		n++
	}
	ctx.MapLen(n)
	ctx.BulkString("id")
	ctx.BulkString(nd.ID)
	if nd.Port != 0 {
		ctx.BulkString("port")
		ctx.Int(int64(nd.Port))
	}
	if nd.TLSPort != 0 {
		ctx.BulkString("tls-port")
		ctx.Int(int64(nd.TLSPort))
	}
	ctx.BulkString("ip")
	ctx.BulkString(nd.IP)
	ctx.BulkString("endpoint")
	ctx.BulkString(nd.Endpoint)
	if nd.Hostname != "" {
		ctx.BulkString("hostname")
		ctx.BulkString(nd.Hostname)
	}
	ctx.BulkString("role")
	ctx.BulkString(nd.Role)
	ctx.BulkString("replication-offset")
	ctx.Int(nd.ReplicationOffset)
	ctx.BulkString("health")
	ctx.BulkString(nd.Health)
}

// clusterCountKeysInSlot is CLUSTER COUNTKEYSINSLOT slot (keys of DB 0).
func clusterCountKeysInSlot(ctx *command.Ctx) {
	if clientOf(ctx).srv.cluster == nil {
		ctx.Err(errClusterDisabled)
		return
	}
	sl, ok := rconv.ParseInt(ctx.Args[2])
	if !ok {
		ctx.Err(command.ErrNotInt)
		return
	}
	if sl < 0 || sl >= slot.Count {
		ctx.Err("ERR Invalid slot")
		return
	}
	ctx.Int(ctx.KS.Count(0, int(sl)))
}

// clusterGetKeysInSlot is CLUSTER GETKEYSINSLOT slot count: up to count
// keys of DB 0 in the slot, newest first as Redis lists them.
func clusterGetKeysInSlot(ctx *command.Ctx) {
	if clientOf(ctx).srv.cluster == nil {
		ctx.Err(errClusterDisabled)
		return
	}
	sl, ok := rconv.ParseInt(ctx.Args[2])
	if !ok {
		ctx.Err(command.ErrNotInt)
		return
	}
	max, ok := rconv.ParseInt(ctx.Args[3])
	if !ok {
		ctx.Err(command.ErrNotInt)
		return
	}
	if sl < 0 || sl >= slot.Count || max < 0 {
		ctx.Err("ERR Invalid slot or number of keys")
		return
	}
	s := int(sl)
	ctx.KS.Lock(s)
	defer ctx.KS.Unlock(s)
	t := ctx.KS.Table(0, s)
	if t == nil {
		ctx.ArrayLen(0)
		return
	}
	n := int64(t.Keys.Len())
	if max < n {
		n = max
	}
	ctx.ArrayLen(int(n))
	t.Keys.Scan(0, int(n), func(e *dict.Entry[keyspace.Value]) {
		ctx.BulkString(e.Key)
	})
}

func askingCommand(ctx *command.Ctx) {
	c := clientOf(ctx)
	if c.srv.cluster == nil {
		ctx.Err(errClusterDisabled)
		return
	}
	c.asking = true
	c.askingSet = true
	ctx.OK()
}

func readonlyCommand(ctx *command.Ctx) {
	c := clientOf(ctx)
	if c.srv.cluster == nil {
		ctx.Err(errClusterDisabled)
		return
	}
	c.readonly = true
	ctx.OK()
}

func readwriteCommand(ctx *command.Ctx) {
	c := clientOf(ctx)
	if c.srv.cluster == nil {
		ctx.Err(errClusterDisabled)
		return
	}
	c.readonly = false
	ctx.OK()
}
