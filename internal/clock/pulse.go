package clock

import (
	"sync"
	"time"
)

// PulsePeriod is the period of the process's pulse: Redis's default hz (10)
// and its clusterCron period.
const PulsePeriod = 100 * time.Millisecond

// The pulse is one ticker that the node's periodic duties share (the
// server cron, the cluster driver's tick and its watchdog, the replication
// cron). Each time.Ticker of its own wakes the process at its own moment,
// and on this kind of VM one wake-up of an idle Go process costs about
// seven context switches (the poller's thread, the runtime's monitor
// thread woken by the first system call and polling for a while after
// it): an idle cluster node with four tickers made about 280 a second,
// against Redis's 13. On one pulse the duties run back to back in one
// wake-up.
var pulse struct {
	mu     sync.Mutex
	subs   map[chan time.Time]struct{}
	ticker *time.Ticker
	stop   chan struct{}
}

// Pulse subscribes to the process's pulse: ch receives a tick every
// PulsePeriod, at the same moment as every other subscriber. As with
// time.Ticker, a tick the receiver is not ready for is dropped. cancel
// unsubscribes; the pulse's timer runs only while it has subscribers.
func Pulse() (ch <-chan time.Time, cancel func()) {
	c := make(chan time.Time, 1)
	pulse.mu.Lock()
	defer pulse.mu.Unlock()
	if pulse.subs == nil {
		pulse.subs = make(map[chan time.Time]struct{})
	}
	pulse.subs[c] = struct{}{}
	if pulse.ticker == nil {
		pulse.ticker = time.NewTicker(PulsePeriod)
		pulse.stop = make(chan struct{})
		go beat(pulse.ticker, pulse.stop)
	}
	var once sync.Once
	return c, func() { once.Do(func() { unsubscribe(c) }) }
}

func unsubscribe(c chan time.Time) {
	pulse.mu.Lock()
	defer pulse.mu.Unlock()
	delete(pulse.subs, c)
	if len(pulse.subs) == 0 && pulse.ticker != nil {
		pulse.ticker.Stop()
		close(pulse.stop)
		pulse.ticker, pulse.stop = nil, nil
	}
}

// beat fans one ticker out to the subscribers until stop is closed.
func beat(t *time.Ticker, stop chan struct{}) {
	for {
		select {
		case <-stop:
			return
		case now := <-t.C:
			pulse.mu.Lock()
			for c := range pulse.subs {
				select {
				case c <- now:
				default:
				}
			}
			pulse.mu.Unlock()
		}
	}
}
