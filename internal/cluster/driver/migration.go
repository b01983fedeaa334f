package driver

import (
	"context"

	"github.com/reefkv/reef/internal/cluster/state"
)

// TakeSlots runs state.Machine.TakeSlots (the target's side of an atomic
// slot migration's handoff) on the driver goroutine and returns its reply
// once nodes.conf is fsynced and the PONG announcing the new owner is
// queued on the bus.
func (d *Driver) TakeSlots(ctx context.Context, from state.NodeID, slots []int) (state.Reply, error) {
	return d.migrationOp(ctx, func(now int64) state.Reply { return d.m.TakeSlots(now, from, slots) })
}

// GiveSlots runs state.Machine.GiveSlots (the source's side of the
// handoff) on the driver goroutine and returns once nodes.conf reflects it.
func (d *Driver) GiveSlots(ctx context.Context, to state.NodeID, slots []int, epoch uint64) (state.Reply, error) {
	return d.migrationOp(ctx, func(now int64) state.Reply { return d.m.GiveSlots(now, to, slots, epoch) })
}

func (d *Driver) migrationOp(ctx context.Context, op func(now int64) state.Reply) (state.Reply, error) {
	var r state.Reply
	var fatal error
	err := d.call(ctx, func() {
		r = op(d.ms())
		if err := d.apply(false); err != nil {
			fatal = err
		}
	})
	if fatal != nil {
		return nil, fatal
	}
	return r, err
}

// DoReplicated executes a CLUSTER subcommand my master propagated to me
// (CLUSTER SETSLOT): state.Command.FromMaster is set, so a replica records
// its master's open slots.
func (d *Driver) DoReplicated(ctx context.Context, args []string) (state.Reply, error) {
	return d.migrationOp(ctx, func(now int64) state.Reply {
		return d.m.Handle(now, state.Command{Args: args, FromMaster: true})
	})
}
