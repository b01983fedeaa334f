package command

import (
	"bytes"

	"github.com/reefkv/reef/internal/rconv"
)

// KeyPositions returns the argument positions of the keys of a command, as
// Redis's getKeysFromCommand finds them: the command's GetKeys procedure if
// it has one, else its key specs. dst is reused. ok is false when the
// arguments do not fit the key specs (a bad numkeys): the handler then
// reports the error.
func (s *Spec) KeyPositions(args [][]byte, dst []int) (keys []int, ok bool) {
	if s.GetKeys != nil {
		return append(dst, s.GetKeys(args)...), true
	}
	return keysFromSpecs(s.Meta, args, dst)
}

func keysFromSpecs(m *Meta, args [][]byte, dst []int) ([]int, bool) {
	argc := len(args)
	for i := range m.KeySpecs {
		ks := &m.KeySpecs[i]
		var first int
		switch ks.BeginSearch {
		case "index":
			first = ks.BSIndex
		case "keyword":
			first = -1
			start, end, step := ks.BSStartFrom, argc-1, 1
			if ks.BSStartFrom < 0 {
				start, end, step = argc+ks.BSStartFrom, 0, -1
			}
			for j := start; j >= 0 && j < argc && (step > 0 && j <= end || step < 0 && j >= end); j += step {
				if bytes.EqualFold(args[j], []byte(ks.BSKeyword)) {
					first = j + 1
					break
				}
			}
			if first < 0 {
				continue
			}
		default:
			continue
		}
		var last, step int
		switch ks.FindKeys {
		case "range":
			switch {
			case ks.FKLastKey >= 0:
				last = first + ks.FKLastKey
			case ks.FKLimit == 0:
				last = argc + ks.FKLastKey
			default:
				last = first + (argc-first)/ks.FKLimit + ks.FKLastKey
			}
			step = ks.FKKeyStep
		case "keynum":
			idx := first + ks.FKKeyNumIdx
			if idx >= argc {
				return dst[:0], false
			}
			n, ok := rconv.ParseInt(args[idx])
			if !ok || n < 0 {
				return dst[:0], false
			}
			first += ks.FKFirstKey
			last = first + int(n) - 1
			step = ks.FKKeyStep
		default:
			continue
		}
		if step <= 0 {
			continue
		}
		for j := first; j <= last; j += step {
			if j >= argc || j < first {
				// A variadic command given too few arguments (or a numkeys
				// larger than what follows): the keys stop here and the
				// handler reports the error.
				break
			}
			dst = append(dst, j)
		}
	}
	return dst, true
}

// KeyFlags returns the key-spec flags of the key at argument position pos
// (COMMAND GETKEYSANDFLAGS).
func (s *Spec) KeyFlags(args [][]byte, pos int) []string {
	// Commands whose key flags depend on the arguments (key specs marked
	// variable_flags) get them from Redis's getkeys procedure instead.
	switch s.Name {
	case "set":
		return setKeyFlags(args)
	case "bitfield":
		return bitfieldKeyFlags(args)
	}
	for i := range s.KeySpecs {
		one := *s.Meta
		one.KeySpecs = s.KeySpecs[i : i+1]
		keys, _ := keysFromSpecs(&one, args, nil)
		for _, k := range keys {
			if k == pos {
				return s.KeySpecs[i].Flags
			}
		}
	}
	return nil
}

// setKeyFlags is Redis's setGetKeys: SET with GET reads the key.
func setKeyFlags(args [][]byte) []string {
	for _, a := range args[3:] {
		if len(a) == 3 && (a[0]|0x20) == 'g' && (a[1]|0x20) == 'e' && (a[2]|0x20) == 't' {
			return []string{"RW", "access", "update"}
		}
	}
	return []string{"OW", "update"}
}

// bitfieldKeyFlags is Redis's bitfieldGetKeys: read-only unless a SET or
// INCRBY (or a syntax error) appears.
func bitfieldKeyFlags(args [][]byte) []string {
	readonly := true
	for i := 2; i < len(args); i++ {
		rem := len(args) - i - 1
		a := args[i]
		switch {
		case bytes.EqualFold(a, []byte("get")) && rem >= 2:
			i += 2
		case (bytes.EqualFold(a, []byte("set")) || bytes.EqualFold(a, []byte("incrby"))) && rem >= 3:
			readonly = false
		case bytes.EqualFold(a, []byte("overflow")) && rem >= 1:
			i++
		default:
			readonly = false
		}
		if !readonly {
			break
		}
	}
	if readonly {
		return []string{"RO", "access"}
	}
	return []string{"RW", "access", "update"}
}
