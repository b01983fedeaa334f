package server

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// minReservedFDs is Redis's CONFIG_MIN_RESERVED_FDS: the descriptors kept
// for listeners, files and the cluster bus beyond one per client.
const minReservedFDs = 32

// fdLimitFit is what fitMaxclients found.
type fdLimitFit struct {
	maxclients int      // what the open-files limit allows (the request when it does)
	warnings   []string // Redis's warnings when it had to lower maxclients
	notice     string   // the limit was raised
	fatal      string   // not even the reserved descriptors fit
}

// fitMaxclients is Redis's adjustOpenFilesLimit: it raises the open-files
// limit to maxclients+32 when it can; otherwise to the highest value it can
// get of the form maxclients+32-16k (Redis tries those one after the other;
// the limit a process may set has one ceiling, so at most three tries find
// the same one), and maxclients becomes that limit less 32. Unlike Redis it
// never lowers the hard limit (the Go runtime has already raised the soft
// limit to it).
func fitMaxclients(maxclients int) fdLimitFit {
	want := uint64(maxclients) + minReservedFDs
	var lim unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
		return fdLimitFit{maxclients: 1024 - minReservedFDs, warnings: []string{fmt.Sprintf(
			"Unable to obtain the current NOFILE limit (%s), assuming 1024 and setting the max clients configuration accordingly.", err)}}
	}
	old := lim.Cur
	if old >= want {
		return fdLimitFit{maxclients: maxclients}
	}
	set := func(v uint64) error {
		return unix.Setrlimit(unix.RLIMIT_NOFILE, &unix.Rlimit{Cur: v, Max: max(v, lim.Max)})
	}
	best := old
	lastErr := set(want)
	if lastErr == nil {
		return fdLimitFit{maxclients: maxclients, notice: fmt.Sprintf(
			"Increased maximum number of open files to %d (it was originally set to %d).", want, old)}
	}
	// A privileged process may go up to fs.nr_open, any process up to its
	// hard limit.
	for _, ceiling := range []uint64{nrOpen(), lim.Max} {
		if ceiling >= want || ceiling <= old {
			continue
		}
		v := want - (want-ceiling+15)/16*16 // the highest maxclients+32-16k <= ceiling
		if v <= old {
			continue
		}
		if err := set(v); err != nil {
			lastErr = err
			continue
		}
		best = v
		break
	}
	if best <= minReservedFDs {
		return fdLimitFit{fatal: fmt.Sprintf("Your current 'ulimit -n' of %d is not enough for the server to start. Please increase your open file limit to at least %d. Exiting.", old, want)}
	}
	fitted := int(best - minReservedFDs)
	return fdLimitFit{maxclients: fitted, warnings: []string{
		fmt.Sprintf("You requested maxclients of %d requiring at least %d max file descriptors.", maxclients, want),
		fmt.Sprintf("Server can't set maximum open files to %d because of OS error: %s.", want, errnoText(lastErr)),
		fmt.Sprintf("Current maximum open files is %d. maxclients has been reduced to %d to compensate for low ulimit. If you need higher maxclients increase 'ulimit -n'.", best, fitted),
	}}
}

// nrOpen is fs.nr_open, the most descriptors a privileged process may
// allow itself (0 when unknown).
func nrOpen() uint64 {
	b, err := os.ReadFile("/proc/sys/fs/nr_open")
	if err != nil {
		return 0
	}
	n, _ := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
	return n
}

// errnoText is strerror's text for err, as Redis prints it ("Operation not
// permitted"): Go's texts are strerror's in lower case.
func errnoText(err error) string {
	s := err.Error()
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
