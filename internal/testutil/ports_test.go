package testutil

import "testing"

// A port handed out is locked for the life of the process: a second
// reservation of it, as another test binary would try, fails.
func TestReservedPortIsLocked(t *testing.T) {
	base := FreeRange(t, 2)
	if reserve(base, 1) || reserve(base+1, 1) || reserve(base+10000, 1) {
		t.Fatalf("ports %d-%d (and their bus ports) were reserved twice", base, base+1)
	}
	if reserve(base-10000, 1) {
		t.Fatalf("port %d's bus port %d was reserved twice", base-10000, base)
	}
}
