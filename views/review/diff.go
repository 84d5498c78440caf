package review

import (
	"strconv"
	"strings"
)

// lineKind is what a line of a unified diff is, decided by where it stands,
// not only by its first character: inside a hunk, "--- x" is a removed
// line "-- x" (an SQL comment), not a file header.
type lineKind uint8

const (
	lineContext  lineKind = iota // unchanged line, or text outside any file
	lineAdded                    // "+" inside a hunk
	lineRemoved                  // "-" inside a hunk
	lineHunk                     // "@@ -a,b +c,d @@"
	lineFile                     // a file's first line: "diff --git" (or "---" without one)
	lineFileMeta                 // index, mode, rename, ---/+++ headers
	lineNote                     // "\ No newline at end of file"
)

// diffFile is one file of a diff: where it starts and what it changes.
type diffFile struct {
	line           int // index of the file's first line
	name           string
	added, removed int
}

// diffReader classifies a diff line by line. It counts the lines each hunk
// header announces, so it knows where a hunk ends.
type diffReader struct {
	oldLeft, newLeft int
	inHeader         bool // between "diff --git" and the first hunk
}

// next classifies one line; startsFile reports a new file beginning here.
func (r *diffReader) next(line string) (kind lineKind, startsFile bool) {
	if r.oldLeft > 0 || r.newLeft > 0 {
		switch {
		case strings.HasPrefix(line, "+"):
			r.newLeft--
			return lineAdded, false
		case strings.HasPrefix(line, "-"):
			r.oldLeft--
			return lineRemoved, false
		case strings.HasPrefix(line, " "), line == "":
			// Some tools strip the space of an empty context line.
			r.oldLeft--
			r.newLeft--
			return lineContext, false
		case strings.HasPrefix(line, `\`):
			return lineNote, false
		}
		// A hunk shorter than announced: read on as headers.
		r.oldLeft, r.newLeft = 0, 0
	}
	switch {
	case strings.HasPrefix(line, `\`):
		return lineNote, false
	case strings.HasPrefix(line, "diff "):
		r.inHeader = true
		return lineFile, true
	case strings.HasPrefix(line, "@@"):
		r.inHeader = false
		r.oldLeft, r.newLeft = hunkCounts(line)
		return lineHunk, false
	case strings.HasPrefix(line, "--- "):
		if !r.inHeader {
			// A plain unified diff: the file starts at its "---" line.
			r.inHeader = true
			return lineFile, true
		}
		return lineFileMeta, false
	case r.inHeader && isHeaderLine(line):
		return lineFileMeta, false
	}
	return lineContext, false
}

func isHeaderLine(line string) bool {
	for _, p := range []string{"+++ ", "index ", "new file mode", "deleted file mode", "old mode", "new mode",
		"similarity index", "dissimilarity index", "rename from", "rename to", "copy from", "copy to", "Binary files"} {
		if strings.HasPrefix(line, p) {
			return true
		}
	}
	return false
}

// hunkCounts reads the old and new line counts of "@@ -a[,b] +c[,d] @@";
// an absent count is 1. A header it cannot read counts as empty.
func hunkCounts(line string) (oldN, newN int) {
	rest, ok := strings.CutPrefix(line, "@@ -")
	if !ok {
		return 0, 0
	}
	oldR, rest, ok := strings.Cut(rest, " +")
	if !ok {
		return 0, 0
	}
	newR, _, ok := strings.Cut(rest, " @@")
	if !ok {
		return 0, 0
	}
	return rangeCount(oldR), rangeCount(newR)
}

func rangeCount(r string) int {
	_, n, ok := strings.Cut(r, ",")
	if !ok {
		return 1
	}
	v, err := strconv.Atoi(n)
	if err != nil || v < 0 {
		return 0
	}
	return v
}

// fileName is the path a header line names: "diff --git a/x b/y" → y,
// "+++ b/y" → y, "--- a/x" → x; "" for /dev/null.
func fileName(line string) string {
	if rest, ok := strings.CutPrefix(line, "diff --git "); ok {
		if i := strings.LastIndex(rest, " b/"); i >= 0 {
			return rest[i+3:]
		}
		return rest
	}
	for _, p := range []string{"+++ ", "--- "} {
		if rest, ok := strings.CutPrefix(line, p); ok {
			rest, _, _ = strings.Cut(rest, "\t") // a timestamp after a tab
			if rest == "/dev/null" {
				return ""
			}
			if len(rest) > 2 && (rest[:2] == "a/" || rest[:2] == "b/") {
				return rest[2:]
			}
			return rest
		}
	}
	return ""
}

// parsedDiff is a diff split into classified lines and files.
type parsedDiff struct {
	lines          []string
	kinds          []lineKind
	files          []diffFile
	added, removed int
	width          int // widest line, -1 until widest computes it
}

// parseDiff reads a unified diff (git's or plain). It never fails: what it
// cannot place is shown as context.
func parseDiff(text string) parsedDiff {
	text = strings.TrimSuffix(text, "\n")
	d := parsedDiff{width: -1}
	if text == "" {
		return d
	}
	d.lines = strings.Split(text, "\n")
	d.kinds = make([]lineKind, len(d.lines))
	var r diffReader
	for i, line := range d.lines {
		kind, starts := r.next(line)
		d.kinds[i] = kind
		if starts {
			d.files = append(d.files, diffFile{line: i, name: fileName(line)})
		}
		switch kind {
		case lineAdded:
			d.added++
		case lineRemoved:
			d.removed++
		}
		if len(d.files) == 0 {
			continue // a hunk before any file header still counts above
		}
		f := &d.files[len(d.files)-1]
		switch kind {
		case lineAdded:
			f.added++
		case lineRemoved:
			f.removed++
		case lineFileMeta:
			// "+++ b/new" names a file better than "diff --git"; for a
			// deletion ("+++ /dev/null") the "--- a/old" line does.
			if n := fileName(line); n != "" && (strings.HasPrefix(line, "+++ ") || f.name == "") {
				f.name = n
			}
		}
	}
	return d
}

// diffStat counts added and removed lines and files without keeping the
// lines, for the list's size column.
func diffStat(text string) (added, removed, files int) {
	var r diffReader
	for text != "" {
		var line string
		line, text, _ = strings.Cut(text, "\n")
		kind, starts := r.next(line)
		switch {
		case starts:
			files++
		case kind == lineAdded:
			added++
		case kind == lineRemoved:
			removed++
		}
	}
	return added, removed, files
}

// fileAt is the index of the file line i belongs to, -1 before the first.
func (d *parsedDiff) fileAt(i int) int {
	f := -1
	for j := range d.files {
		if d.files[j].line > i {
			break
		}
		f = j
	}
	return f
}
