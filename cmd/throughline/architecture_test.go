package main

import (
	"encoding/json"
	"io"
	"os/exec"
	"strings"
	"testing"
)

// TestDependencyRule enforces DESIGN.md section 1: domain uses only the
// standard library; adapters and web depend on domain, never on each other.
func TestDependencyRule(t *testing.T) {
	const mod = "github.com/throughline/throughline/"
	cmd := exec.Command("go", "list", "-json", "-deps=false", "../../...")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	type pkg struct {
		ImportPath string
		Deps       []string
		Standard   bool
	}
	dec := json.NewDecoder(out)
	var pkgs []pkg
	for {
		var p pkg
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	if len(pkgs) < 5 {
		t.Fatalf("only %d packages listed", len(pkgs))
	}
	isStd := func(path string) bool {
		first := strings.SplitN(path, "/", 2)[0]
		return !strings.Contains(first, ".")
	}
	area := func(path string) string {
		rel := strings.TrimPrefix(path, mod)
		parts := strings.Split(rel, "/")
		if parts[0] == "adapters" && len(parts) > 1 {
			return "adapters/" + parts[1]
		}
		return parts[0]
	}
	for _, p := range pkgs {
		if !strings.HasPrefix(p.ImportPath, mod) {
			continue
		}
		from := area(p.ImportPath)
		for _, d := range p.Deps {
			switch {
			case from == "domain":
				if !isStd(d) && !strings.HasPrefix(d, mod+"domain") {
					t.Errorf("domain package %s depends on %s", p.ImportPath, d)
				}
			case from == "web" || strings.HasPrefix(from, "adapters/"):
				if !strings.HasPrefix(d, mod) {
					continue
				}
				to := area(d)
				if to != from && (to == "web" || strings.HasPrefix(to, "adapters/") || to == "cmd") {
					t.Errorf("%s depends on %s: adapters and web must not import each other", p.ImportPath, d)
				}
			}
		}
	}
}
