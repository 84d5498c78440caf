package engine

import (
	"context"
	"errors"
	"os"
	"os/user"
	"sync"

	"github.com/sluice-dev/sluice/engine/api"
	redaction "github.com/sluice-dev/sluice/engine/redact"
)

// actorOf is who makes a call: the actor the front end set (in `sluice
// serve`, the SSH key that logged in), else the user this process runs as
// (a local console, the CLI).
func actorOf(ctx context.Context) string {
	if a := api.ActorOf(ctx); a != "" {
		return a
	}
	return osUser()
}

var osUser = sync.OnceValue(func() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	if u := os.Getenv("USER"); u != "" {
		return u
	}
	return "unknown"
})

// Audit outcomes besides api.AuditOK.
const auditUnchanged = "unchanged"

// audit records an action in the audit log: outcome "ok" (with what it
// led to, if anything), "unchanged" for an action that found its work done
// (a second console acting at once), or the error — followed by result
// when the action got part of the way (a branch pushed, then the pull
// request refused). Outcome and reason are redacted of the engine's
// secrets: they quote servers, and servers echo credentials. A failure to
// record is logged, never returned: the action itself happened.
func (e *Engine) audit(ctx context.Context, action, target, reason, result string, err error) {
	outcome := api.AuditOK
	switch {
	case err != nil && result != "":
		outcome = "error: " + err.Error() + "; " + result
	case err != nil:
		outcome = "error: " + err.Error()
	case result != "":
		outcome = result
	}
	outcome, reason = e.redactor().String(outcome), e.redactor().String(reason)
	// An action that failed on a state dir without a database (nothing to
	// act on) leaves none behind for its record.
	st, serr := e.openStore(ctx, false)
	if errors.Is(serr, ErrNoState) {
		return
	}
	if serr == nil {
		// The action's context may be ending (a console closing): the
		// record is written regardless.
		_, serr = st.RecordAudit(context.WithoutCancel(ctx), api.AuditEntry{
			At: e.now(), Actor: actorOf(ctx), Action: action, Target: target, Outcome: outcome, Reason: reason,
		})
	}
	if serr != nil {
		e.log.Warn("recording an action in the audit log", "action", action, "target", target, "err", serr)
	}
}

// AuditLog implements API: the entries with their strings made safe for a
// terminal (targets and reasons quote names and errors from outside).
func (e *Engine) AuditLog(ctx context.Context, q api.AuditQuery) ([]api.AuditEntry, error) {
	entries, err := e.AuditRecords(ctx, q)
	return api.SanitizedAudit(entries), err
}

// AuditRecords is AuditLog as recorded, nothing escaped: for output that
// escapes in its own syntax (sluice audit --json), never for a terminal.
func (e *Engine) AuditRecords(ctx context.Context, q api.AuditQuery) ([]api.AuditEntry, error) {
	st, err := e.openStore(ctx, false)
	if errors.Is(err, ErrNoState) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return st.AuditLog(ctx, q)
}

// secrets are the credentials the engine holds that a server may echo
// back: the GitHub token, the review service's further secrets, Mode's
// token and secret. Neither review history nor the audit log stores them.
func (e *Engine) secrets() []string {
	list := append([]string{e.cfg.Review.Token}, e.cfg.Review.Secrets...)
	return append(list, e.cfg.Meta.ModeToken, e.cfg.Meta.ModeSecret)
}

// redactor removes the engine's secrets (every encoding) from audit text.
func (e *Engine) redactor() *redaction.Redactor {
	e.redactOnce.Do(func() { e.auditRedactor = redaction.New(e.secrets()...) })
	return e.auditRedactor
}
