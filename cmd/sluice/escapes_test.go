package main

import (
	"context"
	"strings"
	"testing"

	"github.com/sluice-dev/sluice/engine/store"
)

// Hostile inputs of issue 18: a node id (a JSON key path) that retitles the
// terminal, a file name that clears it, a name with a newline that forges a
// table row, a bidi override that reverses what follows.
const (
	escTitle = "\x1b]0;pwned\x07"
	escClear = "\x1b[2J"
	bidi     = "\u202e"
	c1CSI    = "\u009b" // a CSI on terminals that honour 8-bit controls
)

func assertNoRawControl(t *testing.T, what, out string) {
	t.Helper()
	if strings.ContainsAny(out, "\x1b\x07"+bidi+c1CSI) {
		t.Errorf("%s prints raw control characters:\n%q", what, out)
	}
}

func TestDagsListEscapesHostileNames(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	dagsWrite(t, dir, "clear"+escClear+".json", dagsGoodJSON)
	dagsWrite(t, dir, "two\nlines.json", dagsGoodJSON)
	dagsWrite(t, dir, "title.json", `{"nodes": [{"id": "a`+`\u001b]0;pwned\u0007", "type": "local", "config": {"command": "true"}, "depends_on": ["gh`+`\u001b[2Jost"]}]}`)
	dagsWrite(t, dir, "rev"+bidi+"nosj.json", dagsBadJSON)
	env := map[string]string{"DAGS_DIR": dir}

	code, out, errOut := dagsRun(t, env, "dags", "list")
	if code != exitFailed {
		t.Errorf("code %d, want %d (invalid files)\n%s\n%s", code, exitFailed, out, errOut)
	}
	assertNoRawControl(t, "dags list", out+errOut)
	for _, want := range []string{`clear\x1b[2J`, `two\nlines`, `\x1b]0;pwned\x07`, `rev\u202enosj`} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks the escaped %q:\n%s", want, out)
		}
	}
	// One table row per file: the newline in a name forges no row.
	table, _, _ := strings.Cut(out, "\n\n")
	if rows := len(strings.Split(table, "\n")); rows != 1+4 {
		t.Errorf("table has %d lines, want a header and 4 rows:\n%s", rows, table)
	}

	code, out, errOut = dagsRun(t, env, "dags", "list", "--json")
	if code != exitFailed {
		t.Errorf("--json code %d", code)
	}
	assertNoRawControl(t, "dags list --json", out+errOut)
}

func TestDagsListS3EscapesHostileContent(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	backend, srv, _ := dagsFakeS3(t)
	// A key with ESC cannot travel in S3's XML listing; a bidi override can.
	body := `{"nodes": [{"id": "x", "type": "local", "config": {"command": "true ` + bidi + `"}, "depends_on": ["` + bidi + `"]}]}`
	for key, b := range map[string]string{"team/evil" + bidi + ".json": body, "team/bad.json": "{\"nodes\": [\x1b[2J"} {
		if _, err := backend.PutObject("dags", key, map[string]string{}, strings.NewReader(b), int64(len(b)), nil); err != nil {
			t.Fatal(err)
		}
	}
	env := map[string]string{"DAGS_DIR": "", "DAGS_S3_BUCKET": "dags", "DAGS_S3_PREFIX": "team", "AWS_ENDPOINT_URL_S3": srv.URL}
	code, out, errOut := dagsRun(t, env, "dags", "list", "--dags-dir=")
	if code != exitFailed || !strings.Contains(out, `evil\u202e`) {
		t.Errorf("code %d\n%s\n%s", code, out, errOut)
	}
	assertNoRawControl(t, "dags list (s3)", out+errOut)
}

func TestRunsListEscapesHostileNames(t *testing.T) {
	t.Parallel()
	state := t.TempDir()
	vars := map[string]string{"DAGS_DIR": t.TempDir(), "SLUICE_STATE_DIR": state}
	ctx := context.Background()
	name := "ghost" + escClear + "\nforged row"
	// trigger refuses a name no DAG has, escaped; the store may still hold
	// runs of one (a file since deleted, a name from another engine).
	if code, out, errOut := runCmd(ctx, vars, "trigger", name); code != exitUsage || !strings.Contains(errOut, `ghost\x1b[2J\nforged row`) {
		t.Fatalf("trigger: %d %q %q", code, out, errOut)
	}
	st := openStore(t, state)
	if _, err := st.CreateRun(ctx, store.NewRun{DAG: name}); err != nil {
		t.Fatal(err)
	}
	st.Close()
	code, out, errOut := runCmd(ctx, vars, "runs", "list")
	if code != exitOK || !strings.Contains(out, `ghost\x1b[2J\nforged row`) {
		t.Fatalf("runs list: %d %q %q", code, out, errOut)
	}
	assertNoRawControl(t, "runs list", out+errOut)
	if rows := strings.Count(out, "\n"); rows != 2 {
		t.Errorf("runs list printed %d lines, want a header and one row:\n%s", rows, out)
	}
}
