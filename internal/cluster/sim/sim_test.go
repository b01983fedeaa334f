package sim

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// TestScenarios runs every testdata/*.scn and compares its trace with the
// .golden file next to it. Run with -update to accept new output.
func TestScenarios(t *testing.T) {
	files, err := filepath.Glob("testdata/*.scn")
	if err != nil || len(files) == 0 {
		t.Fatal("no scenarios", err)
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".scn")
		t.Run(name, func(t *testing.T) {
			in, err := os.Open(f)
			if err != nil {
				t.Fatal(err)
			}
			defer in.Close()
			got, err := Run(in)
			if err != nil {
				t.Fatalf("%v\ntrace so far:\n%s", err, got)
			}
			golden := strings.TrimSuffix(f, ".scn") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update)", err)
			}
			if got != string(want) {
				t.Errorf("trace differs from %s (run with -update to accept):\n%s", golden, got)
			}
			if strings.Contains(got, "VIOLATION") || strings.Contains(got, "TIMEOUT") || strings.Contains(got, "FAILED") {
				t.Errorf("scenario %s has failed checks:\n%s", name, got)
			}
		})
	}
}
