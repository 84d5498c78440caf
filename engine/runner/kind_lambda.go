package runner

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/smithy-go/logging"

	"github.com/sluice-dev/sluice/engine/dag"
)

// LambdaInvoker is the part of the Lambda client the lambda kind uses.
type LambdaInvoker interface {
	Invoke(ctx context.Context, in *lambda.InvokeInput, opts ...func(*lambda.Options)) (*lambda.InvokeOutput, error)
}

// LambdaConfig configures the Lambda client of the default kinds.
type LambdaConfig struct {
	// Endpoint overrides the service endpoint (tests, LocalStack). Empty:
	// AWS, or AWS_ENDPOINT_URL_LAMBDA through the standard chain.
	Endpoint string
	// Region overrides the standard chain's region.
	Region string
	// LoadOptions are extra options for config.LoadDefaultConfig (tests
	// pass static credentials).
	LoadOptions []func(*config.LoadOptions) error
}

// NewLambdaClient builds a Lambda client from the standard AWS chain, its
// SDK log routed to logger.
func NewLambdaClient(ctx context.Context, cfg LambdaConfig, logger *slog.Logger) (*lambda.Client, error) {
	opts := append([]func(*config.LoadOptions) error{config.WithLogger(sdkLogger(logger))}, cfg.LoadOptions...)
	if cfg.Region != "" {
		opts = append(opts, config.WithRegion(cfg.Region))
	}
	awsCfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("loading AWS config: %w", err)
	}
	return lambda.NewFromConfig(awsCfg, func(o *lambda.Options) {
		if cfg.Endpoint != "" {
			o.BaseEndpoint = aws.String(cfg.Endpoint)
		}
	}), nil
}

// sdkLogger sends the SDK's log lines to slog: warnings as warnings, the
// rest at debug level.
func sdkLogger(logger *slog.Logger) logging.Logger {
	if logger == nil {
		return logging.Nop{}
	}
	return logging.LoggerFunc(func(c logging.Classification, format string, v ...any) {
		level := slog.LevelDebug
		if c == logging.Warn {
			level = slog.LevelWarn
		}
		logger.Log(context.Background(), level, fmt.Sprintf(format, v...), "component", "aws-sdk")
	})
}

// LambdaKind returns the lambda task kind. The client is made by newClient
// on first use, so an engine without lambda tasks never loads AWS config.
func LambdaKind(newClient func(ctx context.Context) (LambdaInvoker, error)) KindFunc {
	var (
		mu     sync.Mutex
		client LambdaInvoker
	)
	get := func(ctx context.Context) (LambdaInvoker, error) {
		mu.Lock()
		defer mu.Unlock()
		if client != nil {
			return client, nil
		}
		c, err := newClient(ctx)
		if err != nil {
			return nil, err
		}
		client = c
		return c, nil
	}
	return func(ctx context.Context, t *TaskRun) error {
		lt, ok := t.Node.Task.(*dag.LambdaTask)
		if !ok || lt.FunctionName == "" {
			return fmt.Errorf("lambda task %q: %w", t.Node.ID, errNoTask)
		}
		c, err := get(ctx)
		if err != nil {
			return err
		}
		return invokeLambda(ctx, c, lt, t)
	}
}

func invokeLambda(ctx context.Context, c LambdaInvoker, lt *dag.LambdaTask, t *TaskRun) error {
	payload := renderPayload(lt.Payload, t.Config)
	in := &lambda.InvokeInput{
		FunctionName:   aws.String(lt.FunctionName),
		Payload:        payload,
		InvocationType: types.InvocationTypeRequestResponse,
	}
	if lt.InvocationType == dag.InvokeEvent {
		in.InvocationType = types.InvocationTypeEvent
	}
	if lt.Qualifier != "" {
		in.Qualifier = aws.String(lt.Qualifier)
	}
	t.Logf("invoking %s (%s) with %d bytes of payload", qualified(lt), in.InvocationType, len(payload))
	out, err := c.Invoke(ctx, in)
	if err != nil {
		if ctx.Err() != nil {
			return context.Cause(ctx)
		}
		return fmt.Errorf("invoking %s: %w", qualified(lt), err)
	}
	t.Logf("status %d", out.StatusCode)
	if len(out.Payload) > 0 {
		t.Logf("%s", out.Payload)
	}
	if out.FunctionError != nil {
		return fmt.Errorf("%s: function error (%s): %s", qualified(lt), *out.FunctionError, functionErrorMessage(out.Payload))
	}
	return nil
}

func qualified(lt *dag.LambdaTask) string {
	if lt.Qualifier == "" {
		return lt.FunctionName
	}
	return lt.FunctionName + ":" + lt.Qualifier
}

// runConfigPlaceholder in a lambda payload stands for the run config.
const runConfigPlaceholder = "{{run_config}}"

// renderPayload fills a payload template: a JSON string that is exactly the
// placeholder becomes the config as a JSON value; the placeholder inside a
// longer string (or an object key) becomes the config's text. No template:
// the config itself. A template without the placeholder is sent as it is.
func renderPayload(tmpl, cfg json.RawMessage) []byte {
	if len(cfg) == 0 {
		cfg = json.RawMessage("{}")
	}
	if len(bytes.TrimSpace(tmpl)) == 0 {
		return cfg
	}
	if !bytes.Contains(tmpl, []byte(runConfigPlaceholder)) {
		return tmpl
	}
	dec := json.NewDecoder(bytes.NewReader(tmpl))
	dec.UseNumber()
	var tree any
	if err := dec.Decode(&tree); err != nil {
		// Not JSON (validation makes it JSON): substitute the text.
		return bytes.ReplaceAll(tmpl, []byte(runConfigPlaceholder), cfg)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(fillPlaceholder(tree, cfg)); err != nil {
		return tmpl
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

func fillPlaceholder(v any, cfg json.RawMessage) any {
	switch v := v.(type) {
	case string:
		if v == runConfigPlaceholder {
			return cfg
		}
		return strings.ReplaceAll(v, runConfigPlaceholder, string(cfg))
	case []any:
		for i := range v {
			v[i] = fillPlaceholder(v[i], cfg)
		}
		return v
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, x := range v {
			out[strings.ReplaceAll(k, runConfigPlaceholder, string(cfg))] = fillPlaceholder(x, cfg)
		}
		return out
	}
	return v
}

// functionErrorMessage pulls errorMessage out of a function error payload.
func functionErrorMessage(payload []byte) string {
	var e struct {
		ErrorMessage string `json:"errorMessage"`
		ErrorType    string `json:"errorType"`
	}
	if json.Unmarshal(payload, &e) == nil && e.ErrorMessage != "" {
		if e.ErrorType != "" {
			return e.ErrorType + ": " + e.ErrorMessage
		}
		return e.ErrorMessage
	}
	s := strings.TrimSpace(string(payload))
	if len(s) > 500 {
		s = s[:500] + "…"
	}
	return s
}
