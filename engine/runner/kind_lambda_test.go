package runner

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/sluice-dev/sluice/engine/api"
)

// fakeLambda speaks the shape of the Lambda Invoke API:
// POST /2015-03-31/functions/{name}/invocations, X-Amz-Invocation-Type in,
// X-Amz-Function-Error out.
type fakeLambda struct {
	mu    sync.Mutex
	calls []lambdaCall
}

type lambdaCall struct {
	function, qualifier, invocationType, payload string
	signed                                       bool
}

func (f *fakeLambda) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name, ok := strings.CutPrefix(r.URL.Path, "/2015-03-31/functions/")
	name, ok2 := strings.CutSuffix(name, "/invocations")
	if r.Method != http.MethodPost || !ok || !ok2 {
		w.Header().Set("X-Amzn-Errortype", "UnknownOperationException")
		http.Error(w, `{"message":"unknown operation"}`, http.StatusNotFound)
		return
	}
	body, _ := io.ReadAll(r.Body)
	c := lambdaCall{function: name, qualifier: r.URL.Query().Get("Qualifier"),
		invocationType: r.Header.Get("X-Amz-Invocation-Type"), payload: string(body),
		signed: strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256")}
	f.mu.Lock()
	f.calls = append(f.calls, c)
	f.mu.Unlock()
	switch {
	case name == "missing":
		w.Header().Set("X-Amzn-Errortype", "ResourceNotFoundException")
		w.WriteHeader(http.StatusNotFound)
		io.WriteString(w, `{"Type":"User","message":"Function not found: missing"}`)
	case c.invocationType == "Event":
		w.WriteHeader(http.StatusAccepted)
	case name == "broken":
		w.Header().Set("X-Amz-Function-Error", "Unhandled")
		w.WriteHeader(http.StatusOK)
		io.WriteString(w, `{"errorMessage":"division by zero","errorType":"ZeroDivisionError"}`)
	default:
		w.Header().Set("X-Amz-Executed-Version", "7")
		w.WriteHeader(http.StatusOK)
		io.WriteString(w, `{"rows":42}`)
	}
}

func (f *fakeLambda) byFunction() map[string]lambdaCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]lambdaCall{}
	for _, c := range f.calls {
		out[c.function] = c
	}
	return out
}

func TestLambdaKind(t *testing.T) {
	t.Parallel()
	fake := &fakeLambda{}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	creds := aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
		return aws.Credentials{AccessKeyID: "AKIDTEST", SecretAccessKey: "secret"}, nil
	})
	h := setup(t, func(c *Config) {
		c.Kinds = DefaultKinds(LambdaConfig{
			Endpoint: srv.URL, Region: "eu-west-1",
			LoadOptions: []func(*config.LoadOptions) error{config.WithCredentialsProvider(creds)},
		}, nil)
	})
	h.dags.add(t, "lam", `{"nodes": [
		{"id": "sync", "type": "lambda", "config": {"function_name": "load-warehouse", "qualifier": "prod",
			"payload": {"config": "{{run_config}}", "note": "day={{run_config}}"}}},
		{"id": "plain", "type": "lambda", "config": {"function_name": "plain"}},
		{"id": "async", "type": "lambda", "config": {"function_name": "notify", "invocation_type": "Event"}},
		{"id": "fails", "type": "lambda", "config": {"function_name": "broken"}},
		{"id": "gone", "type": "lambda", "config": {"function_name": "missing"}}
	]}`)
	h.start()
	id := h.enqueue("lam", `{"day":"2024-06-01"}`)
	run, tasks := h.waitRun(id)
	if run.State != api.RunFailed {
		t.Fatalf("run %s", run.State)
	}
	calls := fake.byFunction()

	sync := calls["load-warehouse"]
	if sync.qualifier != "prod" || sync.invocationType != "RequestResponse" || !sync.signed {
		t.Errorf("sync call %+v", sync)
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(sync.payload), &got); err != nil {
		t.Fatalf("payload %q: %v", sync.payload, err)
	}
	if cfg, _ := got["config"].(map[string]any); cfg["day"] != "2024-06-01" || got["note"] != `day={"day":"2024-06-01"}` {
		t.Errorf("payload %q", sync.payload)
	}
	if tasks["sync"].State != "success" || !strings.Contains(tasks["sync"].LogTail, `{"rows":42}`) {
		t.Errorf("sync task %+v", tasks["sync"])
	}
	if calls["plain"].payload != `{"day":"2024-06-01"}` {
		t.Errorf("without a template the payload is the run config, got %q", calls["plain"].payload)
	}
	if calls["notify"].invocationType != "Event" || tasks["async"].State != "success" {
		t.Errorf("async call %+v task %+v", calls["notify"], tasks["async"])
	}
	if tasks["fails"].State != "failed" || !strings.Contains(tasks["fails"].Error, "function error (Unhandled): ZeroDivisionError: division by zero") {
		t.Errorf("function error task %+v", tasks["fails"])
	}
	if tasks["gone"].State != "failed" || !strings.Contains(tasks["gone"].Error, "ResourceNotFoundException") {
		t.Errorf("missing function task %+v", tasks["gone"])
	}
}

func TestRenderPayload(t *testing.T) {
	t.Parallel()
	cfg := json.RawMessage(`{"a":"x\"y"}`)
	cases := []struct{ tmpl, cfg, want string }{
		{"", `{"a":1}`, `{"a":1}`},
		{"", "", `{}`},
		{`{"c":"{{run_config}}"}`, `{"a":1}`, `{"c":{"a":1}}`},
		{`["{{run_config}}", "{{run_config}}"]`, `[1]`, `[[1],[1]]`},
		{`{"{{run_config}}": "{{run_config}}"}`, `{"a":1}`, `{"{\"a\":1}":{"a":1}}`},
		{`{"s":"cfg={{run_config}}"}`, string(cfg), `{"s":"cfg={\"a\":\"x\\\"y\"}"}`},
		{`{"fixed":true}`, `{"a":1}`, `{"fixed":true}`},
	}
	for _, c := range cases {
		got := string(renderPayload(json.RawMessage(c.tmpl), json.RawMessage(c.cfg)))
		if got != c.want {
			t.Errorf("render(%s, %s) = %s, want %s", c.tmpl, c.cfg, got, c.want)
		}
		if !json.Valid([]byte(got)) {
			t.Errorf("render(%s) is not JSON: %s", c.tmpl, got)
		}
	}
}

// FuzzRenderPayload: a JSON template and a JSON config always render to
// JSON, and a template without the placeholder is sent as it is.
func FuzzRenderPayload(f *testing.F) {
	f.Add(`{"c":"{{run_config}}"}`, `{"a":1}`)
	f.Add(`["x {{run_config}} y", "{{run_config}}"]`, `{"s":"q\"uote\\\\"}`)
	f.Add(`"{{run_config}}"`, `[]`)
	f.Add(`{"fixed":true}`, `null`)
	f.Add(`{"{{run_config}}": 1}`, `{"k":"<&>"}`)
	f.Fuzz(func(t *testing.T, tmpl, cfg string) {
		if !json.Valid([]byte(tmpl)) || !json.Valid([]byte(cfg)) {
			t.Skip()
		}
		out := renderPayload(json.RawMessage(tmpl), json.RawMessage(cfg))
		if !json.Valid(out) {
			t.Fatalf("render(%s, %s) = %s: not JSON", tmpl, cfg, out)
		}
		if !strings.Contains(tmpl, runConfigPlaceholder) && strings.TrimSpace(tmpl) != "" && string(out) != tmpl {
			t.Fatalf("template without placeholder changed: %s → %s", tmpl, out)
		}
	})
}
