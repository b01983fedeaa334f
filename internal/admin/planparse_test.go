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
