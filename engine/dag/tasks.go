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
// problem below base (".../config"). One pass over the members, each
// dispatched by name: the unknown ones fall out of the same switch.
func decodeTask(c *collector, node, base, kind string, cfg val, raw json.RawMessage) Task {
	m, ok := c.object(node, atKey(base, ""), cfg)
	if !ok {
		return nil
	}
	var (
		common                           TaskCommon
		local                            *LocalTask
		lambda                           *LambdaTask
		sleep                            *SleepTask
		known                            []string
		sawCommand, sawFunction, sawTime bool
	)
	switch kind {
	case KindLocal:
		local, known = &LocalTask{}, localFields
	case KindLambda:
		lambda, known = &LambdaTask{InvocationType: InvokeRequestResponse}, lambdaFields
	case KindSleep:
		sleep, known = &SleepTask{}, sleepFields
	}
	for i := 0; i < m.len(); i++ {
		key, v := m.key(i), m.elem(i)
		a := atKey(base, key)
		switch {
		case key == "timeout":
			if d, ok := c.duration(node, a, v); ok {
				common.Timeout = d
			}
		case key == "retry":
			if n, ok := c.nonNegative(node, a, v); ok {
				if n > MaxRetry {
					c.add(node, a.String(), nil, "must be at most %d, got %d", MaxRetry, n)
				}
				common.Retry = n
			}
		case key == "retry_backoff":
			if d, ok := c.duration(node, a, v); ok {
				common.RetryBackoff = d
			}

		case local != nil && key == "command":
			sawCommand = true
			local.Argv = decodeCommand(c, node, a, v)
		case local != nil && key == "env":
			if env, ok := c.strMap(node, a, v); ok {
				for k := range env { // errors are sorted by path later
					if k == "" || strings.ContainsAny(k, "=\x00") {
						c.add(node, a.member(k).String(), nil, "invalid environment variable name %q", k)
					} else if strings.IndexByte(env[k], 0) >= 0 {
						c.add(node, a.member(k).String(), nil, "must not contain a NUL byte")
					}
				}
				local.Env = env
			}
		case local != nil && key == "dir":
			if s, ok := c.str(node, a, v); ok {
				local.Dir = s
			}

		case lambda != nil && key == "function_name":
			sawFunction = true
			if s, ok := c.str(node, a, v); ok {
				if strings.TrimSpace(s) == "" {
					c.add(node, a.String(), nil, "must not be empty")
				}
				lambda.FunctionName = s
			}
		case lambda != nil && key == "qualifier":
			if s, ok := c.str(node, a, v); ok {
				lambda.Qualifier = s
			}
		case lambda != nil && key == "payload":
			lambda.Payload = appendJSON(nil, v)
		case lambda != nil && key == "invocation_type":
			if s, ok := c.str(node, a, v); ok {
				if s != InvokeRequestResponse && s != InvokeEvent {
					c.add(node, a.String(), nil, "must be %q or %q, not %q", InvokeRequestResponse, InvokeEvent, s)
				} else {
					lambda.InvocationType = s
				}
			}

		case sleep != nil && key == "duration":
			sawTime = true
			if d, ok := c.duration(node, a, v); ok {
				sleep.Duration = d
			}
		case sleep != nil && key == "fail_times":
			if n, ok := c.nonNegative(node, a, v); ok {
				sleep.FailTimes = n
			}

		case known == nil:
			// Other built-ins own their config; only the shared settings
			// are ours.
		default:
			c.add(node, a.String(), nil, "unknown field %q (known: %s)", key, strings.Join(known, ", "))
		}
	}
	if common.RetryBackoff == 0 {
		common.RetryBackoff = Duration(DefaultRetryBackoff)
	}
	switch {
	case local != nil:
		if !sawCommand {
			c.add(node, atKey(base, "command").String(), nil, "is required for a local task (an argv array or a shell string)")
		}
		local.TaskCommon = common
		return local
	case lambda != nil:
		if !sawFunction {
			c.add(node, atKey(base, "function_name").String(), nil, "is required for a lambda task")
		}
		lambda.TaskCommon = common
		return lambda
	case sleep != nil:
		if !sawTime {
			c.add(node, atKey(base, "duration").String(), nil, "is required for a %s task", KindSleep)
		}
		sleep.TaskCommon = common
		return sleep
	}
	return &BuiltinTask{TaskCommon: common, Raw: raw}
}

// MaxRetry bounds retries: beyond it a task is a loop, not a retry policy.
const MaxRetry = 1000

// decodeCommand accepts argv (a non-empty array of strings) or a shell
// string, which runs as sh -c so pipes and redirections work.
func decodeCommand(c *collector, node string, a at, v val) []string {
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
