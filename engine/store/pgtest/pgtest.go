// Package pgtest runs a throwaway PostgreSQL server for tests: one cluster
// per test binary (initdb in a temp dir, started on first use), a fresh
// database per test, the server stopped and its files removed when the
// package's tests end.
//
//	func TestMain(m *testing.M) { os.Exit(pgtest.Run(m)) }
//
//	func TestX(t *testing.T) {
//		url := pgtest.Database(t) // skips when PostgreSQL is not installed
//		...
//	}
//
// Debian's server binaries are found under /usr/lib/postgresql/*/bin (or
// $SLUICE_PG_BIN). When they are missing the test skips, saying how to
// install them — except under CI=true or SLUICE_REQUIRE_POSTGRES=1, where
// it fails. PostgreSQL refuses to run as root: then the cluster's files
// belong to the postgres OS user and the server runs under its
// credentials.
package pgtest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// InstallHint is what a skipped test says.
const InstallHint = "PostgreSQL server binaries not found (/usr/lib/postgresql/*/bin/initdb): apt-get install postgresql"

var (
	mainRan bool // Run installed: someone stops the cluster

	once    sync.Once
	shared  *Cluster
	initErr error

	durOnce    sync.Once
	durable    *Cluster
	durInitErr error

	dbMu sync.Mutex
	dbN  int
)

// Run runs the package's tests and stops the cluster, if one started.
// Call it from TestMain.
func Run(m *testing.M) int {
	mainRan = true
	code := m.Run()
	for _, c := range []*Cluster{shared, durable} {
		if c == nil {
			continue
		}
		if err := c.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "pgtest:", err)
		}
	}
	return code
}

// Required reports whether a missing PostgreSQL fails tests rather than
// skipping them.
func Required() bool {
	return os.Getenv("CI") == "true" || os.Getenv("SLUICE_REQUIRE_POSTGRES") == "1"
}

// Database creates an empty database on the package's cluster (starting
// it on first use) and returns its URL. It skips t when PostgreSQL is not
// installed, unless Required.
func Database(t testing.TB) string {
	t.Helper()
	return newDatabase(t, Shared(t))
}

// DurableDatabase is Database on a second cluster of the package that
// keeps PostgreSQL's durable defaults (fsync, synchronous_commit,
// full_page_writes on): for benchmarks whose figures claim durability.
func DurableDatabase(t testing.TB) string {
	t.Helper()
	return newDatabase(t, sharedDurable(t))
}

func newDatabase(t testing.TB, c *Cluster) string {
	t.Helper()
	dbMu.Lock()
	dbN++
	name := fmt.Sprintf("t%d", dbN)
	dbMu.Unlock()
	if err := c.CreateDatabase(context.Background(), name); err != nil {
		t.Fatal(err)
	}
	return c.URL(name)
}

// Shared returns the package's cluster, starting it on first use.
func Shared(t testing.TB) *Cluster {
	t.Helper()
	if !mainRan {
		t.Fatal("pgtest: call os.Exit(pgtest.Run(m)) from TestMain, so the cluster is stopped")
	}
	once.Do(func() {
		bin, err := FindBin()
		if err != nil {
			initErr = err
			return
		}
		shared, initErr = Start(bin)
	})
	return usable(t, shared, initErr)
}

func sharedDurable(t testing.TB) *Cluster {
	t.Helper()
	if !mainRan {
		t.Fatal("pgtest: call os.Exit(pgtest.Run(m)) from TestMain, so the cluster is stopped")
	}
	durOnce.Do(func() {
		bin, err := FindBin()
		if err != nil {
			durInitErr = err
			return
		}
		durable, durInitErr = StartWith(bin, Settings{Durable: true})
	})
	return usable(t, durable, durInitErr)
}

// usable returns c, or skips or fails t on the error starting it.
func usable(t testing.TB, c *Cluster, err error) *Cluster {
	t.Helper()
	if errors.Is(err, ErrNotInstalled) {
		if Required() {
			t.Fatalf("%v (required: CI=true or SLUICE_REQUIRE_POSTGRES=1)", err)
		}
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// ErrNotInstalled: no PostgreSQL server binaries.
var ErrNotInstalled = errors.New(InstallHint)

// FindBin returns the directory holding initdb and postgres: $SLUICE_PG_BIN,
// else the newest /usr/lib/postgresql/*/bin.
func FindBin() (string, error) {
	if d := os.Getenv("SLUICE_PG_BIN"); d != "" {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err != nil {
			return "", fmt.Errorf("SLUICE_PG_BIN=%s: %w", d, ErrNotInstalled)
		}
		return d, nil
	}
	found, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(found) == 0 {
		return "", ErrNotInstalled
	}
	sort.Slice(found, func(i, j int) bool { return pgVersion(found[i]) > pgVersion(found[j]) })
	return filepath.Dir(found[0]), nil
}

func pgVersion(initdb string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(initdb))))
	return v
}

// Cluster is one running PostgreSQL server whose files live in a temp
// dir. Its superuser is "postgres", trusted on 127.0.0.1 and its socket;
// any other role logs in over TCP with its password (SCRAM).
type Cluster struct {
	Dir     string // data dir, socket dir and log, removed by Stop
	Port    int
	SockDir string

	cmd    *exec.Cmd
	exited chan struct{}
	admin  *pgx.Conn
	adMu   sync.Mutex
}

// Settings choose how a cluster runs.
type Settings struct {
	// Durable keeps fsync, synchronous_commit and full_page_writes on (the
	// server's defaults); otherwise they are off: a test cluster trades
	// durability for speed.
	Durable bool
}

// Start initdbs a cluster in a new temp dir and starts it on a free port,
// without durability (Settings{}).
func Start(bin string) (*Cluster, error) { return StartWith(bin, Settings{}) }

// StartWith is Start with settings.
func StartWith(bin string, set Settings) (*Cluster, error) {
	dir, err := os.MkdirTemp("", "sluice-pg-")
	if err != nil {
		return nil, err
	}
	c := &Cluster{Dir: dir, SockDir: filepath.Join(dir, "sock"), exited: make(chan struct{})}
	cred, err := serverCredential(dir)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	if err := os.Mkdir(c.SockDir, 0o700); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	if cred != nil {
		if err := os.Chown(c.SockDir, int(cred.Uid), int(cred.Gid)); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
	}
	data := filepath.Join(dir, "data")
	initdb := exec.Command(filepath.Join(bin, "initdb"), "-D", data, "-U", "postgres", "--auth=trust",
		"--no-sync", "--encoding=UTF8", "--locale=C")
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	if out, err := initdb.CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("initdb: %w\n%s", err, out)
	}
	if err := writeHBA(data, cred); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	// A port taken between choosing and binding fails the start: try again.
	for try := 0; ; try++ {
		if err = c.start(bin, data, cred, set); err == nil {
			return c, nil
		}
		if try == 2 {
			os.RemoveAll(dir)
			return nil, err
		}
		c.exited = make(chan struct{})
	}
}

// serverCredential is who runs the server: nil (this process's user)
// unless that is root, which PostgreSQL refuses; then the postgres user,
// given dir.
func serverCredential(dir string) (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("running PostgreSQL as root is refused and there is no postgres user: %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	if err := os.Chown(dir, uid, gid); err != nil {
		return nil, err
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

// writeHBA trusts the superuser and socket logins, and asks every other
// role for its password over TCP: tests of password handling log in as a
// role of their own.
func writeHBA(data string, cred *syscall.Credential) error {
	path := filepath.Join(data, "pg_hba.conf")
	hba := "local all all trust\n" +
		"host all postgres 127.0.0.1/32 trust\n" +
		"host all all 127.0.0.1/32 scram-sha-256\n"
	if err := os.WriteFile(path, []byte(hba), 0o600); err != nil {
		return err
	}
	if cred != nil {
		return os.Chown(path, int(cred.Uid), int(cred.Gid))
	}
	return nil
}

func (c *Cluster) start(bin, data string, cred *syscall.Credential, set Settings) error {
	port, err := freePort()
	if err != nil {
		return err
	}
	c.Port = port
	logPath := filepath.Join(c.Dir, "server.log")
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	args := []string{"-D", data,
		"-c", "port=" + strconv.Itoa(port),
		"-c", "listen_addresses=127.0.0.1",
		"-c", "unix_socket_directories=" + c.SockDir,
		"-c", "max_connections=300", "-c", "shared_buffers=32MB",
	}
	if !set.Durable {
		// A test cluster: speed over durability. Nothing survives it.
		args = append(args, "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off")
	}
	cmd := exec.Command(filepath.Join(bin, "postgres"), args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	// The server dies with this process (SIGQUIT: immediate shutdown) even
	// when the test binary is killed. The parent-death signal follows the
	// forking thread, so that thread stays locked until the server exits.
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGQUIT, Setpgid: true}
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		defer logf.Close()
		if err := cmd.Start(); err != nil {
			started <- err
			close(c.exited)
			return
		}
		started <- nil
		cmd.Wait()
		close(c.exited)
		// The thread is dropped with the goroutine: nothing depends on it
		// any more.
	}()
	if err := <-started; err != nil {
		return fmt.Errorf("starting postgres: %w", err)
	}
	c.cmd = cmd
	deadline := time.Now().Add(30 * time.Second)
	for {
		conn, err := pgx.Connect(context.Background(), c.URL("postgres"))
		if err == nil {
			c.admin = conn
			return nil
		}
		select {
		case <-c.exited:
			out, _ := os.ReadFile(logPath)
			return fmt.Errorf("postgres exited at start: %s", tail(out))
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			c.Stop()
			out, _ := os.ReadFile(logPath)
			return fmt.Errorf("postgres not ready after 30s: %w\n%s", err, tail(out))
		}
	}
}

func tail(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 2000 {
		s = s[len(s)-2000:]
	}
	return s
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// URL is the connection URL of database db.
func (c *Cluster) URL(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", c.Port, db)
}

// CreateDatabase creates an empty database.
func (c *Cluster) CreateDatabase(ctx context.Context, name string) error {
	c.adMu.Lock()
	defer c.adMu.Unlock()
	if _, err := c.admin.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()+" TEMPLATE template0"); err != nil {
		return fmt.Errorf("creating database %s: %w", name, err)
	}
	return nil
}

// Stop shuts the server down (fast: sessions are ended) and removes its
// files.
func (c *Cluster) Stop() error {
	if c.admin != nil {
		c.admin.Close(context.Background())
		c.admin = nil
	}
	var err error
	if c.cmd != nil && c.cmd.Process != nil {
		c.cmd.Process.Signal(syscall.SIGINT)
		select {
		case <-c.exited:
		case <-time.After(20 * time.Second):
			c.cmd.Process.Kill()
			<-c.exited
			err = errors.New("postgres did not stop within 20s; killed")
		}
	}
	if rerr := os.RemoveAll(c.Dir); rerr != nil && err == nil {
		err = rerr
	}
	return err
}
