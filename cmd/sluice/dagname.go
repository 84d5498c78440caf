package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"

	"github.com/sluice-dev/sluice/cmd/internal/flags"
	"github.com/sluice-dev/sluice/engine"
	"github.com/sluice-dev/sluice/engine/store"
)

// dagLookup finds out whether a DAG named on the command line exists, so
// that `sluice trigger nosuch` and `sluice dags pause nosuch` are refused
// instead of queueing a run that fails later or pausing a name nothing has.
type dagLookup struct {
	dir string // --dags-dir: the local folder to look in
}

// addDAGsDirFlag registers --dags-dir (env DAGS_DIR, default ./dags).
func (l *dagLookup) addDAGsDirFlag(fs *flag.FlagSet, env *cliEnv) {
	cfg, _ := flags.LoaderFromEnv(env.getenv)
	fs.StringVar(&l.dir, "dags-dir", cfg.Dir,
		"where to look for a DAG the store has not seen yet: local folder of DAG files (env "+flags.EnvDAGsDir+")")
}

// known reports whether name is a DAG: the store has a version or a run of
// it, or has it paused (an engine on the state dir loaded it once), or
// the DAG sources (the --dags-dir folder, and S3 or git when the
// environment names them) hold it now.
func (l *dagLookup) known(ctx context.Context, env *cliEnv, eng *engine.Engine, name string) (bool, error) {
	vs, err := eng.DAGVersions(ctx, name)
	if err != nil {
		return false, err
	}
	if len(vs) > 0 {
		return true, nil
	}
	runs, err := eng.ListRuns(ctx, store.ListOptions{DAG: name, Limit: 1})
	if err != nil {
		return false, err
	}
	if len(runs) > 0 {
		return true, nil
	}
	if st := eng.Store(); st != nil {
		paused, err := st.PausedDAGs(ctx)
		if err != nil {
			return false, err
		}
		if _, ok := paused[name]; ok {
			return true, nil
		}
	}
	cfg, err := flags.LoaderFromEnv(env.getenv)
	if err != nil {
		return false, err
	}
	cfg.Dir = l.dir
	dags, err := openDAGs(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		return false, err
	}
	defer dags.Close()
	listing, _ := dags.ListDAGs(ctx) // a source that failed holds nothing to find
	for _, d := range listing.DAGs {
		if d.Name == name {
			return true, nil
		}
	}
	return false, nil
}

// check reports whether name is a DAG; when it is not (or could not be
// looked up) it prints why, and the caller exits with exitUsage.
func (l *dagLookup) check(ctx context.Context, env *cliEnv, eng *engine.Engine, cmd, name string) bool {
	ok, err := l.known(ctx, env, eng, name)
	if err != nil {
		fmt.Fprintf(env.stderr, "sluice %s: looking up DAG %q: %v\n", cmd, name, err)
		return false
	}
	if !ok {
		where := "no DAG folder given"
		if l.dir != "" {
			where = "nor in " + l.dir
		}
		fmt.Fprintf(env.stderr, "sluice %s: no DAG named %q (not in the store, %s; --dags-dir names another folder)\n",
			cmd, name, where)
	}
	return ok
}
