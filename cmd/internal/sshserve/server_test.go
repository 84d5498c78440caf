package sshserve_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"github.com/sluice-dev/sluice/cmd/internal/sshserve"
	"github.com/sluice-dev/sluice/cmd/internal/sshserve/sshtest"
	"github.com/sluice-dev/sluice/engine/access"
	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/engine/enginetest"
)

// fakeEngine is the one engine every session shares: scripted snapshots,
// real coalescing subscriptions, and a record of every action that reached
// it. It implements every method of api.API itself (no embedded
// NoOperations), so a method added to the API must be added here, and
// recorded if it acts.
type fakeEngine struct {
	mu       sync.Mutex
	snap     *api.Snapshot
	subs     map[chan api.Event]struct{}
	approved []int64
	rejected []int64
	trigger  []string
	// actors are who made each action, as the engine's audit log would
	// record them (api.ActorOf the call's context).
	actors []string
	// acted names every acting method that was called, in order.
	acted []string
	// versions and backfills answer DAGVersions and Backfills; nil: the
	// engine keeps none (api.ErrNotAvailable).
	versions  []api.DAGVersion
	backfills []api.Backfill
}

func newFake() *fakeEngine {
	now := time.Now()
	return &fakeEngine{
		subs: map[chan api.Event]struct{}{},
		snap: &api.Snapshot{
			At:      now,
			DAGs:    []api.DAG{{Name: "daily_etl", Source: "local", Status: api.DAGActive}},
			Sources: []api.Source{{Name: "local", Location: "./dags", OK: true, LastScan: now, Files: 1}},
			Reviews: []api.Review{{ID: 1, Kind: "deprecate", State: api.ReviewStaged, Branch: "sluice/deprecate-models",
				Title: "sluice/deprecate-models", CreatedAt: now, UpdatedAt: now}},
		},
	}
}

func (f *fakeEngine) Snapshot() *api.Snapshot {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.snap
}

func (f *fakeEngine) Subscribe() (<-chan api.Event, func()) {
	ch := make(chan api.Event, 1)
	f.mu.Lock()
	f.subs[ch] = struct{}{}
	f.mu.Unlock()
	var once sync.Once
	return ch, func() {
		once.Do(func() {
			f.mu.Lock()
			delete(f.subs, ch)
			f.mu.Unlock()
		})
	}
}

func (f *fakeEngine) subscribers() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.subs)
}

// addRun publishes a snapshot with one more queued run.
func (f *fakeEngine) addRun(dag string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	next := *f.snap
	next.At = time.Now()
	next.Runs.Queued = append(append([]api.Run(nil), next.Runs.Queued...),
		api.Run{ID: int64(len(next.Runs.Queued) + 40), DAG: dag, State: api.RunQueued, Trigger: "manual", QueuedAt: time.Now(), Total: 2})
	f.snap = &next
	for ch := range f.subs {
		ev := api.Event{Topics: api.TopicRuns}
		select {
		case old := <-ch:
			ev.Topics |= old.Topics
		default:
		}
		ch <- ev
	}
}

func (f *fakeEngine) ScanNow(context.Context) (api.ScanResult, error) {
	return api.ScanResult{Sources: 1}, nil
}

// act records an acting call and who made it.
func (f *fakeEngine) act(ctx context.Context, method string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.acted = append(f.acted, method)
	f.actors = append(f.actors, api.ActorOf(ctx))
}

// actions are the acting calls that reached the engine.
func (f *fakeEngine) actions() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.acted)
}

func (f *fakeEngine) Trigger(ctx context.Context, dag string, _ json.RawMessage) (int64, error) {
	f.act(ctx, "Trigger")
	f.mu.Lock()
	defer f.mu.Unlock()
	f.trigger = append(f.trigger, dag)
	return 99, nil
}
func (f *fakeEngine) Cancel(ctx context.Context, _ int64) error { f.act(ctx, "Cancel"); return nil }
func (f *fakeEngine) RunMeta(ctx context.Context) error         { f.act(ctx, "RunMeta"); return nil }
func (f *fakeEngine) Approve(ctx context.Context, id int64) error {
	f.act(ctx, "Approve")
	f.mu.Lock()
	defer f.mu.Unlock()
	f.approved = append(f.approved, id)
	return nil
}
func (f *fakeEngine) Reject(ctx context.Context, id int64, _ string) error {
	f.act(ctx, "Reject")
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rejected = append(f.rejected, id)
	return nil
}
func (f *fakeEngine) UndoReject(ctx context.Context, _ int64) error {
	f.act(ctx, "UndoReject")
	return nil
}
func (f *fakeEngine) ExcludeFromReview(ctx context.Context, _ int64, _ string, _ api.Exclusion) error {
	f.act(ctx, "ExcludeFromReview")
	return nil
}
func (f *fakeEngine) PauseSensor(ctx context.Context, _ string, _ int, _ bool) error {
	f.act(ctx, "PauseSensor")
	return nil
}

// The operations beyond those: acting ones are recorded and answer
// ErrNotAvailable, as an engine without them would.

func (f *fakeEngine) Rerun(ctx context.Context, _ int64, _ api.RerunOptions) (int64, error) {
	f.act(ctx, "Rerun")
	return 0, api.ErrNotAvailable
}
func (f *fakeEngine) Mark(ctx context.Context, _ int64, _ string, _ api.RunState, _ string) error {
	f.act(ctx, "Mark")
	return api.ErrNotAvailable
}
func (f *fakeEngine) PauseDAG(ctx context.Context, _ string, _ bool, _ string) error {
	f.act(ctx, "PauseDAG")
	return api.ErrNotAvailable
}
func (f *fakeEngine) PinDAG(ctx context.Context, _ string, _ int) error {
	f.act(ctx, "PinDAG")
	return api.ErrNotAvailable
}
func (f *fakeEngine) UnpinDAG(ctx context.Context, _ string) error {
	f.act(ctx, "UnpinDAG")
	return api.ErrNotAvailable
}
func (f *fakeEngine) Backfill(ctx context.Context, _ api.BackfillRequest) (api.BackfillPlan, error) {
	f.act(ctx, "Backfill")
	return api.BackfillPlan{}, api.ErrNotAvailable
}
func (f *fakeEngine) CancelBackfill(ctx context.Context, _ int64) error {
	f.act(ctx, "CancelBackfill")
	return api.ErrNotAvailable
}
func (f *fakeEngine) ReplayBatch(ctx context.Context, _ int64, _ string) (int64, error) {
	f.act(ctx, "ReplayBatch")
	return 0, api.ErrNotAvailable
}
func (f *fakeEngine) ResetOffsets(ctx context.Context, _ api.ResetOffsetsRequest) (api.ResetOffsetsPlan, error) {
	f.act(ctx, "ResetOffsets")
	return api.ResetOffsetsPlan{}, api.ErrNotAvailable
}
func (f *fakeEngine) AuditLog(context.Context, api.AuditQuery) ([]api.AuditEntry, error) {
	return nil, api.ErrNotAvailable
}
func (f *fakeEngine) DAGVersions(context.Context, string) ([]api.DAGVersion, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.versions == nil {
		return nil, api.ErrNotAvailable
	}
	return slices.Clone(f.versions), nil
}
func (f *fakeEngine) DAGVersionDiff(context.Context, string, int, int) (string, error) {
	return "", api.ErrNotAvailable
}
func (f *fakeEngine) Backfills(context.Context) ([]api.Backfill, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.backfills == nil {
		return nil, api.ErrNotAvailable
	}
	return slices.Clone(f.backfills), nil
}

func (f *fakeEngine) approvals() []int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]int64(nil), f.approved...)
}

type fixture struct {
	srv      *sshserve.Server
	addr     string
	eng      *fakeEngine
	keysPath string
	hostKey  string
	operator gossh.Signer
	viewer   gossh.Signer
	logs     *logBuffer
	cfg      sshserve.Config // the server's, to start another like it
}

// logBuffer is the server's log, safe to read while it writes.
type logBuffer struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func setup(t testing.TB) *fixture {
	t.Helper()
	return setupWith(t, nil)
}

// setupWith is setup with the server's configuration adjusted by adjust.
func setupWith(t testing.TB, adjust func(*sshserve.Config)) *fixture {
	t.Helper()
	dir := t.TempDir()
	op, opLine := sshtest.NewKey(t)
	vw, vwLine := sshtest.NewKey(t)
	keys := filepath.Join(dir, "authorized_keys")
	content := "# operators\n" + opLine + " olga@ops\n" + "role=viewer " + vwLine + " victor@wall\n"
	if err := os.WriteFile(keys, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	f := &fixture{eng: newFake(), keysPath: keys, hostKey: filepath.Join(dir, "host", "ssh_host_ed25519"), operator: op, viewer: vw, logs: &logBuffer{}}
	cfg := sshserve.Config{
		Addr:               "127.0.0.1:0",
		HostKeyPath:        f.hostKey,
		AuthorizedKeysPath: keys,
		API:                f.eng,
		Logger:             slog.New(slog.NewTextHandler(f.logs, nil)),
	}
	if adjust != nil {
		adjust(&cfg)
	}
	srv, err := sshserve.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	f.srv, f.addr, f.cfg = srv, srv.Addr().String(), cfg
	return f
}

const wait = 15 * time.Second

func TestOperatorSeesTheConsoleAndMayApprove(t *testing.T) {
	t.Parallel()
	f := setup(t)
	c := sshtest.Open(t, f.addr, "olga", f.operator, 160, 45, nil)
	c.Screen.WaitFor(t, 0, wait, "daily_etl", "sluice/deprecate-models", "olga (olga@ops) · operator")

	// The same keys a viewer will type below: focus review, approve, yes.
	mark := focus(t, c, "4")
	// What a viewer must not be offered, an operator is.
	for _, offer := range []string{"t trigger", "a approve", "x reject"} {
		if !strings.Contains(c.Screen.Text(0), offer) {
			t.Errorf("an operator is not offered %q", offer)
		}
	}
	c.Type(t, "a")
	c.Screen.WaitFor(t, mark, wait, "Approve review #1")
	c.Type(t, "y")
	c.Screen.WaitFor(t, mark, wait, "review #1 approved")
	if got := f.eng.approvals(); len(got) != 1 || got[0] != 1 {
		t.Fatalf("engine approvals %v, want [1]", got)
	}
}

// Who acted is the key that logged in — its authorized_keys comment and
// fingerprint — not the user name the client chose: olga's key logging
// in as "victor" approves as olga.
func TestActionsAreMadeAsTheKeyNotTheClaimedUser(t *testing.T) {
	t.Parallel()
	f := setup(t)
	c := sshtest.Open(t, f.addr, "victor", f.operator, 160, 45, nil)
	c.Screen.WaitFor(t, 0, wait, "sluice/deprecate-models", "victor (olga@ops) · operator")
	mark := focus(t, c, "4")
	c.Type(t, "a")
	c.Screen.WaitFor(t, mark, wait, "Approve review #1")
	c.Type(t, "y")
	c.Screen.WaitFor(t, mark, wait, "review #1 approved")
	f.eng.mu.Lock()
	actors := slices.Clone(f.eng.actors)
	f.eng.mu.Unlock()
	want := "olga@ops (" + gossh.FingerprintSHA256(f.operator.PublicKey())[:len("SHA256:")+12] + ")"
	if len(actors) != 1 || actors[0] != want {
		t.Fatalf("the approval was made as %q, want %q", actors, want)
	}
}

// A viewer is not offered approve or trigger, and typing the keys anyway
// is refused at once with the reason — no confirmation first — and never
// reaches the engine.
func TestViewerCannotApproveEvenByTypingTheKeys(t *testing.T) {
	t.Parallel()
	f := setup(t)
	c := sshtest.Open(t, f.addr, "victor", f.viewer, 160, 45, nil)
	c.Screen.WaitFor(t, 0, wait, "sluice/deprecate-models", "victor (victor@wall) · viewer (read only")

	mark := focus(t, c, "4")
	// Everything drawn so far: the footers of the DAG and review panes
	// (the operator's offer "t trigger" and "a approve • x reject").
	for _, offer := range []string{"t trigger", "a approve", "x reject", "m run metapipeline"} {
		if strings.Contains(c.Screen.Text(0), offer) {
			t.Errorf("a viewer is offered %q", offer)
		}
	}
	c.Type(t, "a")
	c.Screen.WaitFor(t, mark, wait, "viewers cannot approve reviews")
	if strings.Contains(c.Screen.Text(mark), "Approve review #1") {
		t.Error("a viewer got the approval dialog before the refusal")
	}
	// Trigger from the DAG pane is refused the same way.
	focus(t, c, "1")
	mark = c.Screen.Mark()
	c.Type(t, "G") // the last row: the DAG, below its source
	c.Screen.WaitFor(t, mark, wait, "daily_etl")
	mark = c.Screen.Mark()
	c.Type(t, "t")
	c.Screen.WaitFor(t, mark, wait, "viewers cannot trigger runs")
	if strings.Contains(c.Screen.Text(mark), "Trigger a run of daily_etl now?") {
		t.Error("a viewer got the trigger dialog before the refusal")
	}
	// The forms too: backfill (B), then trigger with a run config (T),
	// refused before they open.
	mark = c.Screen.Mark()
	c.Type(t, "B")
	c.Screen.WaitFor(t, mark, wait, "viewers cannot backfill dags")
	mark = c.Screen.Mark()
	c.Type(t, "T")
	c.Screen.WaitFor(t, mark, wait, "viewers cannot trigger runs")
	if text := c.Screen.Text(mark); strings.Contains(text, "Backfill daily_etl") || strings.Contains(text, "Trigger daily_etl") {
		t.Error("a viewer got a form before the refusal")
	}
	if got := f.eng.approvals(); len(got) != 0 {
		t.Fatalf("a viewer's approval reached the engine: %v", got)
	}
	f.eng.mu.Lock()
	triggered := len(f.eng.trigger)
	f.eng.mu.Unlock()
	if triggered != 0 {
		t.Fatal("a viewer's trigger reached the engine")
	}
}

func TestUnknownKeyIsRefused(t *testing.T) {
	t.Parallel()
	f := setup(t)
	stranger, _ := sshtest.NewKey(t)
	_, err := sshtest.Dial(f.addr, "mallory", stranger)
	if err == nil || !strings.Contains(err.Error(), "unable to authenticate") {
		t.Fatalf("unknown key: err = %v, want an authentication failure", err)
	}
	// Passwords are not offered at all.
	_, err = gossh.Dial("tcp", f.addr, &gossh.ClientConfig{User: "olga", Auth: []gossh.AuthMethod{gossh.Password("hunter2")},
		HostKeyCallback: gossh.InsecureIgnoreHostKey(), Timeout: 5 * time.Second})
	if err == nil {
		t.Fatal("password authentication accepted")
	}
}

func TestTwoSessionsSeeTheSameRunAppear(t *testing.T) {
	t.Parallel()
	f := setup(t)
	a := sshtest.Open(t, f.addr, "olga", f.operator, 160, 45, nil)
	b := sshtest.Open(t, f.addr, "victor", f.viewer, 100, 30, nil) // its own size: tabbed layout
	a.Screen.WaitFor(t, 0, wait, "daily_etl")
	b.Screen.WaitFor(t, 0, wait, "viewer")
	b.Type(t, "2") // the small screen shows one pane: the run queue
	ma, mb := a.Screen.Mark(), b.Screen.Mark()
	f.eng.addRun("fresh_dag_run")
	a.Screen.WaitFor(t, ma, wait, "fresh_dag_run")
	b.Screen.WaitFor(t, mb, wait, "fresh_dag_run")
	if n := len(f.srv.Sessions()); n != 2 {
		t.Fatalf("%d sessions, want 2", n)
	}
}

func TestSessionsComeAndGoWithoutDisturbingTheEngine(t *testing.T) {
	t.Parallel()
	f := setup(t)
	before := f.eng.subscribers()
	for i := 0; i < 3; i++ {
		c := sshtest.Open(t, f.addr, "olga", f.operator, 120, 40, nil)
		c.Screen.WaitFor(t, 0, wait, "daily_etl")
		if i%2 == 0 {
			c.Type(t, "q") // quit from the console
		} else {
			c.Close() // the client vanishes
		}
		if ended, _ := c.Wait(wait); !ended && i%2 == 0 {
			t.Fatal("q did not end the session")
		}
	}
	enginetest.Eventually(t, wait, func() bool {
		return f.eng.subscribers() == before && len(f.srv.Sessions()) == 0
	}, "every console to release its subscription")
	// The engine still serves new sessions.
	c := sshtest.Open(t, f.addr, "olga", f.operator, 120, 40, nil)
	c.Screen.WaitFor(t, 0, wait, "daily_etl")
}

func TestRevokedKeyIsRefusedWithoutRestart(t *testing.T) {
	t.Parallel()
	f := setup(t)
	c := sshtest.Open(t, f.addr, "victor", f.viewer, 120, 40, nil)
	c.Screen.WaitFor(t, 0, wait, "viewer")
	data, err := os.ReadFile(f.keysPath)
	if err != nil {
		t.Fatal(err)
	}
	var kept []string
	for _, l := range strings.Split(string(data), "\n") {
		if !strings.Contains(l, "victor@wall") {
			kept = append(kept, l)
		}
	}
	// A different size guarantees the change is seen even within one
	// mtime tick.
	if err := os.WriteFile(f.keysPath, []byte(strings.Join(kept, "\n")), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := sshtest.Dial(f.addr, "victor", f.viewer); err == nil {
		t.Fatal("a revoked key logged in")
	}
	if _, err := sshtest.Dial(f.addr, "olga", f.operator); err != nil {
		t.Fatalf("a kept key was refused: %v", err)
	}

	// A broken file refuses everyone rather than serving an old version.
	if err := os.WriteFile(f.keysPath, []byte("role=root "+string(data)), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := sshtest.Dial(f.addr, "olga", f.operator); err == nil {
		t.Fatal("logged in while the authorized keys file is invalid")
	}
}

func TestNoTerminalOrACommandIsRefused(t *testing.T) {
	t.Parallel()
	f := setup(t)
	client, err := sshtest.Dial(f.addr, "olga", f.operator)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	sess, err := client.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	out, err := sess.CombinedOutput("")
	var exit *gossh.ExitError
	if !errors.As(err, &exit) || exit.ExitStatus() != 1 || !strings.Contains(string(out), "needs a terminal") {
		t.Fatalf("no pty: %v, %q", err, out)
	}
	sess, err = client.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	out, err = sess.CombinedOutput("cat /etc/passwd")
	if !errors.As(err, &exit) || !strings.Contains(string(out), "console only") {
		t.Fatalf("command: %v, %q", err, out)
	}
}

func TestHostKeyIsGeneratedOnceAndKept(t *testing.T) {
	t.Parallel()
	f := setup(t)
	fi, err := os.Stat(f.hostKey)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("host key mode %v, want 0600", fi.Mode().Perm())
	}
	pem, err := os.ReadFile(f.hostKey)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := gossh.ParsePrivateKey(pem)
	if err != nil {
		t.Fatal(err)
	}
	// The server presents exactly that key, and a second server on the
	// same path keeps it.
	f.srv.Stop()
	srv, err := sshserve.New(sshserve.Config{Addr: "127.0.0.1:0", HostKeyPath: f.hostKey, AuthorizedKeysPath: f.keysPath, API: f.eng})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	client, err := gossh.Dial("tcp", srv.Addr().String(), &gossh.ClientConfig{
		User: "olga", Auth: []gossh.AuthMethod{gossh.PublicKeys(f.operator)},
		HostKeyCallback: gossh.FixedHostKey(signer.PublicKey()), Timeout: 5 * time.Second,
	})
	if err != nil {
		t.Fatalf("host key changed across restarts: %v", err)
	}
	client.Close()
}

func TestStopEndsSessionsAndReleasesSubscriptions(t *testing.T) {
	t.Parallel()
	f := setup(t)
	before := f.eng.subscribers()
	c := sshtest.Open(t, f.addr, "olga", f.operator, 120, 40, nil)
	c.Screen.WaitFor(t, 0, wait, "daily_etl")
	if f.eng.subscribers() != before+1 {
		t.Fatalf("subscribers %d, want %d", f.eng.subscribers(), before+1)
	}
	f.srv.Stop()
	if ended, _ := c.Wait(wait); !ended {
		t.Fatal("session outlived Stop")
	}
	if n := f.eng.subscribers(); n != before {
		t.Fatalf("subscribers after Stop %d, want %d", n, before)
	}
	if _, err := sshtest.Dial(f.addr, "olga", f.operator); err == nil {
		t.Fatal("server accepts connections after Stop")
	}
}

func TestConfigErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	keys := filepath.Join(dir, "keys")
	if err := os.WriteFile(keys, []byte("role=boss ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJdD7y3aLq454yWBdwLWbieU1ebz9/cu7/QEXn9OIeZJ\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	base := sshserve.Config{Addr: "127.0.0.1:0", HostKeyPath: filepath.Join(dir, "hk"), AuthorizedKeysPath: keys, API: newFake()}
	if _, err := sshserve.New(base); err == nil || !strings.Contains(err.Error(), `unknown role "boss"`) {
		t.Errorf("invalid keys file: %v", err)
	}
	missing := base
	missing.AuthorizedKeysPath = filepath.Join(dir, "nope")
	if _, err := sshserve.New(missing); err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing keys file: %v", err)
	}
	none := base
	none.AuthorizedKeysPath = ""
	if _, err := sshserve.New(none); err == nil {
		t.Error("no keys file accepted")
	}
	role := base
	role.DefaultRole = access.Role("admin")
	if _, err := sshserve.New(role); err == nil {
		t.Error("bad default role accepted")
	}
}

// focus switches pane and waits until the frame says so: keys typed
// together reach the console as one input ("4a"), not two keys.
func focus(t *testing.T, c *sshtest.Console, pane string) int {
	t.Helper()
	mark := c.Screen.Mark()
	c.Type(t, pane)
	c.Screen.WaitFor(t, mark, wait, "▶ "+pane+" ")
	return c.Screen.Mark()
}
