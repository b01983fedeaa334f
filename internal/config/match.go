package config

import "github.com/reefkv/reef/internal/glob"

// stringMatch is Redis's stringmatchlen, the glob matcher CONFIG GET uses:
// '*', '?', '[...]' with '^' negation and ranges, and '\' escapes. A '['
// without ']' matches up to the end of the pattern, as in Redis.
func stringMatch(pattern, s string, nocase bool) bool {
	return glob.MatchString(pattern, s, nocase)
}

func lowerByte(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}
