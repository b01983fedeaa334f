package splitargs

import "bytes"

// Split splits an inline request line the way Redis's sdssplitargs does:
// whitespace separates arguments, "double quotes" understand \n \r \t \b \a
// \\ \" and \xHH escapes, 'single quotes' understand \'. A closing quote must be
// followed by whitespace or the end of the line. It appends to dst and reports
// false on unbalanced quotes.
func Split(line []byte, dst [][]byte) ([][]byte, bool) {
	// Redis splits a C string: a NUL byte ends the line.
	if z := bytes.IndexByte(line, 0); z >= 0 {
		line = line[:z]
	}
	i := 0
	for {
		for i < len(line) && isSpace(line[i]) {
			i++
		}
		if i >= len(line) {
			return dst, true
		}
		var cur []byte
		inDouble, inSingle, done := false, false, false
		// Fast path: a run without quotes is sliced, not copied.
		start := i
		plain := true
		for !done {
			if inDouble {
				if i >= len(line) {
					return nil, false
				}
				c := line[i]
				if c == '\\' && i+3 < len(line) && line[i+1] == 'x' && isHex(line[i+2]) && isHex(line[i+3]) {
					cur = append(cur, hexVal(line[i+2])<<4|hexVal(line[i+3]))
					i += 3
				} else if c == '\\' && i+1 < len(line) {
					i++
					switch line[i] {
					case 'n':
						cur = append(cur, '\n')
					case 'r':
						cur = append(cur, '\r')
					case 't':
						cur = append(cur, '\t')
					case 'b':
						cur = append(cur, '\b')
					case 'a':
						cur = append(cur, '\a')
					default:
						cur = append(cur, line[i])
					}
				} else if c == '"' {
					if i+1 < len(line) && !isSpace(line[i+1]) {
						return nil, false
					}
					done = true
				} else {
					cur = append(cur, c)
				}
			} else if inSingle {
				if i >= len(line) {
					return nil, false
				}
				c := line[i]
				if c == '\\' && i+1 < len(line) && line[i+1] == '\'' {
					i++
					cur = append(cur, '\'')
				} else if c == '\'' {
					if i+1 < len(line) && !isSpace(line[i+1]) {
						return nil, false
					}
					done = true
				} else {
					cur = append(cur, c)
				}
			} else {
				if i >= len(line) {
					break
				}
				switch c := line[i]; c {
				case ' ', '\n', '\r', '\t':
					done = true
				case '"':
					inDouble = true
					if plain {
						cur = append(cur, line[start:i]...)
						plain = false
					}
				case '\'':
					inSingle = true
					if plain {
						cur = append(cur, line[start:i]...)
						plain = false
					}
				default:
					if !plain {
						cur = append(cur, c)
					}
				}
			}
			if i < len(line) {
				i++
			}
		}
		if plain {
			end := i
			if done {
				end = i - 1
			}
			dst = append(dst, line[start:end:end])
		} else {
			if cur == nil {
				cur = []byte{}
			}
			dst = append(dst, cur)
		}
	}
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\v' || c == '\f'
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

func hexVal(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}

// AppendRepr appends s quoted as Redis's sdscatrepr quotes it (in MONITOR
// lines, CONFIG REWRITE and redis-cli's output): between double quotes,
// with \\ \" \n \r \t \a \b escaped and the bytes C's isprint rejects as
// \xhh. Split reads the result back as s.
func AppendRepr[T string | []byte](dst []byte, s T) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\', '"':
			dst = append(dst, '\\', c)
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\t':
			dst = append(dst, '\\', 't')
		case '\a':
			dst = append(dst, '\\', 'a')
		case '\b':
			dst = append(dst, '\\', 'b')
		default:
			if c >= 0x20 && c <= 0x7e {
				dst = append(dst, c)
			} else {
				dst = append(dst, '\\', 'x', hex[c>>4], hex[c&15])
			}
		}
	}
	return append(dst, '"')
}

// Repr is AppendRepr as a string.
func Repr[T string | []byte](s T) string { return string(AppendRepr(nil, s)) }
