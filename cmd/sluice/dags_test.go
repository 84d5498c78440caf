package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/sluice-dev/sluice/engine/enginetest"
)

const dagsGoodJSON = `{"nodes": [
  {"id": "a", "type": "local", "config": {"command": "true"}},
  {"id": "b", "type": "local", "config": {"command": "true"}, "depends_on": ["a"]}
]}`

const dagsBadJSON = `{"nodes": [{"id": "a", "type": "local", "config": {"command": "true"}, "depends_on": ["ghost"]}]}`

func dagsWrite(t *testing.T, root, rel, content string) string {
	t.Helper()
	p := filepath.Join(root, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// dagsRun runs a command in-process with an environment of its own.
func dagsRun(t *testing.T, env map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	e := &cliEnv{stdout: &out, stderr: &errb, stdin: strings.NewReader(""), getenv: func(k string) string { return env[k] }}
	code = dispatch(context.Background(), e, args)
	return code, out.String(), errb.String()
}

type dagsListRow struct {
	Name     string `json:"name"`
	Source   string `json:"source"`
	Location string `json:"location"`
	Status   string `json:"status"`
	Nodes    int    `json:"nodes"`
	Error    string `json:"error"`
}

func TestDagsListLocal(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	dagsWrite(t, dir, "prod/etl.json", dagsGoodJSON)
	env := map[string]string{"DAGS_DIR": dir}

	t.Run("all good", func(t *testing.T) {
		code, out, errOut := dagsRun(t, env, "dags", "list")
		if code != exitOK || !strings.Contains(out, "prod/etl") || !strings.Contains(out, "active") || errOut != "" {
			t.Errorf("code %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
		}
		if !strings.HasPrefix(out, "NAME") {
			t.Errorf("no header:\n%s", out)
		}
	})

	bad := dagsWrite(t, dir, "broken.json", dagsBadJSON)
	dagsWrite(t, dir, "prod/etl.star", `dag = {"nodes": [{"id": "x", "type": "local", "config": {"command": "true"}}]}`)

	t.Run("json with invalid and conflict exits 1", func(t *testing.T) {
		code, out, _ := dagsRun(t, env, "dags", "list", "--json")
		if code != exitFailed {
			t.Errorf("code = %d, want %d", code, exitFailed)
		}
		var rows []dagsListRow
		if err := json.Unmarshal([]byte(out), &rows); err != nil {
			t.Fatalf("not JSON: %v\n%s", err, out)
		}
		want := []dagsListRow{
			{Name: "broken", Source: "local", Location: bad, Status: "invalid", Nodes: 0},
			{Name: "prod/etl", Source: "local", Location: filepath.Join(dir, "prod/etl.json"), Status: "active", Nodes: 2},
			{Name: "prod/etl", Source: "local", Location: filepath.Join(dir, "prod/etl.star"), Status: "conflict", Nodes: 1},
		}
		if len(rows) != len(want) {
			t.Fatalf("rows = %+v", rows)
		}
		for i := range want {
			got := rows[i]
			got.Error = ""
			if got != want[i] {
				t.Errorf("row %d = %+v, want %+v", i, rows[i], want[i])
			}
		}
		if !strings.Contains(rows[0].Error, `"ghost"`) || !strings.Contains(rows[2].Error, "etl.json") {
			t.Errorf("errors: %q, %q", rows[0].Error, rows[2].Error)
		}
	})

	t.Run("text shows errors", func(t *testing.T) {
		code, out, _ := dagsRun(t, env, "dags", "list")
		if code != exitFailed || !strings.Contains(out, `unknown node "ghost"`) || !strings.Contains(out, "name held by") {
			t.Errorf("code %d\n%s", code, out)
		}
	})

	t.Run("flag wins over env", func(t *testing.T) {
		other := t.TempDir()
		dagsWrite(t, other, "only.json", dagsGoodJSON)
		code, out, _ := dagsRun(t, env, "dags", "list", "--dags-dir", other, "--json")
		if code != exitOK || !strings.Contains(out, `"only"`) || strings.Contains(out, "broken") {
			t.Errorf("code %d\n%s", code, out)
		}
	})
}

func TestDagsListUsageAndUnreadableSource(t *testing.T) {
	t.Parallel()
	missing := filepath.Join(t.TempDir(), "nope")
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
		code int
		err  string
	}{
		{"missing folder", map[string]string{"DAGS_DIR": missing}, nil, exitUsage, "could not be read"},
		{"bad env", map[string]string{"DAGS_SCAN_INTERVAL": "soon"}, nil, exitUsage, "DAGS_SCAN_INTERVAL"},
		{"bad flag", nil, []string{"--nope"}, exitUsage, "flag provided but not defined"},
		{"stray argument", nil, []string{"extra"}, exitUsage, "unexpected argument"},
		{"help", nil, []string{"--help"}, exitOK, "DAGS_S3_BUCKET"},
		{"disabled loads nothing", map[string]string{"DAGS_ENABLED": "false", "DAGS_DIR": missing}, []string{"--json"}, exitOK, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := dagsRun(t, tc.env, append([]string{"dags", "list"}, tc.args...)...)
			if code != tc.code || !strings.Contains(errOut, tc.err) {
				t.Errorf("code %d (want %d)\nstdout: %s\nstderr: %s", code, tc.code, out, errOut)
			}
		})
	}
	if code, out, _ := dagsRun(t, map[string]string{"DAGS_ENABLED": "false"}, "dags", "list", "--json"); code != exitOK || strings.TrimSpace(out) != "[]" {
		t.Errorf("disabled --json = %d %q, want an empty array", code, out)
	}
}

// dagsFakeS3 serves a bucket over httptest; forbid makes listings fail with
// 403 AccessDenied.
func dagsFakeS3(t *testing.T) (*s3mem.Backend, *httptest.Server, *atomic.Bool) {
	t.Helper()
	backend := s3mem.New()
	if err := backend.CreateBucket("dags"); err != nil {
		t.Fatal(err)
	}
	inner := gofakes3.New(backend).Server()
	forbid := new(atomic.Bool)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if forbid.Load() && r.URL.Query().Get("list-type") == "2" {
			w.WriteHeader(http.StatusForbidden)
			fmt.Fprint(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>no</Message></Error>`)
			return
		}
		inner.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return backend, srv, forbid
}

// TestDagsListS3 goes through the real SDK and the standard AWS chain, which
// reads credentials from the process environment: not parallel.
func TestDagsListS3(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	backend, srv, forbid := dagsFakeS3(t)
	for key, body := range map[string]string{"team/etl.json": dagsGoodJSON, "team/sub/bad.json": dagsBadJSON} {
		if _, err := backend.PutObject("dags", key, map[string]string{}, strings.NewReader(body), int64(len(body)), nil); err != nil {
			t.Fatal(err)
		}
	}
	env := map[string]string{
		"DAGS_ENABLED": "true", "DAGS_DIR": "", "DAGS_S3_BUCKET": "dags", "DAGS_S3_PREFIX": "team",
		"AWS_ENDPOINT_URL_S3": srv.URL,
	}
	code, out, errOut := dagsRun(t, env, "dags", "list", "--json", "--dags-dir=")
	var rows []dagsListRow
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatalf("code %d, not JSON: %v\n%s\n%s", code, err, out, errOut)
	}
	if code != exitFailed || len(rows) != 2 || rows[0].Name != "etl" || rows[0].Source != "s3" ||
		rows[0].Location != "s3://dags/team/etl.json" || rows[0].Nodes != 2 || rows[1].Status != "invalid" {
		t.Errorf("code %d rows %+v\nstderr: %s", code, rows, errOut)
	}

	forbid.Store(true)
	code, _, errOut = dagsRun(t, env, "dags", "list", "--dags-dir=")
	if code != exitUsage || !strings.Contains(errOut, "AccessDenied") {
		t.Errorf("forbidden listing: code %d, stderr %s", code, errOut)
	}
}

// dagsLines is a stdout that signals each write, so a test can wait for a
// line without sleeping.
type dagsLines struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	wrote chan struct{}
}

func (w *dagsLines) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n, err := w.buf.Write(p)
	select {
	case w.wrote <- struct{}{}:
	default:
	}
	return n, err
}

func (w *dagsLines) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

func (w *dagsLines) waitFor(t *testing.T, want string) {
	t.Helper()
	if !enginetest.PollOn(w.wrote, 10*time.Second, func() bool { return strings.Contains(w.String(), want) }) {
		t.Fatalf("timed out waiting for %q in:\n%s", want, w.String())
	}
}

func TestDagsWatch(t *testing.T) {
	t.Parallel()
	for _, asJSON := range []bool{false, true} {
		t.Run(fmt.Sprintf("json=%v", asJSON), func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			dagsWrite(t, dir, "first.json", dagsGoodJSON)
			out := &dagsLines{wrote: make(chan struct{}, 1)}
			var errOut bytes.Buffer
			e := &cliEnv{stdout: out, stderr: &errOut, stdin: strings.NewReader(""),
				getenv: func(k string) string { return map[string]string{"DAGS_DIR": dir}[k] }}
			ctx, cancel := context.WithCancel(context.Background())
			args := []string{"dags", "watch"}
			if asJSON {
				args = append(args, "--json")
			}
			done := make(chan int)
			go func() { done <- dispatch(ctx, e, args) }()

			word := func(kind, name string) string {
				if asJSON {
					return fmt.Sprintf(`"name":%q,"change":%q`, name, kind)
				}
				return fmt.Sprintf("%-8s %s (local", kind, name)
			}
			out.waitFor(t, word("loaded", "first"))
			dagsWrite(t, dir, "second.json", dagsGoodJSON)
			out.waitFor(t, word("loaded", "second"))
			dagsWrite(t, dir, "second.json", dagsBadJSON)
			out.waitFor(t, word("invalid", "second"))
			if err := os.Remove(filepath.Join(dir, "first.json")); err != nil {
				t.Fatal(err)
			}
			out.waitFor(t, word("deleted", "first"))

			cancel()
			select {
			case code := <-done:
				if code != exitOK {
					t.Errorf("watch exited %d: %s", code, errOut.String())
				}
			case <-time.After(10 * time.Second):
				t.Fatal("watch did not stop when interrupted")
			}
			if asJSON {
				for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
					var ev map[string]any
					if err := json.Unmarshal([]byte(line), &ev); err != nil || ev["name"] == nil || ev["change"] == nil {
						t.Errorf("bad JSON line %q: %v", line, err)
					}
				}
			}
		})
	}
}

// A DAG folder that cannot be read is named once, by the source that
// failed, not again by each layer under it.
func TestUnreadableFolderNamedOnce(t *testing.T) {
	t.Parallel()
	missing := filepath.Join(t.TempDir(), "gone")
	code, _, errOut := runCmd(context.Background(), nil, "dags", "list", "--dags-dir", missing)
	if code != exitUsage || strings.Count(errOut, missing) != 1 || !strings.Contains(errOut, "no such file or directory") {
		t.Errorf("exit %d, stderr %q: want 2 and the folder named once", code, errOut)
	}
}
