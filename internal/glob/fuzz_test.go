package glob

import "testing"

// token is one element of a pattern, as stringmatchlen reads it.
type token struct {
	kind     byte // 'c' literal, '?' any byte, '*' any run, '[' class
	lit      byte
	items    []classItem
	not      bool
	unclosed bool // a class that runs to the end of the pattern
}

type classItem struct {
	lo, hi  byte
	escaped bool // '\x' inside a class: compared exactly, even with nocase
}

// tokenize reads a pattern the way stringmatchlen walks it.
func tokenize(p []byte) []token {
	var ts []token
	for len(p) > 0 {
		switch p[0] {
		case '*':
			ts = append(ts, token{kind: '*'})
		case '?':
			ts = append(ts, token{kind: '?'})
		case '[':
			t := token{kind: '['}
			p = p[1:]
			if len(p) > 0 && p[0] == '^' {
				t.not = true
				p = p[1:]
			}
			for {
				if len(p) == 0 {
					t.unclosed = true
					break
				}
				if p[0] == '\\' && len(p) >= 2 {
					t.items = append(t.items, classItem{p[1], p[1], true})
					p = p[2:]
					continue
				}
				if p[0] == ']' {
					break
				}
				if len(p) >= 3 && p[1] == '-' {
					lo, hi := p[0], p[2]
					if lo > hi {
						lo, hi = hi, lo
					}
					t.items = append(t.items, classItem{lo, hi, false})
					p = p[3:]
					continue
				}
				t.items = append(t.items, classItem{p[0], p[0], false})
				p = p[1:]
			}
			ts = append(ts, t)
			if t.unclosed {
				return ts
			}
		case '\\':
			if len(p) >= 2 {
				p = p[1:]
			}
			ts = append(ts, token{kind: 'c', lit: p[0]})
		default:
			ts = append(ts, token{kind: 'c', lit: p[0]})
		}
		p = p[1:]
	}
	return ts
}

func (t token) matches(c byte, nocase bool) bool {
	switch t.kind {
	case '?':
		return true
	case 'c':
		if nocase {
			return lower(t.lit) == lower(c)
		}
		return t.lit == c
	}
	in := false
	for _, it := range t.items {
		switch {
		case it.escaped:
			in = in || c == it.lo
		case it.lo != it.hi:
			lo, hi, x := it.lo, it.hi, c
			if nocase {
				lo, hi, x = lower(lo), lower(hi), lower(c)
			}
			in = in || (x >= lo && x <= hi)
		case nocase:
			in = in || lower(it.lo) == lower(c)
		default:
			in = in || it.lo == c
		}
	}
	return in != t.not
}

// referenceMatch is a dynamic-programming glob matcher over the tokens:
// no recursion, no pruning, so it checks the pruned backtracking of match.
// As in Redis, an empty string matches only an empty pattern.
func referenceMatch(p, s []byte, nocase bool) bool {
	if len(s) == 0 {
		return len(p) == 0
	}
	ts := tokenize(p)
	// ok[i][j]: tokens i.. match s[j:].
	ok := make([][]bool, len(ts)+1)
	for i := range ok {
		ok[i] = make([]bool, len(s)+1)
	}
	ok[len(ts)][len(s)] = true
	for i := len(ts) - 1; i >= 0; i-- {
		for j := len(s); j >= 0; j-- {
			t := ts[i]
			if t.kind == '*' {
				ok[i][j] = ok[i+1][j] || (j < len(s) && ok[i][j+1])
				continue
			}
			ok[i][j] = j < len(s) && t.matches(s[j], nocase) && ok[i+1][j+1]
		}
	}
	return ok[0][0]
}

// FuzzMatch checks stringmatchlen's backtracking (with its pruning of
// longer tails, the CVE-2022-36021 fix) against the dynamic-programming
// reference on short patterns and strings.
func FuzzMatch(f *testing.F) {
	for _, seed := range []struct{ p, s string }{
		{"*", "abc"}, {"a*b?c", "axxbyc"}, {"[a-c]*", "b"}, {"[^a]x", "bx"}, {"\\*", "*"},
		{"[a-", "a"}, {"[c-a]", "b"}, {"*a*a*a*b", "aaaaaaaaaaaaaaaaac"}, {"h[\\]]llo", "h]llo"}, {"", ""},
		{"A*", "abc"}, {"[", "x"}, {"x\\", "x\\"}, {"[]", "]"}, {"[a-]x", "]x"},
	} {
		f.Add([]byte(seed.p), []byte(seed.s), false)
		f.Add([]byte(seed.p), []byte(seed.s), true)
	}
	f.Fuzz(func(t *testing.T, p, s []byte, nocase bool) {
		if len(p) > 24 || len(s) > 24 {
			return
		}
		if got, want := Match(p, s, nocase), referenceMatch(p, s, nocase); got != want {
			t.Fatalf("Match(%q, %q, nocase=%v) = %v, reference %v", p, s, nocase, got, want)
		}
	})
}
