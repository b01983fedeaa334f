package server

import (
	"strings"
	"testing"
	"time"

	"github.com/reefkv/reef/internal/resp"
	"github.com/reefkv/reef/internal/testutil"
)

// An event loop parses a pipelined read ahead in batches (to prefetch the
// keys). These cases send one write mixing commands whose effects change
// how the next ones are read or run, and require the replies Redis gives.

// pipelineReplies sends the commands in one write and reads n replies,
// formatted one per element. after, when set, runs once the first
// waitFor replies have arrived (to unblock a blocked command).
func pipelineReplies(t *testing.T, addr string, cmds [][]string, n, waitFor int, after func()) []string {
	t.Helper()
	c := testutil.MustDial(t, addr)
	var buf []byte
	for _, cmd := range cmds {
		buf = resp.AppendCommand(buf, cmd...)
	}
	if err := c.WriteRaw(buf); err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(20 * time.Second))
	var out []string
	for i := 0; i < n; i++ {
		if i == waitFor && after != nil {
			after()
		}
		v, err := c.R.ReadReply()
		if err != nil {
			out = append(out, "read error: "+err.Error())
			break
		}
		out = append(out, formatReply(v))
	}
	return out
}

func formatReply(v resp.Value) string {
	if v.Elems != nil || v.Kind == resp.KindArray {
		parts := make([]string, len(v.Elems))
		for i, e := range v.Elems {
			parts[i] = formatReply(e)
		}
		return string(v.Kind) + "[" + strings.Join(parts, " ") + "]"
	}
	return string(v.Kind) + v.Text()
}

// sameReplies runs check against a fresh reef-server and redis-server
// started with args, and requires the same result.
func sameReplies(t *testing.T, args []string, check func(t *testing.T, addr string) []string) {
	t.Helper()
	reef := check(t, testutil.StartReef(t, args...).Addr())
	redis := check(t, testutil.StartRedis(t, args...).Addr())
	if strings.Join(reef, "\n") != strings.Join(redis, "\n") {
		t.Errorf("replies differ\nreef:  %q\nredis: %q", reef, redis)
	}
}

func TestPipelineAuthChangesLimits(t *testing.T) {
	// AUTH lifts the unauthenticated request limits for the very next
	// command of the same read; RESET puts them back.
	mset := []string{"MSET"}
	for i := 0; i < 6; i++ {
		mset = append(mset, "k"+string(rune('a'+i)), "v")
	}
	cmds := [][]string{{"AUTH", "pw"}, mset, {"GET", "ka"}, {"RESET"}, mset}
	sameReplies(t, []string{"--requirepass", "pw"}, func(t *testing.T, addr string) []string {
		return pipelineReplies(t, addr, cmds, 5, -1, nil)
	})
}

func TestPipelineSelect(t *testing.T) {
	cmds := [][]string{
		{"SET", "k", "a"}, {"SELECT", "1"}, {"SET", "k", "b"}, {"GET", "k"},
		{"SELECT", "0"}, {"GET", "k"}, {"MGET", "k", "nope", "k"},
	}
	sameReplies(t, nil, func(t *testing.T, addr string) []string {
		return pipelineReplies(t, addr, cmds, len(cmds), -1, nil)
	})
}

func TestPipelineAroundBlockingCommand(t *testing.T) {
	// The commands after BLPOP in the same read run once it is served, in
	// order, on whatever serves the client meanwhile.
	cmds := [][]string{
		{"RPUSH", "other", "x"}, {"BLPOP", "q", "0"}, {"SET", "after", "1"},
		{"INCR", "after"}, {"GET", "after"}, {"LPOP", "other"},
	}
	sameReplies(t, nil, func(t *testing.T, addr string) []string {
		pusher := testutil.MustDial(t, addr)
		return pipelineReplies(t, addr, cmds, len(cmds), 1, func() {
			// Push only once BLPOP is really blocked.
			testutil.WaitFor(t, 10*time.Second, "a blocked client", func() bool {
				v, err := pusher.Do("INFO", "clients")
				return err == nil && strings.Contains(v.Text(), "blocked_clients:1")
			})
			if v, err := pusher.Do("RPUSH", "q", "v"); err != nil || v.Text() != "1" {
				t.Errorf("RPUSH q: %q %v", v.Text(), err)
			}
		})
	})
}
