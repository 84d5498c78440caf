package config_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluice-dev/sluice/cmd/internal/config"
)

// marker stands for a secret someone put in the file by mistake.
const marker = "ghp_FUZZSECRET0001"

// FuzzConfigFile: any bytes either parse or fail with an error that names
// the file; a parsed file checks without panicking, every setting carries
// a line, and no check error quotes a value (the planted secret).
func FuzzConfigFile(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join("testdata", "*.yaml"))
	for _, p := range seeds {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("state-dir: /s\nbrokers: [a, b]\nserve:\n  ssh: :22\n"))
	f.Add([]byte("a: &x [1, 2]\nb: *x\n"))
	f.Add([]byte("github-token: ghp_FUZZSECRET0001\n"))
	f.Add([]byte("? [a]\n: b\n"))
	f.Add([]byte("- 1\n"))
	f.Add([]byte("run: {workers: ghp_FUZZSECRET0001}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := config.Parse("fuzz.yaml", data)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz.yaml") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		for k, v := range file.Global {
			if v.Line <= 0 || k != config.FlagName(v.Key) {
				t.Fatalf("setting %q recorded as %+v", k, v)
			}
		}
		err = file.Check(schema())
		if err != nil {
			if !errors.Is(err, config.ErrInvalid) {
				t.Fatalf("check error %v does not wrap ErrInvalid", err)
			}
			// Keys are names and are quoted; values never are.
			if strings.Contains(err.Error(), marker) && !keyContains(file, marker) {
				t.Fatalf("check error quotes a value: %v", err)
			}
		}
	})
}

func keyContains(f *config.File, s string) bool {
	for sec, m := range f.Sections {
		if strings.Contains(sec, s) {
			return true
		}
		for _, v := range m {
			if strings.Contains(v.Key, s) {
				return true
			}
		}
	}
	for _, v := range f.Global {
		if strings.Contains(v.Key, s) {
			return true
		}
	}
	return false
}
