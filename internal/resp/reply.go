package resp

import (
	"strconv"
	"strings"

	"github.com/reefkv/reef/internal/rconv"
)

// Protocol versions negotiated with HELLO.
const (
	RESP2 = 2
	RESP3 = 3
)

// AppendSimple appends a simple string reply: +s\r\n.
func AppendSimple(dst []byte, s string) []byte {
	dst = append(dst, '+')
	dst = append(dst, s...)
	return append(dst, '\r', '\n')
}

// AppendOK appends +OK\r\n.
func AppendOK(dst []byte) []byte { return append(dst, "+OK\r\n"...) }

// AppendError appends an error reply. msg carries its code ("ERR ...",
// "WRONGTYPE ...", "MOVED ..."). Newlines in msg are replaced with spaces, as
// Redis does, so the reply stays one line.
func AppendError(dst []byte, msg string) []byte {
	// Like Redis's addReplyErrorFormat: CR and LF at either end are
	// trimmed, the others become spaces.
	msg = strings.Trim(msg, "\r\n")
	dst = append(dst, '-')
	for i := 0; i < len(msg); i++ {
		c := msg[i]
		if c == '\r' || c == '\n' {
			c = ' '
		}
		dst = append(dst, c)
	}
	return append(dst, '\r', '\n')
}

// AppendInt appends an integer reply.
func AppendInt(dst []byte, n int64) []byte {
	dst = append(dst, ':')
	dst = strconv.AppendInt(dst, n, 10)
	return append(dst, '\r', '\n')
}

func appendLen(dst []byte, prefix byte, n int) []byte {
	dst = append(dst, prefix)
	dst = strconv.AppendInt(dst, int64(n), 10)
	return append(dst, '\r', '\n')
}

// AppendBulk appends a bulk string reply.
func AppendBulk(dst []byte, b []byte) []byte {
	dst = appendLen(dst, '$', len(b))
	dst = append(dst, b...)
	return append(dst, '\r', '\n')
}

// AppendBulkString appends a bulk string reply from a string.
func AppendBulkString(dst []byte, s string) []byte {
	dst = appendLen(dst, '$', len(s))
	dst = append(dst, s...)
	return append(dst, '\r', '\n')
}

// AppendBulkInt appends n formatted in decimal as a bulk string.
func AppendBulkInt(dst []byte, n int64) []byte {
	var tmp [24]byte
	return AppendBulk(dst, strconv.AppendInt(tmp[:0], n, 10))
}

// AppendArrayLen appends an array header.
func AppendArrayLen(dst []byte, n int) []byte { return appendLen(dst, '*', n) }

// AppendNull appends a null bulk string (RESP2 "$-1") or RESP3 null.
func AppendNull(dst []byte, proto int) []byte {
	if proto == RESP3 {
		return append(dst, "_\r\n"...)
	}
	return append(dst, "$-1\r\n"...)
}

// AppendNullArray appends a null array (RESP2 "*-1") or RESP3 null.
func AppendNullArray(dst []byte, proto int) []byte {
	if proto == RESP3 {
		return append(dst, "_\r\n"...)
	}
	return append(dst, "*-1\r\n"...)
}

// AppendMapLen appends a map header of n pairs: RESP3 "%n", RESP2 a flat array of 2n.
func AppendMapLen(dst []byte, proto int, n int) []byte {
	if proto == RESP3 {
		return appendLen(dst, '%', n)
	}
	return appendLen(dst, '*', 2*n)
}

// AppendSetLen appends a set header: RESP3 "~n", RESP2 an array.
func AppendSetLen(dst []byte, proto int, n int) []byte {
	if proto == RESP3 {
		return appendLen(dst, '~', n)
	}
	return appendLen(dst, '*', n)
}

// AppendPushLen appends an out-of-band push header: RESP3 ">n", RESP2 an array.
func AppendPushLen(dst []byte, proto int, n int) []byte {
	if proto == RESP3 {
		return appendLen(dst, '>', n)
	}
	return appendLen(dst, '*', n)
}

// AppendBool appends a boolean: RESP3 "#t"/"#f", RESP2 ":1"/":0".
func AppendBool(dst []byte, proto int, b bool) []byte {
	if proto == RESP3 {
		if b {
			return append(dst, "#t\r\n"...)
		}
		return append(dst, "#f\r\n"...)
	}
	if b {
		return append(dst, ":1\r\n"...)
	}
	return append(dst, ":0\r\n"...)
}

// FormatDouble formats f as Redis 7.0 replies doubles: "%.17g", with "inf"
// and "-inf" spelled out.
func FormatDouble(dst []byte, f float64) []byte { return rconv.AppendDouble(dst, f) }

// AppendDouble appends a double reply: RESP3 ",<f>", RESP2 a bulk string.
func AppendDouble(dst []byte, proto int, f float64) []byte {
	var tmp [40]byte
	return AppendDoubleText(dst, proto, FormatDouble(tmp[:0], f))
}

// AppendDoubleText appends a double already formatted as text: a RESP3
// double, or a bulk string in RESP2.
func AppendDoubleText(dst []byte, proto int, text []byte) []byte {
	if proto == RESP3 {
		dst = append(dst, ',')
		dst = append(dst, text...)
		return append(dst, '\r', '\n')
	}
	return AppendBulk(dst, text)
}

// AppendVerbatim appends a verbatim string (RESP3 "=len\r\nfmt:..."), or a
// bulk string in RESP2. format is three characters such as "txt".
func AppendVerbatim(dst []byte, proto int, format string, b []byte) []byte {
	if proto != RESP3 {
		return AppendBulk(dst, b)
	}
	dst = appendLen(dst, '=', len(b)+4)
	dst = append(dst, format...)
	dst = append(dst, ':')
	dst = append(dst, b...)
	return append(dst, '\r', '\n')
}

// AppendBulkStrings appends an array of bulk strings.
func AppendBulkStrings(dst []byte, items []string) []byte {
	dst = AppendArrayLen(dst, len(items))
	for _, s := range items {
		dst = AppendBulkString(dst, s)
	}
	return dst
}

// Downgrade re-encodes a well-formed RESP3 reply as RESP2, the way Redis
// answers a RESP2 client: maps become flat arrays, sets become arrays, nulls
// become null bulk strings, doubles bulk strings, booleans integers. It is
// used for replies built once in RESP3 (COMMAND INFO/DOCS). Malformed input
// is copied as far as it parses.
func Downgrade(dst, src []byte) []byte {
	dst, _ = downgrade(dst, src)
	return dst
}

func downgrade(dst, src []byte) ([]byte, []byte) {
	if len(src) == 0 {
		return dst, src
	}
	end := 0
	for end < len(src) && src[end] != '\n' {
		end++
	}
	if end >= len(src) || end < 2 {
		return append(dst, src...), nil
	}
	line := src[1 : end-1]
	rest := src[end+1:]
	switch src[0] {
	case '%', '~', '*', '>':
		n, ok := parseInt(line)
		if !ok {
			return append(dst, src...), nil
		}
		count := n
		if src[0] == '%' {
			count = 2 * n
		}
		dst = AppendArrayLen(dst, int(count))
		for i := int64(0); i < count; i++ {
			dst, rest = downgrade(dst, rest)
		}
		return dst, rest
	case '$', '=', '!':
		n, ok := parseInt(line)
		if !ok || n < 0 || int(n)+2 > len(rest) {
			return append(dst, src[:end+1]...), rest
		}
		dst = append(dst, src[:end+1]...)
		dst = append(dst, rest[:n+2]...)
		return dst, rest[n+2:]
	case '_':
		return append(dst, "$-1\r\n"...), rest
	case ',':
		return AppendBulk(dst, line), rest
	case '#':
		if len(line) == 1 && line[0] == 't' {
			return append(dst, ":1\r\n"...), rest
		}
		return append(dst, ":0\r\n"...), rest
	default:
		return append(dst, src[:end+1]...), rest
	}
}
