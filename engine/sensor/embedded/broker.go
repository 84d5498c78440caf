// Package embedded runs an in-process Kafka cluster (franz-go's kfake) for
// `sluice broker`, the demo (whose producer is in cmd/internal/demoenv)
// and tests. It speaks the real wire protocol: any Kafka client, sarama
// included, talks to it as to a broker.
package embedded

import (
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"

	"github.com/twmb/franz-go/pkg/kfake"
)

// Options configure a Broker.
type Options struct {
	// Listen is host:port of the first broker (further brokers take the
	// following ports). "" means a free port on 127.0.0.1.
	Listen string
	// Advertise is the host clients are told to connect to; default the
	// listen host, or 127.0.0.1 when that is unspecified (0.0.0.0, ::).
	Advertise string
	// Brokers is the number of brokers. Default 1.
	Brokers int
	// Partitions of each topic in Topics and of auto-created topics. Default 3.
	Partitions int32
	// Topics are created at start (when DataDir holds no earlier state).
	Topics []string
	// DataDir persists the log and group offsets: a broker started again on
	// the same dir (and ports) keeps its data. "" keeps everything in memory.
	DataDir string
	// Logger receives kfake's warnings and errors.
	Logger *slog.Logger
	// Extra are further kfake options (SASL users, TLS, ...).
	Extra []kfake.Opt
}

// Broker is a running embedded cluster.
type Broker struct {
	opts  Options
	ports []int

	mu sync.Mutex
	c  *kfake.Cluster
}

// Start starts the cluster.
func Start(opts Options) (*Broker, error) {
	if opts.Brokers <= 0 {
		opts.Brokers = 1
	}
	if opts.Partitions <= 0 {
		opts.Partitions = 3
	}
	b := &Broker{opts: opts}
	host, port := "127.0.0.1", 0
	if opts.Listen != "" {
		h, p, err := net.SplitHostPort(opts.Listen)
		if err != nil {
			return nil, fmt.Errorf("listen address %q: %w", opts.Listen, err)
		}
		if port, err = strconv.Atoi(p); err != nil {
			return nil, fmt.Errorf("listen address %q: bad port", opts.Listen)
		}
		host = h
	}
	b.ports = make([]int, opts.Brokers)
	for i := range b.ports {
		if port != 0 {
			b.ports[i] = port + i
		}
	}
	if err := b.start(host); err != nil {
		return nil, err
	}
	// Later restarts reuse the ports the first start got.
	for i, a := range b.Addrs() {
		_, p, _ := net.SplitHostPort(a)
		b.ports[i], _ = strconv.Atoi(p)
	}
	b.opts.Listen = net.JoinHostPort(host, "0")
	return b, nil
}

func (b *Broker) start(host string) error {
	advertise := b.opts.Advertise
	if advertise == "" {
		advertise = host
		if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
			advertise = "127.0.0.1"
		}
	}
	opts := []kfake.Opt{
		kfake.Ports(b.ports...),
		kfake.DefaultNumPartitions(int(b.opts.Partitions)),
		kfake.AllowAutoTopicCreation(),
		kfake.ListenFn(func(network, addr string) (net.Listener, error) {
			_, port, err := net.SplitHostPort(addr)
			if err != nil {
				return nil, err
			}
			ln, err := net.Listen(network, net.JoinHostPort(host, port))
			if err != nil {
				return nil, err
			}
			return advertised{Listener: ln, host: advertise}, nil
		}),
	}
	if len(b.opts.Topics) > 0 {
		opts = append(opts, kfake.SeedTopics(b.opts.Partitions, b.opts.Topics...))
	}
	if b.opts.DataDir != "" {
		opts = append(opts, kfake.DataDir(b.opts.DataDir))
	}
	if b.opts.Logger != nil {
		opts = append(opts, kfake.WithLogger(slogLogger{b.opts.Logger}))
	}
	opts = append(opts, b.opts.Extra...)
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		return fmt.Errorf("starting embedded kafka: %w", err)
	}
	b.mu.Lock()
	b.c = c
	b.mu.Unlock()
	return nil
}

// Addrs are the brokers' advertised host:port.
func (b *Broker) Addrs() []string {
	return b.Cluster().ListenAddrs()
}

// Cluster is the kfake cluster, for tests that inject faults.
func (b *Broker) Cluster() *kfake.Cluster {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.c
}

// Close stops the cluster, saving its state when it has a DataDir.
func (b *Broker) Close() {
	b.Cluster().Close()
}

// Restart closes the cluster and starts it again on the same ports (and
// data dir): a broker restart as clients see it. Without a DataDir the
// data is gone afterwards.
func (b *Broker) Restart() error {
	b.Close()
	return b.Reopen()
}

// Reopen starts a closed cluster again on the same ports and data dir, for
// tests that keep the broker down for a while.
func (b *Broker) Reopen() error {
	host, _, _ := net.SplitHostPort(b.opts.Listen)
	return b.start(host)
}

// advertised reports a chosen host as the listener's address: kfake tells
// clients to connect to whatever Addr() says.
type advertised struct {
	net.Listener
	host string
}

func (a advertised) Addr() net.Addr {
	_, port, _ := net.SplitHostPort(a.Listener.Addr().String())
	return hostAddr(net.JoinHostPort(a.host, port))
}

type hostAddr string

func (h hostAddr) Network() string { return "tcp" }
func (h hostAddr) String() string  { return string(h) }

type slogLogger struct{ l *slog.Logger }

func (s slogLogger) Logf(level kfake.LogLevel, msg string, args ...any) {
	switch level {
	case kfake.LogLevelError:
		s.l.Error("kfake: " + fmt.Sprintf(msg, args...))
	case kfake.LogLevelWarn:
		s.l.Warn("kfake: " + fmt.Sprintf(msg, args...))
	}
}
