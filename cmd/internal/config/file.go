// Package config reads sluice.yaml, the configuration file of the commands
// that run the engine (run, serve, console), and applies it to their flag
// sets. The file does not know the commands: its keys are flag names, so
// every flag a command has is a setting, with no table to keep in step.
//
//	# Top level: for every command that has the flag.
//	state-dir: /var/lib/sluice
//	dags-dir: /etc/sluice/dags
//	scan-interval: 30s
//	kafka-brokers: [kafka-1:9092, kafka-2:9092]   # a list is joined with commas
//	# A section named after a command: for that command only, over the top level.
//	serve:
//	  ssh: ":2222"
//	  metrics: "127.0.0.1:9464"
//
// Precedence, highest first: the command line, the environment, the file,
// the flag's default. Keys may spell "-" as "_". Unknown keys are errors
// that name the file, the line and the key. Secrets (tokens, passwords) are
// never read from the file: they come from the environment or a *-file
// flag, and errors never quote a value.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// EnvPath names the config file when --config is not given.
const EnvPath = "SLUICE_CONFIG"

// MaxFileSize bounds the file: a config file is a few hundred bytes, and
// a bound keeps a wrong path (a log, a database) from being parsed.
const MaxFileSize = 1 << 20

// ErrInvalid marks a file that parses but says something wrong (unknown
// key, bad value); other errors are unreadable or malformed files.
var ErrInvalid = errors.New("invalid configuration")

// Value is one setting as the file wrote it.
type Value struct {
	Key  string // as written
	Text string // the flag value: a scalar, or a list joined with commas
	Line int
}

// File is a parsed config file.
type File struct {
	Path string
	// Global holds the top-level settings by flag name.
	Global map[string]Value
	// Sections holds each command's settings by command name, then flag
	// name. A command name of two words ("dags list") is a section key as
	// written.
	Sections map[string]map[string]Value
	// sectionLines records where each section starts, for errors.
	sectionLines map[string]int
}

// Error is a problem at a place in the file.
type Error struct {
	Path string
	Line int
	Key  string
	Msg  string
	err  error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Path)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	if e.Key != "" {
		fmt.Fprintf(&b, ": %q", e.Key)
	}
	b.WriteString(": ")
	b.WriteString(e.Msg)
	return b.String()
}

func (e *Error) Unwrap() error { return e.err }

// Errors is every problem found in a file, in line order.
type Errors []*Error

func (es Errors) Error() string {
	msgs := make([]string, len(es))
	for i, e := range es {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "\n")
}

// Unwrap lets errors.Is see ErrInvalid through the list.
func (es Errors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

// Load reads and parses the file at path.
func Load(path string) (*File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading config file: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("reading config file %s: %w", path, err)
	}
	if len(data) > MaxFileSize {
		return nil, fmt.Errorf("config file %s: larger than %d bytes", path, MaxFileSize)
	}
	return Parse(path, data)
}

// Parse reads a config file's content. It knows nothing of the commands:
// Check says whether the keys are flags.
func Parse(path string, data []byte) (*File, error) {
	f := &File{Path: path, Global: map[string]Value{}, Sections: map[string]map[string]Value{}, sectionLines: map[string]int{}}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return f, nil // an empty file is an empty configuration
		}
		return nil, &Error{Path: path, Msg: yamlMessage(err), err: err}
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, &Error{Path: path, Line: extra.Line, Msg: "more than one YAML document", err: ErrInvalid}
	}
	root := &doc
	if root.Kind == yaml.DocumentNode {
		if len(root.Content) == 0 {
			return f, nil
		}
		root = root.Content[0]
	}
	if isNull(root) {
		return f, nil // a file of comments only
	}
	if root.Kind != yaml.MappingNode {
		return nil, &Error{Path: path, Line: root.Line, Msg: "the top level must be a mapping of settings", err: ErrInvalid}
	}
	var errs Errors
	topSeen := map[string]int{}
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], deref(root.Content[i+1])
		if k.Kind != yaml.ScalarNode {
			errs = append(errs, &Error{Path: path, Line: k.Line, Msg: "a key must be a plain name", err: ErrInvalid})
			continue
		}
		if prev, dup := topSeen[k.Value]; dup {
			errs = append(errs, &Error{Path: path, Line: k.Line, Key: k.Value, Msg: fmt.Sprintf("set twice (first on line %d)", prev), err: ErrInvalid})
			continue
		}
		topSeen[k.Value] = k.Line
		if v.Kind == yaml.MappingNode {
			sec, serrs := parseSection(path, v)
			errs = append(errs, serrs...)
			f.Sections[k.Value] = sec
			f.sectionLines[k.Value] = k.Line
			continue
		}
		val, err := value(path, k, v)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		f.Global[FlagName(k.Value)] = val
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return f, nil
}

func parseSection(path string, m *yaml.Node) (map[string]Value, Errors) {
	sec := map[string]Value{}
	var errs Errors
	seen := map[string]int{}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], deref(m.Content[i+1])
		if k.Kind != yaml.ScalarNode {
			errs = append(errs, &Error{Path: path, Line: k.Line, Msg: "a key must be a plain name", err: ErrInvalid})
			continue
		}
		if prev, dup := seen[k.Value]; dup {
			errs = append(errs, &Error{Path: path, Line: k.Line, Key: k.Value, Msg: fmt.Sprintf("set twice (first on line %d)", prev), err: ErrInvalid})
			continue
		}
		seen[k.Value] = k.Line
		val, err := value(path, k, v)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		sec[FlagName(k.Value)] = val
	}
	return sec, errs
}

// value turns a setting's node into flag text: a scalar as written, a list
// of scalars joined with commas (the form of every list flag).
func value(path string, k, v *yaml.Node) (Value, *Error) {
	out := Value{Key: k.Value, Line: k.Line}
	switch v.Kind {
	case yaml.ScalarNode:
		if !isNull(v) {
			out.Text = v.Value
		}
		return out, nil
	case yaml.SequenceNode:
		items := make([]string, 0, len(v.Content))
		for _, it := range v.Content {
			it = deref(it)
			if it.Kind != yaml.ScalarNode || isNull(it) {
				return out, &Error{Path: path, Line: it.Line, Key: k.Value, Msg: "a list may hold only plain values", err: ErrInvalid}
			}
			items = append(items, it.Value)
		}
		out.Text = strings.Join(items, ",")
		return out, nil
	}
	return out, &Error{Path: path, Line: k.Line, Key: k.Value, Msg: "takes a value or a list, not a mapping", err: ErrInvalid}
}

// deref follows one alias; an alias of an alias is the YAML library's to
// resolve, and settings are never deeper than a list of scalars.
func deref(n *yaml.Node) *yaml.Node {
	for i := 0; n.Kind == yaml.AliasNode && n.Alias != nil && i < 8; i++ {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}

// yamlMessage drops the library's "yaml: " prefix; the line is in the text.
func yamlMessage(err error) string {
	return strings.TrimPrefix(err.Error(), "yaml: ")
}

// FlagName is the flag a key names: "state_dir" and "state-dir" are
// "state-dir".
func FlagName(key string) string { return strings.ReplaceAll(strings.TrimSpace(key), "_", "-") }

// sortedKeys returns m's keys in order, for stable output and errors.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
