package command

// Sorting search results exactly as Redis does, ties included: a search
// that returns every point sorts them with glibc's qsort, a merge sort
// (stable); one that returns only the COUNT nearest sorts partially with
// Redis's pqsort, Bentley and McIlroy's quicksort ("Engineering a Sort
// Function", 1993) that skips the partitions outside the wanted range.
// Points at the same distance (one position, or members that share a
// score) come out in the order that quicksort leaves them, so it is
// reproduced step for step here.

// geoCompare is sort_gp_asc, or sort_gp_desc when desc.
func geoCompare(a, b *geoPoint, desc bool) int {
	r := 0
	switch {
	case a.dist > b.dist:
		r = 1
	case a.dist < b.dist:
		r = -1
	}
	if desc {
		return -r
	}
	return r
}

// geoPartialSort sorts points enough that positions lo..hi hold what a
// full sort would put there, in the order Redis's pqsort leaves them.
func geoPartialSort(points []geoPoint, desc bool, lo, hi int) {
	cmp := func(i, j int) int { return geoCompare(&points[i], &points[j], desc) }
	swap := func(i, j int) { points[i], points[j] = points[j], points[i] }
	vecswap := func(i, j, n int) {
		for k := 0; k < n; k++ {
			swap(i+k, j+k)
		}
	}
	med3 := func(a, b, c int) int {
		if cmp(a, b) < 0 {
			if cmp(b, c) < 0 {
				return b
			}
			if cmp(a, c) < 0 {
				return c
			}
			return a
		}
		if cmp(b, c) > 0 {
			return b
		}
		if cmp(a, c) < 0 {
			return a
		}
		return c
	}
	// wanted reports whether the partition [base, base+n) overlaps lo..hi.
	wanted := func(base, n int) bool { return !(hi < base || lo >= base+n) }

	var sortRange func(base, n int)
	sortRange = func(base, n int) {
		for {
			if n < 7 {
				for m := base + 1; m < base+n; m++ {
					for l := m; l > base && cmp(l-1, l) > 0; l-- {
						swap(l, l-1)
					}
				}
				return
			}
			pm := base + n/2
			if n > 7 {
				pl, pn := base, base+n-1
				if n > 40 {
					d := n / 8
					pl = med3(pl, pl+d, pl+2*d)
					pm = med3(pm-d, pm, pm+d)
					pn = med3(pn-2*d, pn-d, pn)
				}
				pm = med3(pl, pm, pn)
			}
			swap(base, pm)
			pa, pb := base+1, base+1
			pc, pd := base+n-1, base+n-1
			for {
				for pb <= pc {
					r := cmp(pb, base)
					if r > 0 {
						break
					}
					if r == 0 {
						swap(pa, pb)
						pa++
					}
					pb++
				}
				for pb <= pc {
					r := cmp(pc, base)
					if r < 0 {
						break
					}
					if r == 0 {
						swap(pc, pd)
						pd--
					}
					pc--
				}
				if pb > pc {
					break
				}
				swap(pb, pc)
				pb++
				pc--
			}
			pn := base + n
			r := min(pa-base, pb-pa)
			vecswap(base, pb-r, r)
			r = min(pd-pc, pn-pd-1)
			vecswap(pb, pn-r, r)
			if r = pb - pa; r > 1 && wanted(base, r) {
				sortRange(base, r)
			}
			if r = pd - pc; r > 1 {
				base, n = pn-r, r
				if wanted(base, n) {
					continue
				}
			}
			return
		}
	}
	sortRange(0, len(points))
}
