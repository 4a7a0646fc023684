// Command sizecheck holds the code to sizes one reader can take in: no function longer than
// -max-func lines and no non-test Go file longer than -max-file lines under the given
// folders. `make lint` runs it on pkg/ and cmd/.
package main

import (
	"flag"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

func main() {
	maxFunc := flag.Int("max-func", 80, "longest function allowed, in lines")
	maxFile := flag.Int("max-file", 400, "longest non-test file allowed, in lines")
	flag.Parse()
	var problems []string
	for _, root := range flag.Args() {
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") {
				return err
			}
			found, err := check(path, *maxFunc, *maxFile)
			problems = append(problems, found...)
			return err
		})
		if err != nil {
			fmt.Fprintln(os.Stderr, "sizecheck:", err)
			os.Exit(2)
		}
	}
	for _, p := range problems {
		fmt.Println(p)
	}
	if len(problems) > 0 {
		fmt.Printf("sizecheck: %d over the limits (functions %d lines, files %d lines): split them by responsibility\n", len(problems), *maxFunc, *maxFile)
		os.Exit(1)
	}
}

func check(path string, maxFunc, maxFile int) ([]string, error) {
	fset := token.NewFileSet()
	file, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
	if err != nil {
		return nil, err
	}
	var problems []string
	isTest := strings.HasSuffix(path, "_test.go")
	if lines := fset.Position(file.End()).Line; !isTest && lines > maxFile {
		problems = append(problems, fmt.Sprintf("%s: %d lines", path, lines))
	}
	ast.Inspect(file, func(n ast.Node) bool {
		var body *ast.BlockStmt
		name := "func literal"
		switch f := n.(type) {
		case *ast.FuncDecl:
			body, name = f.Body, f.Name.Name
		case *ast.FuncLit:
			body = f.Body
		}
		if body == nil {
			return true
		}
		start, end := fset.Position(n.Pos()), fset.Position(body.End())
		if lines := end.Line - start.Line + 1; lines > maxFunc {
			problems = append(problems, fmt.Sprintf("%s:%d: %s is %d lines", path, start.Line, name, lines))
		}
		return true
	})
	return problems, nil
}
