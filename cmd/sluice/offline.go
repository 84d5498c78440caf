package main

import (
	"context"
	"fmt"

	"github.com/sluice-dev/sluice/engine"
)

// offlineEngine opens the engine on cfg's state dir (or store) without
// running it, for a one-shot command; it prints why it could not as
// "sluice NAME: …". The caller exits with exitUsage when ok is false and
// closes the engine otherwise.
func offlineEngine(ctx context.Context, env *cliEnv, name string, cfg engine.Config) (eng *engine.Engine, ok bool) {
	eng, err := engine.Open(ctx, engine.Options{Offline: true, Config: cfg})
	if err != nil {
		fmt.Fprintf(env.stderr, "sluice %s: %v\n", name, err)
		return nil, false
	}
	return eng, true
}
