package sensor

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/engine/dag"
	"github.com/sluice-dev/sluice/engine/enginetest"
	"github.com/sluice-dev/sluice/engine/sensor/embedded"
)

const scramPassword = "correct-horse-battery-staple"

func scramBroker(t *testing.T) *embedded.Broker {
	return startBroker(t, embedded.Options{Topics: []string{"secure"}, Partitions: 2, Extra: []kfake.Opt{
		kfake.EnableSASL(), kfake.Superuser(SASLScramSHA512, "sluice", scramPassword)}})
}

// A broker that demands SCRAM-SHA-512: the sensor consumes and the lag
// monitor reads offsets with the right credentials.
func TestSCRAMSHA512(t *testing.T) {
	t.Parallel()
	b := scramBroker(t)
	conn := ConnConfig{Brokers: b.Addrs(), SASL: SASLConfig{Mechanism: SASLScramSHA512, Username: "sluice", Password: scramPassword}}
	produce(t, conn, "secure", 200)
	sink := newMemSink()
	m := newTestManager(t, conn, sink, fastTunables())
	if err := m.Sync([]*dag.DAG{sensorDAG("secure", dag.Sensor{Topic: "secure", MaxBatchSize: 50, MaxQueued: 1 << 20,
		TickInterval: dag.Duration(50 * time.Millisecond)})}); err != nil {
		t.Fatal(err)
	}
	enginetest.Eventually(t, 30*time.Second, func() bool { return sink.messages() == 200 }, "200 messages over SCRAM")
	enginetest.Eventually(t, 30*time.Second, func() bool {
		return totalLag(readOffsets(t, conn, "sluice.secure", "secure")) == 0
	}, "lag 0 over SCRAM")
}

// syncBuffer is a log destination shared by goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// A wrong password is a clear error everywhere it surfaces (producer, lag
// reader, sensor ticks, snapshot), and the password is printed nowhere:
// not in errors, not in any log line, sarama's included.
func TestWrongPasswordIsClearAndNeverPrinted(t *testing.T) {
	t.Parallel()
	b := scramBroker(t)
	const wrong = "hunter2-not-the-password"
	conn := ConnConfig{Brokers: b.Addrs(), SASL: SASLConfig{Mechanism: SASLScramSHA512, Username: "sluice", Password: wrong}}

	logs := &syncBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug - 4}))
	RouteSaramaLogs(logger)
	t.Cleanup(func() { RouteSaramaLogs(nil) })
	logger.Info("connecting", "kafka", conn) // ConnConfig logs itself redacted

	_, err := Produce(context.Background(), conn, ProduceOptions{Topic: "secure", Count: 1})
	if !errors.Is(err, ErrAuth) || !strings.Contains(err.Error(), `user "sluice"`) {
		t.Errorf("producer error %v: want ErrAuth naming the user", err)
	}
	_, rerr := NewOffsetReader(conn)
	if !errors.Is(rerr, ErrAuth) {
		t.Errorf("offset reader error %v: want ErrAuth", rerr)
	}

	rec := &tickRecorder{}
	m, merr := NewManager(Options{Conn: conn, Sink: newMemSink(), Logger: logger, tun: fastTunables(), OnTick: rec.add,
		Lag: LagOptions{Interval: 100 * time.Millisecond}})
	if merr != nil {
		t.Fatal(merr)
	}
	if err := m.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer m.Stop()
	if err := m.Sync([]*dag.DAG{sensorDAG("secure", dag.Sensor{Topic: "secure", TickInterval: dag.Duration(50 * time.Millisecond)})}); err != nil {
		t.Fatal(err)
	}
	enginetest.Eventually(t, 30*time.Second, func() bool {
		for _, tk := range rec.snapshot() {
			if strings.Contains(tk.Error, ErrAuth.Error()) {
				return true
			}
		}
		return false
	}, "a tick reporting the refused login")
	snap := m.Snapshot()
	if len(snap) != 1 || snap[0].Status != api.SensorError || !strings.Contains(snap[0].Error, ErrAuth.Error()) {
		t.Errorf("snapshot %+v: want status error with the auth failure", snap)
	}
	m.Stop()

	everything := err.Error() + rerr.Error() + logs.String() + conn.String()
	for _, tk := range rec.snapshot() {
		everything += tk.Error
	}
	for _, s := range snap {
		everything += s.Error
	}
	if strings.Contains(everything, wrong) {
		t.Fatal("the password was printed")
	}
	if !strings.Contains(logs.String(), "sasl_password="+redactedPlacehold) {
		t.Errorf("ConnConfig did not log itself redacted: %s", logs.String())
	}
}

// tlsFiles writes a CA, a broker certificate for 127.0.0.1 and a client
// certificate, and returns the broker's tls.Config (which demands a client
// certificate signed by the CA) and the client-side file paths.
func tlsFiles(t *testing.T) (server *tls.Config, caFile, certFile, keyFile string) {
	t.Helper()
	dir := t.TempDir()
	newKey := func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	writePEM := func(name, typ string, der []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	caKey := newKey()
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "sluice test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true,
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	issue := func(serial int64, cn string, usage x509.ExtKeyUsage, ips []net.IP) tls.Certificate {
		k := newKey()
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
			ExtKeyUsage: []x509.ExtKeyUsage{usage}, KeyUsage: x509.KeyUsageDigitalSignature, IPAddresses: ips}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &k.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: k}
	}
	srv := issue(2, "broker", x509.ExtKeyUsageServerAuth, []net.IP{net.ParseIP("127.0.0.1")})
	cli := issue(3, "sluice", x509.ExtKeyUsageClientAuth, nil)
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	server = &tls.Config{Certificates: []tls.Certificate{srv}, ClientCAs: pool, ClientAuth: tls.RequireAndVerifyClientCert,
		MinVersion: tls.VersionTLS12}
	caFile = writePEM("ca.pem", "CERTIFICATE", caDER)
	certFile = writePEM("client.pem", "CERTIFICATE", cli.Certificate[0])
	keyDER, err := x509.MarshalECPrivateKey(cli.PrivateKey.(*ecdsa.PrivateKey))
	if err != nil {
		t.Fatal(err)
	}
	keyFile = writePEM("client-key.pem", "EC PRIVATE KEY", keyDER)
	return server, caFile, certFile, keyFile
}

// A broker that demands TLS with a client certificate: produce, consume and
// read lag through it; without the client certificate, or without trusting
// the CA, the error says TLS.
func TestMutualTLS(t *testing.T) {
	t.Parallel()
	server, ca, cert, key := tlsFiles(t)
	b := startBroker(t, embedded.Options{Topics: []string{"tls"}, Partitions: 2, Extra: []kfake.Opt{kfake.TLS(server)}})
	conn := ConnConfig{Brokers: b.Addrs(), TLS: TLSConfig{CAFile: ca, CertFile: cert, KeyFile: key}}
	produce(t, conn, "tls", 100)
	sink := newMemSink()
	m := newTestManager(t, conn, sink, fastTunables())
	if err := m.Sync([]*dag.DAG{sensorDAG("tls", dag.Sensor{Topic: "tls", MaxQueued: 1 << 20,
		TickInterval: dag.Duration(50 * time.Millisecond)})}); err != nil {
		t.Fatal(err)
	}
	enginetest.Eventually(t, 30*time.Second, func() bool { return sink.messages() == 100 }, "100 messages over TLS")
	enginetest.Eventually(t, 30*time.Second, func() bool { return totalLag(readOffsets(t, conn, "sluice.tls", "tls")) == 0 }, "lag 0 over TLS")

	for name, c := range map[string]ConnConfig{
		"no client certificate": {Brokers: b.Addrs(), TLS: TLSConfig{CAFile: ca}},
		"untrusted broker":      {Brokers: b.Addrs(), TLS: TLSConfig{CertFile: cert, KeyFile: key}},
	} {
		if _, err := NewOffsetReader(c); !errors.Is(err, ErrTLS) {
			t.Errorf("%s: error %v, want ErrTLS", name, err)
		}
	}
}
