package admin

import (
	"strings"
	"testing"
)

func TestParsePlanRefusesBadPlans(t *testing.T) {
	good := `{"version":1,"kind":"reshard","jobs":[{"from":"a","to":"b","slots":[0,16383]}]}`
	if _, err := parsePlan([]byte(good), "p"); err != nil {
		t.Fatalf("good plan refused: %v", err)
	}
	bad := map[string]string{
		`{"version":2,"kind":"reshard"}`:                                                                              "unsupported version",
		`{"version":1,"kind":"shuffle"}`:                                                                              "unknown kind",
		`{"version":1,"kind":"reshard","jobs":[{"from":"a","to":"b","slots":[16384]}]}`:                               "out of range",
		`{"version":1,"kind":"reshard","jobs":[{"from":"a","to":"b","slots":[-1]}]}`:                                  "out of range",
		`{"version":1,"kind":"reshard","jobs":[{"from":"a","to":"b","slots":[5]},{"from":"c","to":"b","slots":[5]}]}`: "moved twice",
		`{"version":1,"kind":"reshard","jobs":[{"from":"a","to":"a","slots":[5]}]}`:                                   "bad source",
		`{"version":1,"kind":"reshard","jobs":[{"to":"a","slots":[5]}]}`:                                              "bad source",
		`{"version":1,`: "parse plan",
	}
	for text, want := range bad {
		_, err := parsePlan([]byte(text), "p")
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v, want an error about %q", text, err, want)
		}
	}
}

// FuzzParsePlan: any file is refused with an error or gives a plan whose
// every slot is in range, which is what Apply indexes tables with.
func FuzzParsePlan(f *testing.F) {
	f.Add([]byte(`{"version":1,"kind":"rebalance","nodes":[{"id":"a","addr":"127.0.0.1:1"}],"jobs":[{"from":"a","to":"b","slots":[1,2,3]}]}`))
	f.Add([]byte(`{"version":1,"kind":"reshard","jobs":[{"from":"a","to":"b","slots":[99999]}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := parsePlan(b, "fuzz")
		if err != nil {
			return
		}
		for _, j := range p.Jobs {
			for _, s := range j.Slots {
				if s < 0 || s >= 16384 {
					t.Fatalf("slot %d accepted", s)
				}
			}
		}
	})
}

// FuzzNodesLine: any CLUSTER NODES line a server sends is parsed, and its
// slot tokens applied, without a panic and without a slot out of range.
func FuzzNodesLine(f *testing.F) {
	f.Add("07c37dfeb235213a872192d90877d0cd55635b91 127.0.0.1:30004@31004,host slave e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca 0 1426238317239 4 connected 0-5460 [93->-292f8b365bb7edb5e285caf0b7e6ddc7265a2f4f] [77-<-e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca]")
	f.Add("a b myself,master - 0 0 1 connected 16383-99999 5-3 x-y -1")
	f.Fuzz(func(t *testing.T, line string) {
		p, ok := parseNodesLine(line)
		if !ok {
			return
		}
		n := &Node{Migrating: map[int]string{}, Importing: map[int]string{}}
		n.applySlots(p.slots)
		count := 0
		for _, has := range n.Slots {
			if has {
				count++
			}
		}
		if count != n.SlotsCount {
			t.Fatalf("SlotsCount %d, table holds %d", n.SlotsCount, count)
		}
	})
}
