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
	// lookup returns the default. Only names EnvVisible allows reach it.
	Env func(name string) (string, bool)
	// EnvAllow lists the variables, beyond the SLUICE_DAG_ prefix, that
	// env() may read: a DAG file is not trusted with the engine's own
	// environment (AWS keys, tokens).
	EnvAllow []string
}

// EnvPrefix marks the variables every DAG file may read with env().
const EnvPrefix = "SLUICE_DAG_"

// EnvVisible reports whether env(name) may see the variable: it has
// EnvPrefix or is listed in allow.
func EnvVisible(name string, allow []string) bool {
	if strings.HasPrefix(name, EnvPrefix) && len(name) > len(EnvPrefix) {
		return true
	}
	for _, a := range allow {
		if a == name {
			return true
		}
	}
	return false
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
