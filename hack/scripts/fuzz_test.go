// Package scripts_test checks the shell scripts under hack/ against the code they serve.
package scripts_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/voipbin/registrar-operator/hack/testenv"
)

// `make fuzz` runs every fuzz target of the module: the script's list is compared with
// the fuzz functions Go's parser finds (FuzzRegisterParser was once left out of a list
// kept by hand, so it was never fuzzed).
func TestFuzzScriptRunsEveryFuzzTarget(t *testing.T) {
	root := testenv.Root()
	cmd := exec.Command("hack/fuzz.sh", "--list")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("hack/fuzz.sh --list: %v", err)
	}
	listed := strings.Split(strings.TrimSpace(string(out)), "\n")
	slices.Sort(listed)

	found := fuzzTargets(t, root)
	if !slices.Equal(listed, found) {
		t.Fatalf("hack/fuzz.sh runs\n  %s\nbut the module's fuzz targets are\n  %s",
			strings.Join(listed, "\n  "), strings.Join(found, "\n  "))
	}
}

// fuzzTargets returns "./package FuzzName" for every fuzz function of the module:
// a top-level func named Fuzz… in a _test.go file that takes a *testing.F.
func fuzzTargets(t *testing.T, root string) []string {
	t.Helper()
	var targets []string
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		if d.IsDir() {
			if rel == filepath.Join("hack", "tools") || strings.HasPrefix(d.Name(), ".") && rel != "." || d.Name() == "testdata" {
				return filepath.SkipDir // other modules, VCS data, fixtures
			}
			return nil
		}
		if !strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		for _, decl := range f.Decls {
			fn, ok := decl.(*ast.FuncDecl)
			if ok && fn.Recv == nil && strings.HasPrefix(fn.Name.Name, "Fuzz") && takesTestingF(fn) {
				targets = append(targets, "./"+filepath.ToSlash(filepath.Dir(rel))+" "+fn.Name.Name)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(targets)
	return targets
}

func takesTestingF(fn *ast.FuncDecl) bool {
	params := fn.Type.Params.List
	if len(params) != 1 {
		return false
	}
	star, ok := params[0].Type.(*ast.StarExpr)
	if !ok {
		return false
	}
	sel, ok := star.X.(*ast.SelectorExpr)
	return ok && sel.Sel.Name == "F"
}
