package dag

import (
	"encoding/json"
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
// problem below base (".../config").
func decodeTask(c *collector, node, base, kind string, cfg val, raw json.RawMessage) Task {
	m, ok := c.object(node, atKey(base, ""), cfg)
	if !ok {
		return nil
	}
	common := decodeCommon(c, node, base, m)
	switch kind {
	case KindLocal:
		c.unknownFields(node, base, m, localFields...)
		t := &LocalTask{TaskCommon: common}
		t.Argv = decodeCommand(c, node, atKey(base, "command"), m.get("command"))
		envAt := atKey(base, "env")
		if env, ok := c.strMap(node, envAt, m.get("env")); ok {
			for k := range env { // errors are sorted by path later
				if k == "" || strings.ContainsAny(k, "=\x00") {
					c.add(node, envAt.member(k).String(), nil, "invalid environment variable name %q", k)
				} else if strings.IndexByte(env[k], 0) >= 0 {
					c.add(node, envAt.member(k).String(), nil, "must not contain a NUL byte")
				}
			}
			t.Env = env
		}
		if s, ok := c.str(node, atKey(base, "dir"), m.get("dir")); ok {
			t.Dir = s
		}
		return t
	case KindLambda:
		c.unknownFields(node, base, m, lambdaFields...)
		t := &LambdaTask{TaskCommon: common, InvocationType: InvokeRequestResponse}
		fnAt := atKey(base, "function_name")
		fn := m.get("function_name")
		if s, ok := c.str(node, fnAt, fn); ok {
			if strings.TrimSpace(s) == "" {
				c.add(node, fnAt.String(), nil, "must not be empty")
			}
			t.FunctionName = s
		} else if !fn.ok() {
			c.add(node, fnAt.String(), nil, "is required for a lambda task")
		}
		if s, ok := c.str(node, atKey(base, "qualifier"), m.get("qualifier")); ok {
			t.Qualifier = s
		}
		if p := m.get("payload"); p.ok() {
			t.Payload = appendJSON(nil, p)
		}
		itAt := atKey(base, "invocation_type")
		if s, ok := c.str(node, itAt, m.get("invocation_type")); ok {
			if s != InvokeRequestResponse && s != InvokeEvent {
				c.add(node, itAt.String(), nil, "must be %q or %q, not %q", InvokeRequestResponse, InvokeEvent, s)
			} else {
				t.InvocationType = s
			}
		}
		return t
	case KindSleep:
		c.unknownFields(node, base, m, sleepFields...)
		t := &SleepTask{TaskCommon: common}
		dAt := atKey(base, "duration")
		dv := m.get("duration")
		if d, ok := c.duration(node, dAt, dv); ok {
			t.Duration = d
		} else if !dv.ok() {
			c.add(node, dAt.String(), nil, "is required for a %s task", KindSleep)
		}
		if n, ok := c.nonNegative(node, atKey(base, "fail_times"), m.get("fail_times")); ok {
			t.FailTimes = n
		}
		return t
	default:
		// Other built-ins own their config; only the shared settings are ours.
		return &BuiltinTask{TaskCommon: common, Raw: raw}
	}
}

func decodeCommon(c *collector, node, base string, m val) TaskCommon {
	var t TaskCommon
	if d, ok := c.duration(node, atKey(base, "timeout"), m.get("timeout")); ok {
		t.Timeout = d
	}
	retryAt := atKey(base, "retry")
	if n, ok := c.nonNegative(node, retryAt, m.get("retry")); ok {
		if n > MaxRetry {
			c.add(node, retryAt.String(), nil, "must be at most %d, got %d", MaxRetry, n)
		}
		t.Retry = n
	}
	if d, ok := c.duration(node, atKey(base, "retry_backoff"), m.get("retry_backoff")); ok {
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
func decodeCommand(c *collector, node string, a at, v val) []string {
	if !v.ok() {
		c.add(node, a.String(), nil, "is required for a local task (an argv array or a shell string)")
		return nil
	}
	switch v.kind() {
	case kindString:
		if strings.TrimSpace(v.text()) == "" {
			c.add(node, a.String(), nil, "must not be empty")
			return nil
		}
		if strings.IndexByte(v.text(), 0) >= 0 {
			c.add(node, a.String(), nil, "must not contain a NUL byte")
			return nil
		}
		return []string{"sh", "-c", v.text()}
	case kindArray:
		if v.len() == 0 {
			c.add(node, a.String(), nil, "must not be empty: give the program and its arguments")
			return nil
		}
		argv, ok := c.strList(node, a, v)
		if !ok {
			return nil
		}
		if argv[0] == "" {
			c.add(node, a.elem(0).String(), nil, "program name must not be empty")
			return nil
		}
		for i, arg := range argv {
			if strings.IndexByte(arg, 0) >= 0 {
				c.add(node, a.elem(i).String(), nil, "must not contain a NUL byte")
				return nil
			}
		}
		return argv
	}
	c.add(node, a.String(), nil, "must be an argv array or a shell string, not %s", typeName(v))
	return nil
}
