package dag

import (
	"path"
	"strings"
)

// Extensions Parse understands.
const (
	ExtJSON     = ".json"
	ExtStarlark = ".star"
)

// Options tune Parse.
type Options struct {
	// Env answers env(name, default) in Starlark files; nil means every
	// lookup returns the default.
	Env func(name string) (string, bool)
}

// IsDAGFile reports whether a file name has a DAG extension.
func IsDAGFile(name string) bool {
	ext := path.Ext(name)
	return ext == ExtJSON || ext == ExtStarlark
}

// NameFromPath turns a slash-separated path below a source root into a DAG
// name: "production/daily_etl.json" → "production/daily_etl".
func NameFromPath(rel string) string {
	return strings.TrimSuffix(rel, path.Ext(rel))
}
