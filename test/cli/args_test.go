package cli

import "testing"

// TestClusterArgErrors: command lines redis-cli --cluster refuses before
// talking to any node give reef-cli the same output and exit code.
func TestClusterArgErrors(t *testing.T) {
	t.Parallel()
	lines := [][]string{
		{"--cluster", "rebalance", "127.0.0.1:1", "--cluster-weight", "a=1", "--cluster-weight", "b=1", "--bogus"},
		{"--cluster", "rebalance", "127.0.0.1:1", "--cluster-weight"},
		{"--cluster", "reshard", "127.0.0.1:1", "--cluster-slots"},
	}
	for _, args := range lines {
		want := runCLI(t, redisCLI(t), "", args...)
		got := runCLI(t, reefCLI(t), "", args...)
		if got.code != want.code || got.out != want.out || got.err != want.err {
			t.Errorf("%q:\nredis-cli (%d): %q %q\nreef-cli  (%d): %q %q", args, want.code, want.out, want.err, got.code, got.out, got.err)
		}
	}
}
