package flags

import "path/filepath"

// EnvStateDir sets the state dir (--state-dir's default).
const EnvStateDir = "SLUICE_STATE_DIR"

// DefaultStateDir is where state lives unless --state-dir says otherwise:
// $SLUICE_STATE_DIR, else $XDG_STATE_HOME/sluice, else
// ~/.local/state/sluice. getenv is os.Getenv in production.
func DefaultStateDir(getenv func(string) string) string {
	if d := getenv(EnvStateDir); d != "" {
		return d
	}
	if d := getenv("XDG_STATE_HOME"); d != "" {
		return filepath.Join(d, "sluice")
	}
	home := getenv("HOME")
	if home == "" {
		home = "."
	}
	return filepath.Join(home, ".local", "state", "sluice")
}
