package api

import "context"

// The actor is who asks: an SSH session's user, the local console's. The
// front end puts it in the context of each call; the engine records it with
// what the call changes (who paused a sensor).

type actorKey struct{}

// WithActor returns ctx carrying who acts.
func WithActor(ctx context.Context, who string) context.Context {
	return context.WithValue(ctx, actorKey{}, who)
}

// ActorOf is who acts in ctx, "" when nobody said.
func ActorOf(ctx context.Context) string {
	who, _ := ctx.Value(actorKey{}).(string)
	return who
}
