package config

import "flag"

// Register adds --config to a command's flags.
func Register(fs *flag.FlagSet) *string {
	return fs.String("config", "", "configuration file, YAML (env "+EnvPath+"); the command line and the environment override it")
}

// Path is the config file to read: --config, else $SLUICE_CONFIG, else
// none ("").
func Path(flagValue string, getenv func(string) string) string {
	if flagValue != "" {
		return flagValue
	}
	if getenv == nil {
		return ""
	}
	return getenv(EnvPath)
}

// LoadChecked loads the file at path (none when path is "") and checks it
// against schema.
func LoadChecked(path string, schema Schema) (*File, error) {
	if path == "" {
		return nil, nil
	}
	f, err := Load(path)
	if err != nil {
		return nil, err
	}
	if err := f.Check(schema); err != nil {
		return f, err
	}
	return f, nil
}
