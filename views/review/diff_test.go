package review

import (
	"strings"
	"testing"

	"github.com/sluice-dev/sluice/views/viewtest"
)

func TestParseDiffClassifiesByPosition(t *testing.T) {
	t.Parallel()
	d := parseDiff(viewtest.DeprecationDiff)
	want := map[string]lineKind{
		"diff --git a/models/marts/legacy_orders.sql b/models/marts/legacy_orders.sql": lineFile,
		"deleted file mode 100644":                          lineFileMeta,
		"--- a/models/marts/legacy_orders.sql":              lineFileMeta,
		"+++ /dev/null":                                     lineFileMeta,
		"@@ -1,9 +0,0 @@":                                   lineHunk,
		"--- legacy_orders: replaced by fct_orders in 2023": lineRemoved, // an SQL comment removed
		"--- +++ kept for the 2022 backfill":                lineRemoved,
		"-  - name: legacy_orders":                          lineRemoved,
		"   - name: fct_orders":                             lineContext,
		" ":                                                 lineContext,
		`\ No newline at end of file`:                       lineNote,
	}
	seen := map[string]bool{}
	for i, l := range d.lines {
		if k, ok := want[l]; ok {
			seen[l] = true
			if d.kinds[i] != k {
				t.Errorf("line %d %q: kind %d, want %d", i, l, d.kinds[i], k)
			}
		}
	}
	for l := range want {
		if !seen[l] {
			t.Errorf("the fixture lacks %q", l)
		}
	}
	if d.added != 0 || d.removed != 21 {
		t.Errorf("+%d -%d, want +0 -21", d.added, d.removed)
	}
	type file struct {
		name           string
		added, removed int
	}
	var got []file
	for _, f := range d.files {
		got = append(got, file{f.name, f.added, f.removed})
		if !strings.HasPrefix(d.lines[f.line], "diff --git") {
			t.Errorf("file %s starts at %q", f.name, d.lines[f.line])
		}
	}
	wantFiles := []file{{"models/marts/legacy_orders.sql", 0, 9}, {"models/marts/schema.yml", 0, 8}, {"models/staging/stg_old_events.sql", 0, 4}}
	if len(got) != len(wantFiles) {
		t.Fatalf("files %v, want %v", got, wantFiles)
	}
	for i := range got {
		if got[i] != wantFiles[i] {
			t.Errorf("file %d: %v, want %v", i, got[i], wantFiles[i])
		}
	}
}

func TestParseDiffShapes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name           string
		diff           string
		files          []string
		added, removed int
	}{
		{"empty", "", nil, 0, 0},
		{"plain unified diff without git header", "--- a/x.sql\n+++ b/x.sql\n@@ -1,2 +1,2 @@\n-select 1\n+select 2\n context\n", []string{"x.sql"}, 1, 1},
		{"deletion names the old file", "--- a/old.sql\n+++ /dev/null\n@@ -1 +0,0 @@\n-select 1\n", []string{"old.sql"}, 0, 1},
		{"two plain files", "--- a/a\n+++ b/a\n@@ -1 +1 @@\n-x\n+y\n--- a/b\n+++ b/b\n@@ -0,0 +1 @@\n+z\n", []string{"a", "b"}, 2, 1},
		{"added line that looks like a header", "diff --git a/a b/a\n--- a/a\n+++ b/a\n@@ -1 +1,2 @@\n a\n++++ not a header\n", []string{"a"}, 1, 0},
		{"hunk shorter than announced", "diff --git a/a b/a\n--- a/a\n+++ b/a\n@@ -1,9 +1,9 @@\n-x\ndiff --git a/b b/b\n--- a/b\n+++ b/b\n@@ -1 +1 @@\n-y\n+z\n", []string{"a", "b"}, 1, 2},
		{"empty context line without its space", "--- a/a\n+++ b/a\n@@ -1,3 +1,3 @@\n a\n\n-b\n+c\n", []string{"a"}, 1, 1},
		{"binary file, no hunk", "diff --git a/img.png b/img.png\nindex 1..2 100644\nBinary files a/img.png and b/img.png differ\ndiff --git a/c b/c\n--- a/c\n+++ b/c\n@@ -1 +1 @@\n-1\n+2\n", []string{"img.png", "c"}, 1, 1},
		{"timestamps after tabs", "--- a/x.sql\t2025-06-01\n+++ b/x.sql\t2025-06-02\n@@ -1 +1 @@\n-a\n+b\n", []string{"x.sql"}, 1, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			d := parseDiff(tc.diff)
			var names []string
			for _, f := range d.files {
				names = append(names, f.name)
			}
			if strings.Join(names, ",") != strings.Join(tc.files, ",") || d.added != tc.added || d.removed != tc.removed {
				t.Errorf("files %q +%d -%d, want %q +%d -%d", names, d.added, d.removed, tc.files, tc.added, tc.removed)
			}
			a, r, n := diffStat(tc.diff)
			if a != d.added || r != d.removed || n != len(d.files) {
				t.Errorf("diffStat = +%d -%d %d files, parseDiff +%d -%d %d files", a, r, n, d.added, d.removed, len(d.files))
			}
		})
	}
}

func TestHunkCounts(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		line     string
		old, new int
	}{
		{"@@ -1,9 +0,0 @@", 9, 0},
		{"@@ -1 +1 @@ func x()", 1, 1},
		{"@@ -2,16 +2,8 @@ version: 2", 16, 8},
		{"@@ garbage @@", 0, 0},
		{"@@ -1,x +1,2 @@", 0, 2},
		{"@@ -1,-4 +1 @@", 0, 1},
	} {
		if o, n := hunkCounts(tc.line); o != tc.old || n != tc.new {
			t.Errorf("hunkCounts(%q) = %d, %d; want %d, %d", tc.line, o, n, tc.old, tc.new)
		}
	}
}

func FuzzParseDiff(f *testing.F) {
	f.Add(viewtest.DeprecationDiff)
	f.Add(viewtest.ExposuresDiff)
	f.Add("--- a\n+++ b\n@@ -1,2 +1 @@\n-x\n\\ No newline\n")
	f.Add("@@ -99999999999999999999,1 +1 @@\n")
	f.Fuzz(func(t *testing.T, text string) {
		d := parseDiff(text)
		if len(d.kinds) != len(d.lines) {
			t.Fatalf("%d kinds for %d lines", len(d.kinds), len(d.lines))
		}
		added, removed, prev := 0, 0, -1
		for _, fl := range d.files {
			if fl.line <= prev || fl.line >= len(d.lines) {
				t.Fatalf("file starts at %d after %d of %d lines", fl.line, prev, len(d.lines))
			}
			prev = fl.line
			added += fl.added
			removed += fl.removed
		}
		if added > d.added || removed > d.removed {
			t.Fatalf("files sum to +%d -%d, diff says +%d -%d", added, removed, d.added, d.removed)
		}
		a, r, n := diffStat(text)
		if a != d.added || r != d.removed || n != len(d.files) {
			t.Fatalf("diffStat +%d -%d %d, parseDiff +%d -%d %d", a, r, n, d.added, d.removed, len(d.files))
		}
	})
}
