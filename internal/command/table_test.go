package command

import "testing"

// Member hints name implemented keyed commands, and point past the first
// key: a hint on the key itself would prefetch the key as a member.
func TestMemberArgs(t *testing.T) {
	tab := NewTable(DataFamilies()...)
	n := 0
	for _, f := range DataFamilies() {
		for name, m := range f.Members {
			n++
			s := tab.Lookup([]byte(name))
			if s == nil || s.Handler == nil {
				t.Errorf("%s: member hint for a command not implemented", name)
				continue
			}
			if s.Members != m {
				t.Errorf("%s: table has %+v, family %+v", name, s.Members, m)
			}
			if s.FirstKey <= 0 || m.First <= s.FirstKey || m.Step < 0 {
				t.Errorf("%s: members %+v against first key %d", name, m, s.FirstKey)
			}
		}
	}
	if n == 0 {
		t.Fatal("no member hints")
	}
}
