package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/engine/review"
)

// The operator's commands print what files, remotes and operators wrote:
// a DAG file name, a reason, a file's content. Each feeds the hostile
// characters of issue 18 — ESC ] 0;…BEL, ESC [2J, a newline, a bidi
// override, a C1 CSI — and none may reach the terminal raw.

// hostileName is a DAG (its file's stem) that clears the screen, forges a
// row and reverses what follows.
const hostileName = "ev" + escClear + "il\nx" + bidi + c1CSI

func TestAuditEscapesTargetsAndReasons(t *testing.T) {
	t.Parallel()
	vars, _ := operateSetup(t)
	dagsWrite(t, vars["DAGS_DIR"], hostileName+".json", dagsGoodJSON)
	ctx := context.Background()
	reason := "r" + escTitle + "\nsecond" + bidi + c1CSI
	code, out, errOut := runCmd(ctx, vars, "dags", "pause", hostileName, "--reason", reason)
	if code != exitOK {
		t.Fatalf("pause: exit %d %q %q", code, out, errOut)
	}
	assertNoRawControl(t, "dags pause", out+errOut)
	if code, out, errOut := runCmd(ctx, vars, "dags", "pause", "known", "--reason", "clean"); code != exitOK {
		t.Fatalf("pause known: exit %d %q %q", code, out, errOut)
	}

	code, out, errOut = runCmd(ctx, vars, "audit")
	if code != exitOK {
		t.Fatalf("audit: exit %d %q %q", code, out, errOut)
	}
	assertNoRawControl(t, "audit", out+errOut)
	for _, want := range []string{`dag ev\x1b[2Jil\nx\u202e\u009b`, `r\x1b]0;pwned\x07\nsecond\u202e\u009b`} {
		if !strings.Contains(out, want) {
			t.Errorf("audit lacks the escaped %q:\n%s", want, out)
		}
	}
	if lines := strings.Count(out, "\n"); lines != 3 {
		t.Errorf("audit printed %d lines, want a header and 2 rows:\n%s", lines, out)
	}

	// --json keeps the values: JSON escapes them in its own syntax.
	code, out, errOut = runCmd(ctx, vars, "audit", "--json")
	if code != exitOK {
		t.Fatalf("audit --json: exit %d %q %q", code, out, errOut)
	}
	assertNoRawControl(t, "audit --json", out+errOut)
	var entries []api.AuditEntry
	if err := json.Unmarshal([]byte(out), &entries); err != nil {
		t.Fatalf("audit --json is not JSON: %v\n%s", err, out)
	}
	if len(entries) != 2 || entries[1].Target != "dag "+hostileName || entries[1].Reason != reason {
		t.Errorf("audit --json changed the values: %+v", entries)
	}
}

// versionsSetup stores two versions of "chain": the first from a file
// whose name is hostile, the second with hostile content.
func versionsSetup(t *testing.T) map[string]string {
	t.Helper()
	vars, state := operateSetup(t)
	st := openStore(t, state)
	defer st.Close()
	at := time.Now()
	vs := []api.DAGVersion{
		{DAG: "chain", SHA256: "sum-one", Source: "dags/" + hostileName + ".json", Content: []byte("{\n\t\"a\": 1\n}\n"), LastSeen: at},
		{DAG: "chain", SHA256: "sum-two", Source: "dags/chain.json", LastSeen: at.Add(time.Second),
			Content: []byte("{\n\t\"a\": \"" + escTitle + escClear + bidi + c1CSI + "\",\r\n\t\"b\": 2\n}\n")},
	}
	for _, v := range vs {
		if _, err := st.RecordDAGVersions(context.Background(), []api.DAGVersion{v}, 0); err != nil {
			t.Fatal(err)
		}
	}
	return vars
}

func TestDagsVersionsAndDiffEscapeSourcesAndContent(t *testing.T) {
	t.Parallel()
	vars := versionsSetup(t)
	ctx := context.Background()

	code, out, errOut := runCmd(ctx, vars, "dags", "versions", "chain")
	if code != exitOK || !strings.Contains(out, `dags/ev\x1b[2Jil\nx\u202e\u009b.json`) {
		t.Fatalf("dags versions: exit %d\n%s\n%s", code, out, errOut)
	}
	assertNoRawControl(t, "dags versions", out+errOut)
	if lines := strings.Count(out, "\n"); lines != 3 {
		t.Errorf("dags versions printed %d lines, want a header and 2 rows:\n%s", lines, out)
	}

	code, out, errOut = runCmd(ctx, vars, "dags", "versions", "chain", "--json")
	if code != exitOK {
		t.Fatalf("dags versions --json: exit %d %q", code, errOut)
	}
	assertNoRawControl(t, "dags versions --json", out+errOut)
	var vs []api.DAGVersion
	if err := json.Unmarshal([]byte(out), &vs); err != nil || len(vs) != 2 || vs[1].Source != "dags/"+hostileName+".json" {
		t.Errorf("dags versions --json = %+v, %v; want the source as stored\n%s", vs, err, out)
	}

	code, out, errOut = runCmd(ctx, vars, "dags", "diff", "chain", "1", "2")
	if code != exitOK {
		t.Fatalf("dags diff: exit %d %q", code, errOut)
	}
	assertNoRawControl(t, "dags diff", out+errOut)
	for _, want := range []string{
		"--- dags/ev\\x1b[2Jil\\nx\\u202e\\u009b.json v1\n",            // the label one line
		"+\t\"a\": \"\\x1b]0;pwned\\x07\\x1b[2J\\u202e\\u009b\",\\r\n", // tab kept, CR shown
		"\n-\t\"a\": 1\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("dags diff lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "\r") {
		t.Errorf("dags diff prints a raw CR:\n%q", out)
	}
}

func TestVersionNotStoredAndUnpinNotPinned(t *testing.T) {
	t.Parallel()
	vars := versionsSetup(t)
	ctx := context.Background()
	for _, args := range [][]string{{"dags", "diff", "chain", "1", "7"}, {"dags", "pin", "chain", "7"}} {
		code, out, errOut := runCmd(ctx, vars, args...)
		if code != exitUsage || !strings.Contains(errOut, `version 7 of "chain" is not stored`) || strings.Contains(errOut, "run not found") {
			t.Errorf("%v: exit %d %q %q; want 2 and the version not stored", args, code, out, errOut)
		}
	}
	steps := []struct {
		args []string
		want string
	}{
		{[]string{"dags", "unpin", "chain"}, "chain is not pinned: nothing changed\n"},
		{[]string{"dags", "pin", "chain", "1"}, "pinned chain to v1\n"},
		{[]string{"dags", "pin", "chain", "v1"}, "chain is already pinned to v1: nothing changed\n"},
		{[]string{"dags", "unpin", "chain"}, "unpinned chain\n"},
	}
	for _, s := range steps {
		if code, out, errOut := runCmd(ctx, vars, s.args...); code != exitOK || out != s.want {
			t.Errorf("%v: exit %d %q (stderr %q); want %q", s.args, code, out, errOut, s.want)
		}
	}
	_, out, _ := runCmd(ctx, vars, "audit")
	if !strings.Contains(out, "unchanged: not pinned") {
		t.Errorf("the audit log does not record the unpin that changed nothing:\n%s", out)
	}
}

func TestValidateEscapesHostileFileNames(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	validateWrite(t, root, "d3/evil"+escClear+"name"+bidi+c1CSI+".json", `{"nodes": [{"id": "a`+`\u001b]0;pwned\u0007", "type": "nosuch"}]}`)
	validateWrite(t, root, "d3/two\nlines.json", "{\"nodes\": [\x1b[2J")
	code, out, errOut := validateRun(t, nil, root)
	if code != exitFailed {
		t.Errorf("code %d, want %d\n%s\n%s", code, exitFailed, out, errOut)
	}
	assertNoRawControl(t, "validate", out+errOut)
	for _, want := range []string{`evil\x1b[2Jname\u202e\u009b.json`, `two\nlines.json`} {
		if !strings.Contains(out, want) {
			t.Errorf("validate lacks the escaped %q:\n%s", want, out)
		}
	}
	code, out, errOut = validateRun(t, nil, "--json", root)
	if code != exitFailed {
		t.Errorf("--json code %d", code)
	}
	assertNoRawControl(t, "validate --json", out+errOut)
	var results []validateResult
	if err := json.Unmarshal([]byte(out), &results); err != nil || len(results) != 2 {
		t.Fatalf("validate --json: %v\n%s", err, out)
	}
	if !strings.Contains(results[0].File+results[1].File, "evil"+escClear+"name"+bidi+c1CSI+".json") {
		t.Errorf("validate --json changed the file names: %+v", results)
	}
}

func TestReviewShowEscapesNotesAndDiff(t *testing.T) {
	t.Parallel()
	hostile := escTitle + escClear + bidi + c1CSI
	it := &review.Item{ID: 3, Kind: review.KindDeprecate, State: api.ReviewPROpen, Title: "drop " + hostile + "\nforged",
		Branch: "sluice/" + hostile, BaseBranch: "main", Remote: "origin" + hostile, URL: "https://x/" + hostile,
		Error:    "push: remote said\n" + hostile,
		Subjects: []review.Subject{{Name: "m" + hostile, Reason: "unused" + hostile, Result: hostile}},
		Notes:    []string{"note" + hostile},
		History: []review.Event{{At: time.Now(), State: api.ReviewStaged, Note: "remote: rejected" + hostile + "\nremote: hook said no"},
			{At: time.Now(), State: api.ReviewPROpen, Note: "GitHub: 422 " + hostile}},
		Diff: "--- a/m.sql\n+++ b/m.sql\n@@ -1 +1 @@\n-select 1\r\n+\tselect " + hostile + "\n",
	}
	var b strings.Builder
	printReview(&b, it)
	out := b.String()
	assertNoRawControl(t, "review show", out)
	for _, want := range []string{
		`drop \x1b]0;pwned\x07\x1b[2J\u202e\u009b\nforged`,
		"remote: rejected\\x1b]0;pwned\\x07\\x1b[2J\\u202e\\u009b\n" + strings.Repeat(" ", 33) + "remote: hook said no",
		"GitHub: 422 \\x1b]0;pwned",
		"-select 1\\r\n+\tselect \\x1b]0;pwned",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("review show lacks %q:\n%s", want, out)
		}
	}
}
