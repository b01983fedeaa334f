package client

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/reefkv/reef/internal/resp"
	"github.com/reefkv/reef/internal/splitargs"
)

// Reply formatting exactly as redis-cli 7.0 prints replies: FormatTTY when
// stdout is a terminal (or --no-raw), FormatRaw otherwise (or --raw), and
// FormatCSV for --csv.

// FormatTTY is cliFormatReplyTTY: the human form with (integer), (nil),
// numbered and indented aggregates. The result ends with a newline.
func FormatTTY(v resp.Value) string {
	var b strings.Builder
	formatTTY(&b, v, "")
	return b.String()
}

func formatTTY(b *strings.Builder, v resp.Value, prefix string) {
	switch v.Kind {
	case resp.KindError, resp.KindBlobError:
		fmt.Fprintf(b, "(error) %s\n", v.Str)
	case resp.KindSimple:
		b.Write(v.Str)
		b.WriteByte('\n')
	case resp.KindInt:
		fmt.Fprintf(b, "(integer) %d\n", v.Int)
	case resp.KindDouble:
		fmt.Fprintf(b, "(double) %s\n", v.Str)
	case resp.KindBigNumber:
		fmt.Fprintf(b, "(big number) %s\n", v.Str)
	case resp.KindBulk:
		b.WriteString(splitargs.Repr(v.Str))
		b.WriteByte('\n')
	case resp.KindVerbatim:
		b.Write(v.Str)
		b.WriteByte('\n')
	case resp.KindNull:
		b.WriteString("(nil)\n")
	case resp.KindBool:
		if v.Int != 0 {
			b.WriteString("(true)\n")
		} else {
			b.WriteString("(false)\n")
		}
	case resp.KindArray, resp.KindMap, resp.KindSet, resp.KindPush:
		if len(v.Elems) == 0 {
			switch v.Kind {
			case resp.KindArray:
				b.WriteString("(empty array)\n")
			case resp.KindMap:
				b.WriteString("(empty hash)\n")
			case resp.KindSet:
				b.WriteString("(empty set)\n")
			default:
				b.WriteString("(empty push)\n")
			}
			return
		}
		n := len(v.Elems)
		if v.Kind == resp.KindMap {
			n /= 2
		}
		idxlen := len(strconv.Itoa(n))
		sub := prefix + strings.Repeat(" ", idxlen+2)
		sep := ')'
		switch v.Kind {
		case resp.KindSet:
			sep = '~'
		case resp.KindMap:
			sep = '#'
		}
		for i := 0; i < len(v.Elems); i++ {
			human := i + 1
			if v.Kind == resp.KindMap {
				human = i/2 + 1
			}
			p := prefix
			if i == 0 {
				p = ""
			}
			fmt.Fprintf(b, "%s%*d%c ", p, idxlen, human, sep)
			if v.Kind == resp.KindMap && i+1 < len(v.Elems) {
				// The key's line loses its newline and gets " => value".
				var k strings.Builder
				formatTTY(&k, v.Elems[i], sub)
				b.WriteString(strings.TrimSuffix(k.String(), "\n"))
				b.WriteString(" => ")
				i++
			}
			formatTTY(b, v.Elems[i], sub)
		}
	}
}

// FormatRaw is cliFormatReplyRaw: payloads as they are, aggregates joined by
// delim (redis-cli's -d, default "\n"); no trailing command delimiter.
func FormatRaw(v resp.Value, delim string) string {
	var b strings.Builder
	formatRaw(&b, v, delim)
	return b.String()
}

func formatRaw(b *strings.Builder, v resp.Value, delim string) {
	switch v.Kind {
	case resp.KindNull:
	case resp.KindError, resp.KindBlobError:
		b.Write(v.Str)
		b.WriteByte('\n')
	case resp.KindSimple, resp.KindBulk, resp.KindVerbatim, resp.KindDouble, resp.KindBigNumber:
		b.Write(v.Str)
	case resp.KindInt:
		b.WriteString(strconv.FormatInt(v.Int, 10))
	case resp.KindBool:
		if v.Int != 0 {
			b.WriteString("(true)")
		} else {
			b.WriteString("(false)")
		}
	case resp.KindMap:
		for i := 0; i+1 < len(v.Elems); i += 2 {
			if i > 0 {
				b.WriteString(delim)
			}
			formatRaw(b, v.Elems[i], delim)
			b.WriteByte(' ')
			formatRaw(b, v.Elems[i+1], delim)
		}
	default:
		for i, e := range v.Elems {
			if i > 0 {
				b.WriteString(delim)
			}
			formatRaw(b, e, delim)
		}
	}
}

// FormatCSV is cliFormatReplyCSV (without the final newline).
func FormatCSV(v resp.Value) string {
	var b strings.Builder
	formatCSV(&b, v)
	return b.String()
}

func formatCSV(b *strings.Builder, v resp.Value) {
	switch v.Kind {
	case resp.KindError, resp.KindBlobError:
		b.WriteString("ERROR,")
		b.WriteString(splitargs.Repr(v.Str))
	case resp.KindSimple, resp.KindBulk, resp.KindVerbatim, resp.KindBigNumber:
		b.WriteString(splitargs.Repr(v.Str))
	case resp.KindInt:
		b.WriteString(strconv.FormatInt(v.Int, 10))
	case resp.KindDouble:
		b.Write(v.Str)
	case resp.KindNull:
		b.WriteString("NULL")
	case resp.KindBool:
		if v.Int != 0 {
			b.WriteString("true")
		} else {
			b.WriteString("false")
		}
	default:
		for i, e := range v.Elems {
			if i > 0 {
				b.WriteByte(',')
			}
			formatCSV(b, e)
		}
	}
}
