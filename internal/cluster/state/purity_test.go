package state

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestPurity keeps the state machine pure: no imports of the network, the
// file system, the clock or concurrency, and no goroutines (decision 1 of
// the architecture guide).
func TestPurity(t *testing.T) {
	forbidden := map[string]bool{"net": true, "os": true, "time": true, "sync": true, "syscall": true,
		"math/rand": true, "crypto/rand": true, "io/ioutil": true, "os/exec": true, "log": true, "log/slog": true}
	files, _ := filepath.Glob("*.go")
	fset := token.NewFileSet()
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range file.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			if forbidden[p] || strings.HasPrefix(p, "net/http") {
				t.Errorf("%s imports %s", f, p)
			}
			if strings.HasPrefix(p, "github.com/reefkv/reef/") && p != "github.com/reefkv/reef/internal/cluster/msg" && p != "github.com/reefkv/reef/internal/slot" {
				t.Errorf("%s imports %s: state may import only cluster/msg and slot", f, p)
			}
		}
		ast.Inspect(file, func(n ast.Node) bool {
			if g, ok := n.(*ast.GoStmt); ok {
				t.Errorf("%s: go statement at %s", f, fset.Position(g.Pos()))
			}
			return true
		})
	}
}
