package config

import (
	"flag"
	"fmt"
	"regexp"
	"strings"
)

// Schema says which flags each configurable command has: a fresh,
// disposable flag set per command name (Check sets values on it to test
// them). Check uses it to tell unknown keys from settings that belong to
// another command.
type Schema map[string]*flag.FlagSet

// Check validates the file against the commands: every top-level key is a
// flag of some command, every section is a command and each of its keys a
// flag of that command, and every value is one the flag accepts. All
// problems are returned, in line order, as Errors wrapping ErrInvalid.
func (f *File) Check(schema Schema) error {
	if f == nil {
		return nil
	}
	var errs Errors
	for _, name := range sortedKeys(f.Global) {
		v := f.Global[name]
		var owners []*flag.FlagSet
		for _, cmd := range sortedKeys(schema) {
			if fs := schema[cmd]; fs.Lookup(name) != nil {
				owners = append(owners, fs)
			}
		}
		if len(owners) == 0 {
			errs = append(errs, f.unknown(v, name, sortedKeys(schema)))
			continue
		}
		for _, fs := range owners {
			if err := checkValue(fs, name, v.Text); err != nil {
				errs = append(errs, &Error{Path: f.Path, Line: v.Line, Key: v.Key, Msg: err.Error(), err: ErrInvalid})
				break
			}
		}
	}
	for _, cmd := range sortedKeys(f.Sections) {
		fs, ok := schema[cmd]
		if !ok {
			errs = append(errs, &Error{Path: f.Path, Line: f.sectionLines[cmd], Key: cmd,
				Msg: fmt.Sprintf("is neither a setting nor a command section (sections: %s)", strings.Join(sortedKeys(schema), ", ")), err: ErrInvalid})
			continue
		}
		sec := f.Sections[cmd]
		for _, name := range sortedKeys(sec) {
			v := sec[name]
			if fs.Lookup(name) == nil {
				errs = append(errs, f.unknown(v, name, []string{cmd}))
				continue
			}
			if err := checkValue(fs, name, v.Text); err != nil {
				errs = append(errs, &Error{Path: f.Path, Line: v.Line, Key: v.Key, Msg: err.Error(), err: ErrInvalid})
			}
		}
	}
	if len(errs) == 0 {
		return nil
	}
	sortErrors(errs)
	return errs
}

// secretWords mark keys someone meant as a secret: the message then says
// where secrets go instead of merely "unknown".
var secretWords = []string{"password", "token", "secret", "access-key", "private-key", "credential"}

func (f *File) unknown(v Value, name string, cmds []string) *Error {
	lower := strings.ToLower(name)
	for _, w := range secretWords {
		if strings.Contains(lower, w) {
			return &Error{Path: f.Path, Line: v.Line, Key: v.Key, err: ErrInvalid,
				Msg: "is not a setting: secrets are never read from the config file; set them in the environment (for a service, systemd's EnvironmentFile=) or point a *-file flag at a file only the service can read"}
		}
	}
	where := "any command's"
	if len(cmds) == 1 {
		where = "`sluice " + cmds[0] + "`'s"
	}
	return &Error{Path: f.Path, Line: v.Line, Key: v.Key, err: ErrInvalid,
		Msg: fmt.Sprintf("is not one of %s flags (see --help)", where)}
}

// checkValue parses text with the flag's own Set. Schema flag sets are
// disposable, so setting them has no effect on a command. Only the flag's
// name is in the message: a value is never quoted back, in case it was a
// secret put in the wrong place.
func checkValue(fs *flag.FlagSet, name, text string) error {
	if err := fs.Set(name, text); err != nil {
		return fmt.Errorf("not a valid value for --%s", name)
	}
	return nil
}

// envPattern finds "(env NAME", "(env NAME, OTHER" or "(env NAME or
// OTHER" in a flag's usage, the convention of every flag in this
// repository that has an environment variable.
var envPattern = regexp.MustCompile(`\(env ([A-Z][A-Z0-9_]*(?:(?:, ?| or )[A-Z][A-Z0-9_]*)*)`)

// EnvVars names the environment variables a flag's usage says set it.
func EnvVars(fl *flag.Flag) []string {
	m := envPattern.FindStringSubmatch(fl.Usage)
	if m == nil {
		return nil
	}
	return strings.FieldsFunc(strings.ReplaceAll(m[1], " or ", ","), func(r rune) bool { return r == ',' || r == ' ' })
}

// Source says where a flag's effective value came from.
type Source struct {
	Kind string // "flag", "env", "file" or "default"
	// Detail is the env var name, or "path:line" for the file.
	Detail string
}

func (s Source) String() string {
	if s.Detail == "" {
		return s.Kind
	}
	return s.Kind + " " + s.Detail
}

// Sources maps each flag name to where its value came from.
type Sources map[string]Source

// Resolver applies a config file under the command line and environment.
type Resolver struct {
	File   *File // nil: no config file
	Getenv func(string) string
	// EnvOf names the environment variables that set a flag; nil reads
	// "(env NAME)" from the usage (EnvVars).
	EnvOf func(*flag.Flag) []string
}

// Apply sets on fs — already parsed from the command line, with the
// environment's values as defaults — each flag the file sets for command
// that neither the command line nor the environment set. It returns where
// every flag's value came from.
func (r Resolver) Apply(command string, fs *flag.FlagSet) (Sources, error) {
	envOf := r.EnvOf
	if envOf == nil {
		envOf = EnvVars
	}
	getenv := r.Getenv
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	onCommandLine := map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { onCommandLine[fl.Name] = true })

	src := Sources{}
	var errs Errors
	fs.VisitAll(func(fl *flag.Flag) {
		if onCommandLine[fl.Name] {
			src[fl.Name] = Source{Kind: "flag"}
			return
		}
		for _, name := range envOf(fl) {
			if getenv(name) != "" {
				src[fl.Name] = Source{Kind: "env", Detail: name}
				return
			}
		}
		v, ok := r.File.lookup(command, fl.Name)
		if !ok {
			src[fl.Name] = Source{Kind: "default"}
			return
		}
		if err := fs.Set(fl.Name, v.Text); err != nil {
			errs = append(errs, &Error{Path: r.File.Path, Line: v.Line, Key: v.Key, Msg: fmt.Sprintf("not a valid value for --%s", fl.Name), err: ErrInvalid})
			src[fl.Name] = Source{Kind: "default", Detail: fmt.Sprintf("(%s:%d is invalid)", r.File.Path, v.Line)}
			return
		}
		src[fl.Name] = Source{Kind: "file", Detail: fmt.Sprintf("%s:%d", r.File.Path, v.Line)}
	})
	if len(errs) > 0 {
		sortErrors(errs)
		return src, errs
	}
	return src, nil
}

// lookup finds a flag's setting for a command: its section first, then
// the top level.
func (f *File) lookup(command, name string) (Value, bool) {
	if f == nil {
		return Value{}, false
	}
	if v, ok := f.Sections[command][name]; ok {
		return v, true
	}
	v, ok := f.Global[name]
	return v, ok
}

func sortErrors(errs Errors) {
	for i := 1; i < len(errs); i++ {
		for j := i; j > 0 && errs[j].Line < errs[j-1].Line; j-- {
			errs[j], errs[j-1] = errs[j-1], errs[j]
		}
	}
}
