package types

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strconv"
	"testing"

	"github.com/reefkv/reef/internal/encoding/listpack"
)

func TestZSetAgainstModel(t *testing.T) {
	for _, maxEntries := range []int{0, 16, 128} {
		lim := DefaultLimits()
		lim.ZSetMaxListpackEntries = maxEntries
		r := rand.New(rand.NewPCG(1, uint64(maxEntries)))
		z := NewZSetFor(1, &lim)
		model := map[string]float64{}
		for op := 0; op < 20000; op++ {
			m := "m" + strconv.Itoa(r.IntN(600))
			switch r.IntN(10) {
			case 0, 1, 2, 3, 4:
				s := float64(r.IntN(50))
				z.Add([]byte(m), s, 0, &lim)
				model[m] = s
			case 5, 6:
				if z.Remove([]byte(m)) != (func() bool { _, ok := model[m]; return ok })() {
					t.Fatalf("remove %s mismatch", m)
				}
				delete(model, m)
			case 7:
				if len(model) > 0 {
					a := r.IntN(len(model))
					b := a + r.IntN(20)
					b = min(b, len(model)-1)
					var gone []string
					z.DeleteRange(a, b, func(m Str, _ float64) { gone = append(gone, String(m)) })
					for _, g := range gone {
						delete(model, g)
					}
					if len(gone) != b-a+1 {
						t.Fatalf("deleteRange removed %d, want %d", len(gone), b-a+1)
					}
				}
			default:
				_, s, ok := z.Rank([]byte(m), false)
				ms, mok := model[m]
				if ok != mok || (ok && s != ms) {
					t.Fatalf("rank %s: %v %v vs %v %v", m, s, ok, ms, mok)
				}
			}
			if op%997 == 0 {
				checkZSet(t, z, model)
			}
		}
		checkZSet(t, z, model)
	}
}

func checkZSet(t *testing.T, z *ZSet, model map[string]float64) {
	t.Helper()
	type it struct {
		m string
		s float64
	}
	var want []it
	for m, s := range model {
		want = append(want, it{m, s})
	}
	sort.Slice(want, func(i, j int) bool {
		if want[i].s != want[j].s {
			return want[i].s < want[j].s
		}
		return want[i].m < want[j].m
	})
	if z.Len() != len(want) {
		t.Fatalf("len %d want %d", z.Len(), len(want))
	}
	i := 0
	z.Walk(0, false, func(m Str, s float64) bool {
		if String(m) != want[i].m || s != want[i].s {
			t.Fatalf("pos %d: %s %v want %v", i, String(m), s, want[i])
		}
		i++
		return true
	})
	if i != len(want) {
		t.Fatalf("walked %d", i)
	}
	for j := range want {
		r, _, ok := z.Rank([]byte(want[j].m), false)
		if !ok || r != j {
			t.Fatalf("rank of %s = %d %v, want %d", want[j].m, r, ok, j)
		}
		m, s := z.At(j)
		if String(m) != want[j].m || s != want[j].s {
			t.Fatalf("At(%d)", j)
		}
	}
	if len(want) > 0 {
		j := len(want) - 1
		z.Walk(j, true, func(m Str, s float64) bool {
			if String(m) != want[j].m {
				t.Fatalf("reverse pos %d", j)
			}
			j--
			return true
		})
	}
}

// A list pushed at the head only keeps its head node inside a larger
// allocation, with free bytes before it (pushHead); its nodes must still be
// the listpacks Redis builds, and MEMORY USAGE must count the free bytes.
func TestListHeadPushesPrependInPlace(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	l := NewList(-2)
	var model [][]byte
	sawRoom := false
	for i := 0; i < 30000; i++ {
		v := []byte(strconv.Itoa(r.IntN(1 << 20)))
		if r.IntN(2) == 0 {
			v = bytes.Repeat([]byte{byte('a' + i%26)}, 1+r.IntN(90))
		}
		l.Push(v, true)
		model = append(model, v)
		if room := l.headRoom(); room > 0 {
			sawRoom = true
			if l.MemoryUsage() < int64(cap(l.nodes[0])+room) {
				t.Fatalf("MEMORY USAGE %d does not count the %d free bytes before the head node", l.MemoryUsage(), room)
			}
		}
		if i%3000 == 0 || i == 29999 {
			slices.Reverse(model)
			checkList(t, l, model)
			slices.Reverse(model)
		}
	}
	if !sawRoom {
		t.Fatal("no head push prepended in place")
	}
}

// A queue (RPUSH, then LPOP) pops its head node's elements by moving the
// node's header forward (popHead); a later LPUSH fills the bytes freed.
func TestListHeadPopsInPlace(t *testing.T) {
	l := NewList(-2)
	var model [][]byte
	for i := 0; i < 5000; i++ {
		v := []byte(strconv.Itoa(i * 7919))
		if i%3 == 0 {
			v = bytes.Repeat([]byte{byte('a' + i%26)}, 1+i%70)
		}
		l.Push(v, false)
		model = append(model, v)
	}
	moved := false
	for i := 0; i < 2500; i++ {
		first := &l.nodes[0][0]
		v := l.Pop(true)
		if !bytes.Equal(v, model[0]) {
			t.Fatalf("pop %d: %q, want %q", i, v, model[0])
		}
		model = model[1:]
		if len(l.nodes) > 0 && &l.nodes[0][0] != first && l.headRoom() > 0 {
			moved = true
		}
		if i%250 == 0 {
			checkList(t, l, model)
		}
	}
	if !moved {
		t.Fatal("no head pop moved the node's header forward")
	}
	room := l.headRoom()
	for i := 0; i < 3; i++ {
		v := []byte{'x', byte('0' + i)}
		l.Push(v, true)
		model = append([][]byte{v}, model...)
	}
	if l.headRoom() >= room || room == 0 {
		t.Fatalf("LPUSH after LPOPs: head room %d, before %d; the pushes should use it", l.headRoom(), room)
	}
	checkList(t, l, model)
}

func TestListAgainstModel(t *testing.T) {
	for _, fill := range []int{-2, 3, 1, -1} {
		r := rand.New(rand.NewPCG(2, uint64(fill+10)))
		l := NewList(fill)
		var model [][]byte
		val := func() []byte {
			if r.IntN(3) == 0 {
				return []byte(strconv.Itoa(r.IntN(100)))
			}
			return bytes.Repeat([]byte{byte('a' + r.IntN(5))}, 1+r.IntN(300))
		}
		for op := 0; op < 20000; op++ {
			switch r.IntN(12) {
			case 0, 1:
				v := val()
				l.Push(v, true)
				model = append([][]byte{v}, model...)
			case 2, 3:
				v := val()
				l.Push(v, false)
				model = append(model, v)
			case 4:
				if len(model) > 0 {
					v := l.Pop(true)
					if !bytes.Equal(v, model[0]) {
						t.Fatal("pop head")
					}
					model = model[1:]
				}
			case 5:
				if len(model) > 0 {
					v := l.Pop(false)
					if !bytes.Equal(v, model[len(model)-1]) {
						t.Fatal("pop tail")
					}
					model = model[:len(model)-1]
				}
			case 6:
				if len(model) > 0 {
					pivot := model[r.IntN(len(model))]
					v := val()
					after := r.IntN(2) == 0
					l.Insert(pivot, v, after)
					i := slices.IndexFunc(model, func(b []byte) bool { return bytes.Equal(b, pivot) })
					if after {
						i++
					}
					model = slices.Insert(model, i, v)
				}
			case 7:
				if len(model) > 0 {
					v := model[r.IntN(len(model))]
					cnt := r.IntN(5) - 2
					n := l.Rem(v, cnt)
					model = modelRem(model, v, cnt)
					_ = n
				}
			case 8:
				if len(model) > 0 {
					i := r.IntN(len(model))
					v := val()
					l.Set(i, v)
					model[i] = v
				}
			case 9:
				if len(model) > 2 {
					a := r.IntN(len(model))
					c := r.IntN(len(model) - a)
					l.DeleteRange(a, c)
					model = append(model[:a:a], model[a+c:]...)
				}
			default:
				if len(model) > 0 {
					i := r.IntN(len(model))
					e, _ := l.Index(i - len(model)*r.IntN(2))
					if !bytes.Equal(Copy(e), model[i]) {
						t.Fatalf("index %d", i)
					}
				}
			}
			if l.Len() != len(model) {
				t.Fatalf("op %d: len %d want %d", op, l.Len(), len(model))
			}
			if op%500 == 0 {
				checkList(t, l, model)
			}
		}
		checkList(t, l, model)
	}
}

func modelRem(model [][]byte, v []byte, cnt int) [][]byte {
	limit := cnt
	if limit < 0 {
		limit = -limit
	}
	removed := 0
	if cnt >= 0 {
		out := model[:0:0]
		for _, x := range model {
			if bytes.Equal(x, v) && (limit == 0 || removed < limit) {
				removed++
				continue
			}
			out = append(out, x)
		}
		return out
	}
	out := slices.Clone(model)
	for i := len(out) - 1; i >= 0 && removed < limit; i-- {
		if bytes.Equal(out[i], v) {
			out = slices.Delete(out, i, i+1)
			removed++
		}
	}
	return out
}

func checkList(t *testing.T, l *List, model [][]byte) {
	t.Helper()
	var got [][]byte
	l.Walk(0, false, func(i int, e Str) bool {
		if i != len(got) {
			t.Fatalf("walk index %d", i)
		}
		got = append(got, Copy(e))
		return true
	})
	if len(got) != len(model) {
		t.Fatalf("walk len %d want %d", len(got), len(model))
	}
	for i := range got {
		if !bytes.Equal(got[i], model[i]) {
			t.Fatalf("elem %d: %q want %q", i, got[i], model[i])
		}
	}
	total := 0
	for _, lp := range l.nodes {
		if err := listpack.Validate(lp); err != nil {
			t.Fatal(err)
		}
		if listpack.Len(lp) == 0 {
			t.Fatal("empty node")
		}
		total += listpack.Len(lp)
		// Every node holds the bytes a listpack built by appending its
		// elements holds (head pushes prepend in place: pushHead).
		canon := listpack.NewCap(0)
		for p := listpack.First(lp); p >= 0 && lp[p] != listpack.EOF; p = listpack.Next(lp, p) {
			canon = listpack.Append(canon, Copy(listpack.Get(lp, p)))
		}
		if !bytes.Equal(canon, lp) {
			t.Fatalf("node bytes %x, a listpack of the same elements is %x", lp, canon)
		}
	}
	if total != l.n {
		t.Fatalf("node counts %d != %d", total, l.n)
	}
}

func TestHashConversion(t *testing.T) {
	lim := DefaultLimits()
	lim.HashMaxListpackEntries = 4
	h := NewHash()
	for i := 0; i < 4; i++ {
		h.Set([]byte(fmt.Sprint("f", i)), []byte(strconv.Itoa(i)), &lim)
	}
	if h.Listpack() == nil {
		t.Fatal("converted too early")
	}
	h.Set([]byte("f1"), []byte("x"), &lim)
	v, _ := h.Get([]byte("f1"))
	if String(v) != "x" || h.Len() != 4 {
		t.Fatal("update")
	}
	h.Set([]byte("f9"), []byte("9"), &lim)
	if h.Listpack() != nil || h.Len() != 5 {
		t.Fatal("no conversion")
	}
	v, _ = h.Get([]byte("f2"))
	if String(v) != "2" {
		t.Fatal("value lost")
	}
	h2 := NewHash()
	h2.Set([]byte("k"), bytes.Repeat([]byte("v"), 65), &lim)
	if h2.Listpack() != nil {
		t.Fatal("long value kept listpack")
	}
}

func TestSetConversion(t *testing.T) {
	lim := DefaultLimits()
	lim.SetMaxIntsetEntries = 3
	s := NewSetFor([]byte("1"))
	for _, m := range []string{"1", "2", "3", "2"} {
		s.Add([]byte(m), &lim)
	}
	if s.Intset() == nil || s.Len() != 3 {
		t.Fatal("intset")
	}
	s.Add([]byte("4"), &lim)
	if s.Intset() != nil || !s.Has([]byte("4")) || !s.Has([]byte("1")) {
		t.Fatal("conversion")
	}
	s2 := NewSetFor([]byte("1"))
	s2.Add([]byte("01"), &lim)
	if s2.Intset() != nil {
		t.Fatal("non-canonical integer kept intset")
	}
}
