package views_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Styles come from the renderer of the terminal a console draws on (one
// per SSH session), never from lipgloss's global one: a style built with
// lipgloss.NewStyle would render for the server's terminal instead.
func TestFrontEndBuildsNoStyleFromTheGlobalRenderer(t *testing.T) {
	t.Parallel()
	var scanned int
	for _, root := range []string{".", filepath.Join("..", "tui")} {
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return err
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			scanned++
			for i, line := range strings.Split(string(b), "\n") {
				if strings.Contains(line, "lipgloss.NewStyle(") {
					t.Errorf("%s:%d builds a style from the global renderer: %s", path, i+1, strings.TrimSpace(line))
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if scanned < 20 {
		t.Fatalf("scanned %d files; the check ran on the wrong tree", scanned)
	}
}
