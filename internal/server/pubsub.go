package server

import (
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/reefkv/reef/internal/command"
	"github.com/reefkv/reef/internal/config"
	"github.com/reefkv/reef/internal/glob"
	"github.com/reefkv/reef/internal/resp"
)

// Pub/Sub (Redis's pubsub.c) and keyspace notifications.
//
// Subscriptions live in one registry under an RWMutex: PUBLISH takes it for
// reading and queues the message on each receiver with Client.push, which
// never blocks on the network and enforces client-output-buffer-limit
// pubsub, so a subscriber that stops reading is disconnected instead of
// growing memory. SUBSCRIBE takes it for writing and queues its
// confirmation under it, so a confirmation always precedes the messages of
// its channel on the wire.

// pubsubRegistry is every subscription of this node.
type pubsubRegistry struct {
	mu       sync.RWMutex
	channels map[string]map[*Client]struct{}
	patterns map[string]map[*Client]struct{}
	shard    map[string]map[*Client]struct{}
	// subscribed counts clients with at least one subscription: a zero
	// makes PUBLISH and keyspace notifications free.
	subscribed atomic.Int64
	nchannels  atomic.Int64
	npatterns  atomic.Int64
	nshard     atomic.Int64
}

// clientSubs are one client's subscriptions, guarded by pubsubRegistry.mu.
type clientSubs struct {
	channels map[string]struct{}
	patterns []string // in subscription order, as Redis's list
	shard    map[string]struct{}
}

func (cs *clientSubs) count() int      { return len(cs.channels) + len(cs.patterns) }
func (cs *clientSubs) shardCount() int { return len(cs.shard) }

// isPubSub reports whether the client is in subscriber mode (Redis's
// CLIENT_PUBSUB flag: any channel, pattern or shard channel).
func (c *Client) isPubSub() bool { return c.subsCount.Load() > 0 }

// subCounts returns the sub/psub/ssub counts CLIENT LIST prints.
func (c *Client) subCounts() (sub, psub, ssub int) {
	r := &c.srv.pubsub
	r.mu.RLock()
	defer r.mu.RUnlock()
	return len(c.subs.channels), len(c.subs.patterns), len(c.subs.shard)
}

// Message kinds.
var (
	kindMessage      = []byte("message")
	kindPMessage     = []byte("pmessage")
	kindSMessage     = []byte("smessage")
	kindSubscribe    = []byte("subscribe")
	kindUnsubscribe  = []byte("unsubscribe")
	kindPSubscribe   = []byte("psubscribe")
	kindPUnsubscribe = []byte("punsubscribe")
	kindSSubscribe   = []byte("ssubscribe")
	kindSUnsubscribe = []byte("sunsubscribe")
)

// pubsubLimit returns the output limit of subscribers.
func (s *Server) pubsubLimit() config.OutputBufferLimit {
	return s.cfg.Get().ClientOutputBufferLimits["pubsub"]
}

// messageFrame builds a message frame ([kind, (pattern,) channel, payload])
// in the given protocol.
func messageFrame(proto int, kind, pattern, channel, payload []byte) []byte {
	n := 3
	if pattern != nil {
		n = 4
	}
	b := resp.AppendPushLen(nil, proto, n)
	b = resp.AppendBulk(b, kind)
	if pattern != nil {
		b = resp.AppendBulk(b, pattern)
	}
	b = resp.AppendBulk(b, channel)
	return resp.AppendBulk(b, payload)
}

// frames caches a message's encoding per protocol.
type frames struct {
	kind, pattern, channel, payload []byte
	enc                             [2][]byte
}

func (f *frames) get(proto int) []byte {
	i := 0
	if proto == resp.RESP3 {
		i = 1
	}
	if f.enc[i] == nil {
		f.enc[i] = messageFrame(proto, f.kind, f.pattern, f.channel, f.payload)
	}
	return f.enc[i]
}

// PublishLocal delivers a message to this node's subscribers of channel
// (and of matching patterns) and returns how many received it. It is the
// one delivery path: PUBLISH, keyspace notifications and, later, messages
// arriving over the cluster bus all go through it. It never blocks on a
// subscriber's network and is safe from any goroutine, slot locks held or
// not.
func (s *Server) PublishLocal(channel, message []byte) int {
	return s.publishLocal(nil, channel, message)
}

// publishLocal is PublishLocal for a message published by the command self
// is running (nil for none). A subscriber that is self gets it among its
// replies, where Redis puts it: its earlier replies still wait in ctx.Out
// for the batch's write, and the push queue would send it ahead of them.
func (s *Server) publishLocal(self *Client, channel, message []byte) int {
	r := &s.pubsub
	if r.subscribed.Load() == 0 {
		return 0
	}
	lim := s.pubsubLimit()
	n := 0
	r.mu.RLock()
	if subs := r.channels[string(channel)]; len(subs) > 0 {
		f := frames{kind: kindMessage, channel: channel, payload: message}
		for c := range subs {
			c.deliver(self, f.get(c.protoNow()), lim)
			n++
		}
	}
	for pat, subs := range r.patterns {
		if !glob.Match([]byte(pat), channel, false) {
			continue
		}
		f := frames{kind: kindPMessage, pattern: []byte(pat), channel: channel, payload: message}
		for c := range subs {
			c.deliver(self, f.get(c.protoNow()), lim)
			n++
		}
	}
	r.mu.RUnlock()
	return n
}

// PublishShardLocal delivers a shard-channel message (SPUBLISH) to this
// node's subscribers.
func (s *Server) PublishShardLocal(channel, message []byte) int {
	r := &s.pubsub
	if r.subscribed.Load() == 0 {
		return 0
	}
	lim := s.pubsubLimit()
	n := 0
	r.mu.RLock()
	if subs := r.shard[string(channel)]; len(subs) > 0 {
		f := frames{kind: kindSMessage, channel: channel, payload: message}
		for c := range subs {
			c.pushPubSub(f.get(c.protoNow()), lim)
			n++
		}
	}
	r.mu.RUnlock()
	return n
}

// deliver hands a message to subscriber c: into its replies when c is the
// client whose command published it (self), else through its push queue.
// With CLIENT REPLY off or skipping, the queue is used: the replies would
// drop it.
func (c *Client) deliver(self *Client, b []byte, lim config.OutputBufferLimit) {
	if c == self && c.replyMode == replyOn {
		c.ctx.Out = append(c.ctx.Out, b...)
		return
	}
	c.pushPubSub(b, lim)
}

// protoNow is the client's protocol, readable from any goroutine.
func (c *Client) protoNow() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.proto
}

// confirmation builds a (un)subscribe reply: [kind, channel or nil, count].
func confirmation(proto int, kind, channel []byte, count int) []byte {
	b := resp.AppendPushLen(nil, proto, 3)
	b = resp.AppendBulk(b, kind)
	if channel == nil {
		b = resp.AppendNull(b, proto)
	} else {
		b = resp.AppendBulk(b, channel)
	}
	return resp.AppendInt(b, int64(count))
}

// outToPending moves the replies produced so far to the push queue, so that
// what the subscription commands (and MONITOR) queue there keeps its order
// after them.
// It reports false when CLIENT REPLY is off or skipping: confirmations then
// go through the normal reply path.
func (c *Client) outToPending() bool {
	if c.replyMode != replyOn {
		return false
	}
	if len(c.ctx.Out) > 0 {
		c.pushPubSub(c.ctx.Out, config.OutputBufferLimit{})
		c.ctx.Out = c.ctx.Out[:0]
	}
	return true
}

// emit sends a confirmation: through the push queue, or as a reply.
func (c *Client) emit(viaQueue bool, b []byte) {
	if viaQueue {
		c.pushPubSub(b, config.OutputBufferLimit{})
	} else {
		c.ctx.Out = append(c.ctx.Out, b...)
	}
}

// setSubCount refreshes the client's subscription count and the registry's
// number of subscribed clients. REQUIRES: r.mu held for writing.
func (c *Client) setSubCount(r *pubsubRegistry) {
	n := int64(c.subs.count() + c.subs.shardCount())
	old := c.subsCount.Swap(n)
	switch {
	case old == 0 && n > 0:
		r.subscribed.Add(1)
	case old > 0 && n == 0:
		r.subscribed.Add(-1)
	}
}

func addSub(m *map[string]map[*Client]struct{}, name string, c *Client) {
	if *m == nil {
		*m = map[string]map[*Client]struct{}{}
	}
	set := (*m)[name]
	if set == nil {
		set = map[*Client]struct{}{}
		(*m)[name] = set
	}
	set[c] = struct{}{}
}

func delSub(m map[string]map[*Client]struct{}, name string, c *Client) (emptied bool) {
	set := m[name]
	delete(set, c)
	if len(set) == 0 {
		delete(m, name)
		return true
	}
	return false
}

func subscribeCommand(ctx *command.Ctx) {
	c := clientOf(ctx)
	r := &c.srv.pubsub
	q := c.outToPending()
	for _, ch := range ctx.Args[1:] {
		r.mu.Lock()
		if c.subs.channels == nil {
			c.subs.channels = map[string]struct{}{}
		}
		if _, ok := c.subs.channels[string(ch)]; !ok {
			c.subs.channels[string(ch)] = struct{}{}
			if len(r.channels[string(ch)]) == 0 {
				r.nchannels.Add(1)
			}
			addSub(&r.channels, string(ch), c)
			c.setSubCount(r)
		}
		c.emit(q, confirmation(ctx.Proto, kindSubscribe, ch, c.subs.count()))
		r.mu.Unlock()
	}
}

func ssubscribeCommand(ctx *command.Ctx) {
	c := clientOf(ctx)
	r := &c.srv.pubsub
	q := c.outToPending()
	for _, ch := range ctx.Args[1:] {
		r.mu.Lock()
		if c.subs.shard == nil {
			c.subs.shard = map[string]struct{}{}
		}
		if _, ok := c.subs.shard[string(ch)]; !ok {
			c.subs.shard[string(ch)] = struct{}{}
			if len(r.shard[string(ch)]) == 0 {
				r.nshard.Add(1)
			}
			addSub(&r.shard, string(ch), c)
			c.setSubCount(r)
		}
		c.emit(q, confirmation(ctx.Proto, kindSSubscribe, ch, c.subs.shardCount()))
		r.mu.Unlock()
	}
}

func psubscribeCommand(ctx *command.Ctx) {
	c := clientOf(ctx)
	r := &c.srv.pubsub
	q := c.outToPending()
	for _, p := range ctx.Args[1:] {
		r.mu.Lock()
		found := false
		for _, x := range c.subs.patterns {
			if x == string(p) {
				found = true
				break
			}
		}
		if !found {
			c.subs.patterns = append(c.subs.patterns, string(p))
			if len(r.patterns[string(p)]) == 0 {
				r.npatterns.Add(1)
			}
			addSub(&r.patterns, string(p), c)
			c.setSubCount(r)
		}
		c.emit(q, confirmation(ctx.Proto, kindPSubscribe, p, c.subs.count()))
		r.mu.Unlock()
	}
}

// unsubscribeChannel removes one channel subscription. REQUIRES: r.mu held
// for writing.
func (c *Client) unsubscribeChannel(r *pubsubRegistry, ch string) bool {
	if _, ok := c.subs.channels[ch]; !ok {
		return false
	}
	delete(c.subs.channels, ch)
	if delSub(r.channels, ch, c) {
		r.nchannels.Add(-1)
	}
	c.setSubCount(r)
	return true
}

func (c *Client) unsubscribeShard(r *pubsubRegistry, ch string) bool {
	if _, ok := c.subs.shard[ch]; !ok {
		return false
	}
	delete(c.subs.shard, ch)
	if delSub(r.shard, ch, c) {
		r.nshard.Add(-1)
	}
	c.setSubCount(r)
	return true
}

func (c *Client) unsubscribePattern(r *pubsubRegistry, p string) bool {
	for i, x := range c.subs.patterns {
		if x == p {
			c.subs.patterns = append(c.subs.patterns[:i], c.subs.patterns[i+1:]...)
			if delSub(r.patterns, p, c) {
				r.npatterns.Add(-1)
			}
			c.setSubCount(r)
			return true
		}
	}
	return false
}

// unsubscribeGeneric is UNSUBSCRIBE, SUNSUBSCRIBE and PUNSUBSCRIBE.
func unsubscribeGeneric(ctx *command.Ctx, kind []byte) {
	c := clientOf(ctx)
	r := &c.srv.pubsub
	q := c.outToPending()
	count := func() int {
		if string(kind) == "sunsubscribe" {
			return c.subs.shardCount()
		}
		return c.subs.count()
	}
	remove := func(name string) {
		switch string(kind) {
		case "unsubscribe":
			c.unsubscribeChannel(r, name)
		case "sunsubscribe":
			c.unsubscribeShard(r, name)
		default:
			c.unsubscribePattern(r, name)
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	names := make([][]byte, 0, len(ctx.Args)-1)
	if len(ctx.Args) > 1 {
		names = append(names, ctx.Args[1:]...)
	} else {
		var all []string
		switch string(kind) {
		case "unsubscribe":
			for ch := range c.subs.channels {
				all = append(all, ch)
			}
		case "sunsubscribe":
			for ch := range c.subs.shard {
				all = append(all, ch)
			}
		default:
			all = append(all, c.subs.patterns...)
		}
		for _, n := range all {
			names = append(names, []byte(n))
		}
		if len(names) == 0 {
			c.emit(q, confirmation(ctx.Proto, kind, nil, count()))
			return
		}
	}
	for _, n := range names {
		remove(string(n))
		c.emit(q, confirmation(ctx.Proto, kind, n, count()))
	}
}

// unsubscribeAll drops every subscription of c without replies (RESET, a
// closing connection).
func (c *Client) unsubscribeAll() {
	if c.subsCount.Load() == 0 {
		return
	}
	r := &c.srv.pubsub
	r.mu.Lock()
	for ch := range c.subs.channels {
		c.unsubscribeChannel(r, ch)
	}
	for ch := range c.subs.shard {
		c.unsubscribeShard(r, ch)
	}
	for len(c.subs.patterns) > 0 {
		c.unsubscribePattern(r, c.subs.patterns[0])
	}
	r.mu.Unlock()
}

func publishCommand(ctx *command.Ctx) {
	c := clientOf(ctx)
	n := c.srv.publishLocal(c, ctx.Args[1], ctx.Args[2])
	c.srv.clusterPublish(ctx.Args[1], ctx.Args[2], false) // to every node
	ctx.Int(int64(n))
}

func spublishCommand(ctx *command.Ctx) {
	c := clientOf(ctx)
	n := c.srv.PublishShardLocal(ctx.Args[1], ctx.Args[2])
	c.srv.clusterPublish(ctx.Args[1], ctx.Args[2], true) // to my shard
	ctx.Int(int64(n))
}

// channelsMatching lists the channels of m matching pattern (all when nil).
func channelsMatching(m map[string]map[*Client]struct{}, pattern []byte) []string {
	var out []string
	for ch := range m {
		if pattern == nil || glob.Match(pattern, []byte(ch), false) {
			out = append(out, ch)
		}
	}
	sort.Strings(out)
	return out
}

func pubsubChannels(ctx *command.Ctx, shard bool) {
	r := &clientOf(ctx).srv.pubsub
	var pattern []byte
	if len(ctx.Args) > 3 {
		ctx.Err(command.ErrArity(ctx.Spec.FullName()))
		return
	}
	if len(ctx.Args) == 3 {
		pattern = ctx.Args[2]
	}
	r.mu.RLock()
	m := r.channels
	if shard {
		m = r.shard
	}
	chs := channelsMatching(m, pattern)
	r.mu.RUnlock()
	ctx.ArrayLen(len(chs))
	for _, ch := range chs {
		ctx.BulkString(ch)
	}
}

func pubsubNumsub(ctx *command.Ctx, shard bool) {
	r := &clientOf(ctx).srv.pubsub
	r.mu.RLock()
	defer r.mu.RUnlock()
	m := r.channels
	if shard {
		m = r.shard
	}
	ctx.MapLen(len(ctx.Args) - 2)
	for _, ch := range ctx.Args[2:] {
		ctx.Bulk(ch)
		ctx.Int(int64(len(m[string(ch)])))
	}
}

func pubsubNumpat(ctx *command.Ctx) {
	ctx.Int(clientOf(ctx).srv.pubsub.npatterns.Load())
}

func pubsubHelp(ctx *command.Ctx) {
	command.HelpReply(ctx, "PUBSUB", []string{
		"CHANNELS [<pattern>]",
		"    Return the currently active channels matching a <pattern> (default: '*').",
		"NUMPAT",
		"    Return number of subscriptions to patterns.",
		"NUMSUB [<channel> ...]",
		"    Return the number of subscribers for the specified channels, excluding",
		"    pattern subscriptions(default: no channels).",
		"SHARDCHANNELS [<pattern>]",
		"    Return the currently active shard level channels matching a <pattern> (default: '*').",
		"SHARDNUMSUB [<shardchannel> ...]",
		"    Return the number of subscribers for the specified shard level channel(s)",
	})
}

// pubsubFamily is the Pub/Sub commands.
func (s *Server) pubsubFamily() command.Family {
	return command.Family{
		Commands: map[string]command.Handler{
			"subscribe":    subscribeCommand,
			"unsubscribe":  func(ctx *command.Ctx) { unsubscribeGeneric(ctx, kindUnsubscribe) },
			"psubscribe":   psubscribeCommand,
			"punsubscribe": func(ctx *command.Ctx) { unsubscribeGeneric(ctx, kindPUnsubscribe) },
			"ssubscribe":   ssubscribeCommand,
			"sunsubscribe": func(ctx *command.Ctx) { unsubscribeGeneric(ctx, kindSUnsubscribe) },
			"publish":      publishCommand,
			"spublish":     spublishCommand,
			"pubsub":       nil,
		},
		Subcommands: map[string]map[string]command.Handler{
			"pubsub": {
				"channels":      func(ctx *command.Ctx) { pubsubChannels(ctx, false) },
				"shardchannels": func(ctx *command.Ctx) { pubsubChannels(ctx, true) },
				"numsub":        func(ctx *command.Ctx) { pubsubNumsub(ctx, false) },
				"shardnumsub":   func(ctx *command.Ctx) { pubsubNumsub(ctx, true) },
				"numpat":        pubsubNumpat,
				"help":          pubsubHelp,
			},
		},
	}
}

// pubsubContextError is the RESP2 subscriber-mode restriction, or "".
func (c *Client) pubsubContextError(spec *command.Spec) string {
	if c.proto != resp.RESP2 || !c.isPubSub() {
		return ""
	}
	switch spec.Name {
	case "ping", "subscribe", "ssubscribe", "unsubscribe", "sunsubscribe", "psubscribe", "punsubscribe", "quit", "reset":
		return ""
	}
	return "ERR Can't execute '" + spec.FullName() + "': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context"
}

// pushPubSub queues bytes on the client's push queue under the pubsub
// output limits: past the hard limit, or past the soft limit for longer
// than its seconds, the client is closed (Redis's
// checkClientOutputBufferLimits). A zero limit is unlimited.
func (c *Client) pushPubSub(b []byte, lim config.OutputBufferLimit) {
	c.pmu.Lock()
	if c.killed.Load() {
		c.pmu.Unlock()
		return
	}
	size := int64(len(c.pending) + c.inflight + len(b))
	over := lim.Hard > 0 && size > lim.Hard
	if !over && lim.Soft > 0 && size > lim.Soft {
		now := time.Now().Unix()
		if c.softSince == 0 {
			c.softSince = now
		} else if now-c.softSince > lim.SoftSeconds {
			over = true
		}
	} else if lim.Soft > 0 {
		c.softSince = 0
	}
	if over {
		c.pmu.Unlock()
		// Not logOutputLimitClose: its client line reads the registry,
		// which publishers hold for reading while they deliver, and a
		// second read lock waits behind a waiting writer.
		c.srv.log.Warn("Client id=" + strconv.FormatUint(c.id, 10) + " addr=" + c.addr + " scheduled to be closed ASAP for overcoming of output buffer limits.")
		c.kill()
		return
	}
	c.pending = append(c.pending, b...)
	start := !c.pushing
	c.pushing = true
	c.pmu.Unlock()
	if start {
		go c.pushLoop()
	}
}

// Keyspace notifications.

// notifyFlags caches the parsed notify-keyspace-events of a configuration.
type notifyFlags struct {
	src   string
	flags command.NotifyClass
}

// Notify fires a keyspace notification: __keyspace@<db>__:<key> with the
// event, and __keyevent@<db>__:<event> with the key, as notify-keyspace-
// events selects (Redis's notifyKeyspaceEvent).
func (s *Server) Notify(class command.NotifyClass, event string, db int, key []byte) {
	s.notify(nil, class, event, db, key)
}

// notify is Notify for an event of the command self is running (nil for
// none): see publishLocal.
func (s *Server) notify(self *Client, class command.NotifyClass, event string, db int, key []byte) {
	src := s.cfg.Get().NotifyKeyspaceEvents
	if src == "" || s.pubsub.subscribed.Load() == 0 {
		return
	}
	nf := s.notifyCache.Load()
	if nf == nil || nf.src != src {
		f := config.KeyspaceEventFlags(src)
		if f < 0 {
			f = 0
		}
		nf = &notifyFlags{src: src, flags: command.NotifyClass(f)}
		s.notifyCache.Store(nf)
	}
	flags := nf.flags
	if flags&class == 0 {
		return
	}
	dbs := strconv.Itoa(db)
	if flags&command.NotifyKeyspace != 0 {
		ch := make([]byte, 0, 16+len(dbs)+len(key))
		ch = append(ch, "__keyspace@"...)
		ch = append(ch, dbs...)
		ch = append(ch, "__:"...)
		ch = append(ch, key...)
		s.publishLocal(self, ch, []byte(event))
	}
	if flags&command.NotifyKeyevent != 0 {
		ch := make([]byte, 0, 16+len(dbs)+len(event))
		ch = append(ch, "__keyevent@"...)
		ch = append(ch, dbs...)
		ch = append(ch, "__:"...)
		ch = append(ch, event...)
		s.publishLocal(self, ch, key)
	}
}

// pingSubscribed is PING for a RESP2 client in subscriber mode: a
// ["pong", message] array, as Redis replies there.
func pingSubscribed(ctx *command.Ctx) bool {
	c := clientOf(ctx)
	if ctx.Proto != resp.RESP2 || !c.isPubSub() {
		return false
	}
	ctx.ArrayLen(2)
	ctx.BulkString("pong")
	if len(ctx.Args) == 2 {
		ctx.Bulk(ctx.Args[1])
	} else {
		ctx.BulkString("")
	}
	return true
}
