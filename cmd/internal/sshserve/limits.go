package sshserve

import (
	"net"
	"sync"
	"time"

	"github.com/charmbracelet/ssh"
)

// Limits bound what connections may hold before and after they log in, so
// that sockets opened by anyone who can reach the port never exhaust the
// process's file descriptors (the engine's own files, task logs and the
// store need them too). A connection past a cap is closed before the SSH
// banner: it costs an accept and a close, nothing more.
type Limits struct {
	// HandshakeTimeout closes a connection that has not completed the SSH
	// handshake, public-key authentication included, that long after it
	// was accepted (default 10s).
	HandshakeTimeout time.Duration
	// MaxConnections caps open connections, authenticated or not
	// (default 256).
	MaxConnections int
	// MaxUnauthenticated caps connections still in the handshake
	// (default 32): a flood of idle sockets fills this, not the whole
	// budget, and logged-in operators keep their place.
	MaxUnauthenticated int
	// MaxPerSource caps the connections of one remote IP address
	// (default 16).
	MaxPerSource int
}

// DefaultLimits are the limits of a Config that sets none.
var DefaultLimits = Limits{HandshakeTimeout: 10 * time.Second, MaxConnections: 256, MaxUnauthenticated: 32, MaxPerSource: 16}

func (l Limits) withDefaults() Limits {
	if l.HandshakeTimeout <= 0 {
		l.HandshakeTimeout = DefaultLimits.HandshakeTimeout
	}
	if l.MaxConnections <= 0 {
		l.MaxConnections = DefaultLimits.MaxConnections
	}
	if l.MaxUnauthenticated <= 0 {
		l.MaxUnauthenticated = DefaultLimits.MaxUnauthenticated
	}
	if l.MaxPerSource <= 0 {
		l.MaxPerSource = DefaultLimits.MaxPerSource
	}
	return l
}

// ConnStats counts the connections a Server holds now.
type ConnStats struct {
	Open            int // accepted and not yet closed
	Unauthenticated int // of which still in the handshake
	Refused         int // refused by a cap since the start
	TimedOut        int // closed by the handshake timeout since the start
}

// gate admits connections under the limits and counts them.
type gate struct {
	limits Limits
	now    func() time.Time

	mu        sync.Mutex
	stats     ConnStats
	perSource map[string]int
	// lastWarn rate-limits the log line of refusals: a flood must not
	// become a flood of log records.
	lastWarn time.Time
	onRefuse func(remote string, stats ConnStats)
}

func newGate(l Limits, onRefuse func(string, ConnStats)) *gate {
	return &gate{limits: l.withDefaults(), now: time.Now, perSource: map[string]int{}, onRefuse: onRefuse}
}

// gateKey finds a connection's gatedConn in its ssh.Context.
type gateKey struct{}

// admit is the server's ConnCallback: nil refuses the connection.
func (g *gate) admit(ctx ssh.Context, c net.Conn) net.Conn {
	source := sourceOf(c.RemoteAddr())
	g.mu.Lock()
	if g.stats.Open >= g.limits.MaxConnections || g.stats.Unauthenticated >= g.limits.MaxUnauthenticated ||
		g.perSource[source] >= g.limits.MaxPerSource {
		g.stats.Refused++
		warn := g.now().Sub(g.lastWarn) >= 10*time.Second
		if warn {
			g.lastWarn = g.now()
		}
		stats := g.stats
		g.mu.Unlock()
		if warn && g.onRefuse != nil {
			g.onRefuse(c.RemoteAddr().String(), stats)
		}
		return nil
	}
	g.stats.Open++
	g.stats.Unauthenticated++
	g.perSource[source]++
	g.mu.Unlock()

	gc := &gatedConn{Conn: c, gate: g, source: source}
	ctx.SetValue(gateKey{}, gc)
	// Set under the lock Close takes, so a timer firing at once finds it.
	g.mu.Lock()
	defer g.mu.Unlock()
	gc.timer = time.AfterFunc(g.limits.HandshakeTimeout, func() {
		// The server puts the SSH connection in the context once the
		// handshake, authentication included, has succeeded.
		if ctx.Value(ssh.ContextKeyConn) != nil {
			gc.authenticated()
			return
		}
		g.mu.Lock()
		g.stats.TimedOut++
		g.mu.Unlock()
		_ = gc.Close()
	})
	return gc
}

// authenticatedIn marks the connection of ctx as past the handshake.
func authenticatedIn(ctx ssh.Context) {
	if gc, ok := ctx.Value(gateKey{}).(*gatedConn); ok {
		gc.authenticated()
	}
}

// Stats returns the connection counts now.
func (g *gate) Stats() ConnStats {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.stats
}

func sourceOf(a net.Addr) string {
	if tcp, ok := a.(*net.TCPAddr); ok {
		return tcp.IP.String()
	}
	host, _, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	return host
}

// gatedConn releases its place in the gate when closed, once.
type gatedConn struct {
	net.Conn
	gate   *gate
	source string
	timer  *time.Timer

	once   sync.Once
	closed bool // under gate.mu
	authed bool // under gate.mu
}

func (c *gatedConn) authenticated() {
	g := c.gate
	g.mu.Lock()
	defer g.mu.Unlock()
	if c.authed || c.closed {
		return
	}
	c.authed = true
	g.stats.Unauthenticated--
}

func (c *gatedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() {
		g := c.gate
		g.mu.Lock()
		defer g.mu.Unlock()
		c.timer.Stop()
		c.closed = true
		g.stats.Open--
		if !c.authed {
			g.stats.Unauthenticated--
		}
		if g.perSource[c.source]--; g.perSource[c.source] <= 0 {
			delete(g.perSource, c.source)
		}
	})
	return err
}
