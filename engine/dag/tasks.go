package dag

import (
	"encoding/json"
	"sort"
	"strings"
	"time"
)

// DefaultRetryBackoff is the first wait between attempts when a task sets
// retries but no retry_backoff.
const DefaultRetryBackoff = time.Second

// Lambda invocation types.
const (
	InvokeRequestResponse = "RequestResponse"
	InvokeEvent           = "Event"
)

var (
	commonFields = []string{"timeout", "retry", "retry_backoff"}
	localFields  = append([]string{"command", "env", "dir"}, commonFields...)
	lambdaFields = append([]string{"function_name", "qualifier", "payload", "invocation_type"}, commonFields...)
	sleepFields  = append([]string{"duration", "fail_times"}, commonFields...)
)

// knownKind reports whether a node type names a task kind Sluice runs.
func knownKind(kind string) bool {
	switch kind {
	case KindLocal, KindLambda:
		return true
	}
	rest, ok := strings.CutPrefix(kind, KindBuiltinPrefix)
	if !ok || rest == "" || strings.HasPrefix(rest, ".") || strings.HasSuffix(rest, ".") || strings.Contains(rest, "..") {
		return false
	}
	for _, r := range rest {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || r == '.') {
			return false
		}
	}
	return true
}

// decodeTask turns a node's config tree into its typed Task, reporting every
// problem below path (".../config").
func decodeTask(c *collector, node, path, kind string, cfg any, raw json.RawMessage) Task {
	m, ok := c.object(node, path, cfg)
	if !ok {
		return nil
	}
	common := decodeCommon(c, node, path, m)
	switch kind {
	case KindLocal:
		c.unknownFields(node, path, m, localFields...)
		t := &LocalTask{TaskCommon: common}
		t.Argv = decodeCommand(c, node, path+"/command", member(m, "command"))
		if env, ok := c.strMap(node, path+"/env", member(m, "env")); ok {
			for _, k := range sortedKeysS(env) {
				if k == "" || strings.ContainsAny(k, "=\x00") {
					c.add(node, ptr(path+"/env", k), nil, "invalid environment variable name %q", k)
				} else if strings.IndexByte(env[k], 0) >= 0 {
					c.add(node, ptr(path+"/env", k), nil, "must not contain a NUL byte")
				}
			}
			t.Env = env
		}
		if s, ok := c.str(node, path+"/dir", member(m, "dir")); ok {
			t.Dir = s
		}
		return t
	case KindLambda:
		c.unknownFields(node, path, m, lambdaFields...)
		t := &LambdaTask{TaskCommon: common, InvocationType: InvokeRequestResponse}
		fn := member(m, "function_name")
		if s, ok := c.str(node, path+"/function_name", fn); ok {
			if strings.TrimSpace(s) == "" {
				c.add(node, path+"/function_name", nil, "must not be empty")
			}
			t.FunctionName = s
		} else if fn == missing {
			c.add(node, path+"/function_name", nil, "is required for a lambda task")
		}
		if s, ok := c.str(node, path+"/qualifier", member(m, "qualifier")); ok {
			t.Qualifier = s
		}
		if p := member(m, "payload"); p != missing {
			raw, err := json.Marshal(p)
			if err != nil {
				c.add(node, path+"/payload", nil, "cannot encode payload: %v", err)
			}
			t.Payload = raw
		}
		if s, ok := c.str(node, path+"/invocation_type", member(m, "invocation_type")); ok {
			if s != InvokeRequestResponse && s != InvokeEvent {
				c.add(node, path+"/invocation_type", nil, "must be %q or %q, not %q", InvokeRequestResponse, InvokeEvent, s)
			} else {
				t.InvocationType = s
			}
		}
		return t
	case KindSleep:
		c.unknownFields(node, path, m, sleepFields...)
		t := &SleepTask{TaskCommon: common}
		dv := member(m, "duration")
		if d, ok := c.duration(node, path+"/duration", dv); ok {
			t.Duration = d
		} else if dv == missing {
			c.add(node, path+"/duration", nil, "is required for a %s task", KindSleep)
		}
		if n, ok := c.nonNegative(node, path+"/fail_times", member(m, "fail_times")); ok {
			t.FailTimes = n
		}
		return t
	default:
		// Other built-ins own their config; only the shared settings are ours.
		return &BuiltinTask{TaskCommon: common, Raw: raw}
	}
}

func decodeCommon(c *collector, node, path string, m object) TaskCommon {
	var t TaskCommon
	if d, ok := c.duration(node, path+"/timeout", member(m, "timeout")); ok {
		t.Timeout = d
	}
	if n, ok := c.nonNegative(node, path+"/retry", member(m, "retry")); ok {
		if n > MaxRetry {
			c.add(node, path+"/retry", nil, "must be at most %d, got %d", MaxRetry, n)
		}
		t.Retry = n
	}
	if d, ok := c.duration(node, path+"/retry_backoff", member(m, "retry_backoff")); ok {
		t.RetryBackoff = d
	}
	if t.RetryBackoff == 0 {
		t.RetryBackoff = Duration(DefaultRetryBackoff)
	}
	return t
}

// MaxRetry bounds retries: beyond it a task is a loop, not a retry policy.
const MaxRetry = 1000

// decodeCommand accepts argv (a non-empty array of strings) or a shell
// string, which runs as sh -c so pipes and redirections work.
func decodeCommand(c *collector, node, path string, v any) []string {
	switch v := v.(type) {
	case missingValue:
		c.add(node, path, nil, "is required for a local task (an argv array or a shell string)")
		return nil
	case string:
		if strings.TrimSpace(v) == "" {
			c.add(node, path, nil, "must not be empty")
			return nil
		}
		if strings.IndexByte(v, 0) >= 0 {
			c.add(node, path, nil, "must not contain a NUL byte")
			return nil
		}
		return []string{"sh", "-c", v}
	case []any:
		if len(v) == 0 {
			c.add(node, path, nil, "must not be empty: give the program and its arguments")
			return nil
		}
		argv, ok := c.strList(node, path, v)
		if !ok {
			return nil
		}
		if argv[0] == "" {
			c.add(node, path+"/0", nil, "program name must not be empty")
			return nil
		}
		for i, a := range argv {
			if strings.IndexByte(a, 0) >= 0 {
				c.add(node, ptrIndex(path, i), nil, "must not contain a NUL byte")
				return nil
			}
		}
		return argv
	}
	c.add(node, path, nil, "must be an argv array or a shell string, not %s", typeName(v))
	return nil
}

func sortedKeysS(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
