package latency

import (
	"fmt"
	"strings"
)

// DoctorConfig is what LATENCY DOCTOR's advice depends on besides the
// recorded spikes.
type DoctorConfig struct {
	Threshold            int64 // latency-monitor-threshold, milliseconds
	SlowlogLogSlowerThan int64 // microseconds; negative disables the slow log
	Hz                   int
	AppendFsyncAlways    bool
	AnonHugePages        bool // the process has transparent huge pages
}

// The advice, in the order the report gives it; Redis 7.0's texts.
const (
	adviseSlowlogEnabled = iota
	adviseSlowlogTuning
	adviseSlowlogInspect
	adviseScheduler
	adviseLocalDisk
	adviseSSD
	adviseDataWriteback
	adviseDiskContention
	adviseNoAppendfsync
	adviseRelaxFsync
	adviseWriteLoadInfo
	adviseHz
	adviseLargeObjects
	adviseMassEviction
	adviseDisableTHP
	adviceKinds
)

// eventAdvice is the advice each event class leads to, and how many
// pieces of advice Redis counts for it (the count only decides whether
// the report has an advice section at all).
var eventAdvice = map[string][]int{
	"fast-command":            {adviseScheduler},
	"aof-write-pending-fsync": {adviseLocalDisk, adviseDiskContention, adviseSSD, adviseDataWriteback},
	"aof-write-active-child":  {adviseNoAppendfsync, adviseDataWriteback, adviseSSD},
	"aof-write-alone":         {adviseLocalDisk, adviseDataWriteback, adviseSSD},
	"aof-fsync-always":        {adviseRelaxFsync},
	"aof-fstat":               {adviseDiskContention, adviseLocalDisk},
	"rdb-unlink-temp-file":    {adviseDiskContention, adviseLocalDisk},
	"aof-rewrite-diff-write":  {adviseWriteLoadInfo, adviseDataWriteback, adviseSSD, adviseLocalDisk},
	"aof-rename":              {adviseWriteLoadInfo, adviseDataWriteback, adviseSSD, adviseLocalDisk},
	"expire-cycle":            {adviseHz, adviseLargeObjects},
	"eviction-del":            {adviseLargeObjects},
	"eviction-cycle":          {adviseMassEviction},
}

// Doctor returns LATENCY DOCTOR's report at Unix second now: every event's
// statistics, then advice, as Redis's createLatencyReport.
func (m *Monitor) Doctor(cfg DoctorConfig, now int64) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.order) == 0 && cfg.Threshold == 0 {
		return "I'm sorry, Dave, I can't do that. Latency monitoring is disabled in this Redis instance. You may use \"CONFIG SET latency-monitor-threshold <milliseconds>.\" in order to enable it. If we weren't in a deep space mission I'd suggest to take a look at https://redis.io/topics/latency-monitor.\n"
	}
	var b strings.Builder
	var advise [adviceKinds]bool
	advices := 0
	for i, name := range m.order {
		ts := m.events[name]
		if i == 0 {
			b.WriteString("Dave, I have observed latency spikes in this Redis instance. You don't mind talking about it, do you Dave?\n\n")
		}
		st := ts.analyze(now)
		fmt.Fprintf(&b, "%d. %s: %d latency spikes (average %dms, mean deviation %dms, period %.2f sec). Worst all time event %dms.",
			i+1, name, st.samples, st.avg, st.mad, float64(st.period)/float64(st.samples), ts.max)
		// Redis compares event names without case.
		lower := strings.ToLower(name)
		if lower == "command" {
			if cfg.SlowlogLogSlowerThan < 0 {
				advise[adviseSlowlogEnabled] = true
				advices++
			} else if cfg.SlowlogLogSlowerThan/1000 > cfg.Threshold {
				advise[adviseSlowlogTuning] = true
				advices++
			}
			advise[adviseSlowlogInspect] = true
			advise[adviseLargeObjects] = true
			advices += 2
		}
		for _, a := range eventAdvice[lower] {
			advise[a] = true
			advices++
		}
		b.WriteByte('\n')
	}
	if cfg.AnonHugePages {
		advise[adviseDisableTHP] = true
		advices++
	}
	switch {
	case len(m.order) == 0 && advices == 0:
		b.WriteString("Dave, no latency spike was observed during the lifetime of this Redis instance, not in the slightest bit. I honestly think you ought to sit down calmly, take a stress pill, and think things over.\n")
	case len(m.order) > 0 && advices == 0:
		b.WriteString("\nWhile there are latency events logged, I'm not able to suggest any easy fix. Please use the Redis community to get some help, providing this report in your help request.\n")
	default:
		b.WriteString("\nI have a few advices for you:\n\n")
		for a := 0; a < adviceKinds; a++ {
			if advise[a] {
				b.WriteString(adviceText(a, cfg))
			}
		}
	}
	return b.String()
}

// adviceText is one piece of advice, "" when the configuration makes it
// moot (Redis checks some settings only when writing the advice).
func adviceText(a int, cfg DoctorConfig) string {
	switch a {
	case adviseSlowlogEnabled:
		return fmt.Sprintf("- There are latency issues with potentially slow commands you are using. Try to enable the Slow Log Redis feature using the command 'CONFIG SET slowlog-log-slower-than %d'. If the Slow log is disabled Redis is not able to log slow commands execution for you.\n", uint64(cfg.Threshold)*1000)
	case adviseSlowlogTuning:
		return fmt.Sprintf("- Your current Slow Log configuration only logs events that are slower than your configured latency monitor threshold. Please use 'CONFIG SET slowlog-log-slower-than %d'.\n", uint64(cfg.Threshold)*1000)
	case adviseSlowlogInspect:
		return "- Check your Slow Log to understand what are the commands you are running which are too slow to execute. Please check https://redis.io/commands/slowlog for more information.\n"
	case adviseScheduler:
		return "- The system is slow to execute Redis code paths not containing system calls. This usually means the system does not provide Redis CPU time to run for long periods. You should try to:\n" +
			"  1) Lower the system load.\n" +
			"  2) Use a computer / VM just for Redis if you are running other software in the same system.\n" +
			"  3) Check if you have a \"noisy neighbour\" problem.\n" +
			"  4) Check with 'redis-cli --intrinsic-latency 100' what is the intrinsic latency in your system.\n" +
			"  5) Check if the problem is allocator-related by recompiling Redis with MALLOC=libc, if you are using Jemalloc. However this may create fragmentation problems.\n"
	case adviseLocalDisk:
		return "- It is strongly advised to use local disks for persistence, especially if you are using AOF. Remote disks provided by platform-as-a-service providers are known to be slow.\n"
	case adviseSSD:
		return "- SSD disks are able to reduce fsync latency, and total time needed for snapshotting and AOF log rewriting (resulting in smaller memory usage). With extremely high write load SSD disks can be a good option. However Redis should perform reasonably with high load using normal disks. Use this advice as a last resort.\n"
	case adviseDataWriteback:
		return "- Mounting ext3/4 filesystems with data=writeback can provide a performance boost compared to data=ordered, however this mode of operation provides less guarantees, and sometimes it can happen that after a hard crash the AOF file will have a half-written command at the end and will require to be repaired before Redis restarts.\n"
	case adviseDiskContention:
		return "- Try to lower the disk contention. This is often caused by other disk intensive processes running in the same computer (including other Redis instances).\n"
	case adviseNoAppendfsync:
		return "- Assuming from the point of view of data safety this is viable in your environment, you could try to enable the 'no-appendfsync-on-rewrite' option, so that fsync will not be performed while there is a child rewriting the AOF file or producing an RDB file (the moment where there is high disk contention).\n"
	case adviseRelaxFsync:
		if cfg.AppendFsyncAlways {
			return "- Your fsync policy is set to 'always'. It is very hard to get good performances with such a setup, if possible try to relax the fsync policy to 'onesec'.\n"
		}
	case adviseWriteLoadInfo:
		return "- Latency during the AOF atomic rename operation or when the final difference is flushed to the AOF file at the end of the rewrite, sometimes is caused by very high write load, causing the AOF buffer to get very large. If possible try to send less commands to accomplish the same work, or use Lua scripts to group multiple operations into a single EVALSHA call.\n"
	case adviseHz:
		if cfg.Hz < 100 {
			return "- In order to make the Redis keys expiring process more incremental, try to set the 'hz' configuration parameter to 100 using 'CONFIG SET hz 100'.\n"
		}
	case adviseLargeObjects:
		return "- Deleting, expiring or evicting (because of maxmemory policy) large objects is a blocking operation. If you have very large objects that are often deleted, expired, or evicted, try to fragment those objects into multiple smaller objects.\n"
	case adviseMassEviction:
		return "- Sudden changes to the 'maxmemory' setting via 'CONFIG SET', or allocation of large objects via sets or sorted sets intersections, STORE option of SORT, Redis Cluster large keys migrations (RESTORE command), may create sudden memory pressure forcing the server to block trying to evict keys. \n"
	case adviseDisableTHP:
		return "- I detected a non zero amount of anonymous huge pages used by your process. This creates very serious latency events in different conditions, especially when Redis is persisting on disk. To disable THP support use the command 'echo never > /sys/kernel/mm/transparent_hugepage/enabled', make sure to also add it into /etc/rc.local so that the command will be executed again after a reboot. Note that even if you have already disabled THP, you still need to restart the Redis process to get rid of the huge pages already created.\n"
	}
	return ""
}
