package sensor

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/IBM/sarama"
)

// SASL mechanisms ConnConfig understands.
const (
	SASLPlain       = "PLAIN"
	SASLScramSHA256 = "SCRAM-SHA-256"
	SASLScramSHA512 = "SCRAM-SHA-512"
)

// ErrConfig marks a connection configuration that cannot work (missing
// brokers, a TLS file that does not load, an unknown SASL mechanism).
var ErrConfig = errors.New("invalid kafka configuration")

// ConnConfig is how Sluice reaches a Kafka cluster. The zero value with
// Brokers set is a plaintext, unauthenticated connection.
type ConnConfig struct {
	Brokers  []string
	ClientID string
	// Version is the Kafka protocol version to speak ("2.8.0"); empty means
	// sarama's default, which every broker since 2.8 understands.
	Version string

	TLS  TLSConfig
	SASL SASLConfig

	// Hints complete the errors about a missing setting with how the user
	// sets it: the command that built this configuration knows its own
	// flag and variable names, the engine does not.
	Hints ConnHints
}

// ConnHints say how a setting is given, for ConnConfig's errors ("set
// --brokers or SLUICE_KAFKA_BROKERS"); empty: the error says only what is
// missing.
type ConnHints struct {
	Brokers  string // where the brokers come from
	Password string // where the SASL password comes from
}

// hint is " (h)", or nothing without a hint.
func hint(h string) string {
	if h == "" {
		return ""
	}
	return " (" + h + ")"
}

// TLSConfig enables TLS. Any of CA, Cert/Key or InsecureSkipVerify implies
// Enable.
type TLSConfig struct {
	Enable bool
	// CAFile is a PEM bundle to verify brokers with; empty means the
	// system roots.
	CAFile string
	// CertFile and KeyFile are the client certificate for brokers that
	// demand one (mutual TLS).
	CertFile, KeyFile  string
	InsecureSkipVerify bool
	// ServerName overrides the name checked in the broker's certificate.
	ServerName string
}

// SASLConfig enables SASL authentication when Mechanism is set.
type SASLConfig struct {
	Mechanism string // PLAIN, SCRAM-SHA-256, SCRAM-SHA-512
	Username  string
	// Password is a secret: ConnConfig never prints it (see LogValue).
	Password string
}

const (
	defaultClientID   = "sluice"
	redactedPlacehold = "[redacted]"
)

// LogValue keeps the password out of every log line: ConnConfig is logged
// through slog as a group with the secret replaced.
func (c ConnConfig) LogValue() slog.Value {
	attrs := []slog.Attr{
		slog.String("brokers", strings.Join(c.Brokers, ",")),
		slog.String("client_id", c.clientID()),
	}
	if c.Version != "" {
		attrs = append(attrs, slog.String("version", c.Version))
	}
	if c.TLS.enabled() {
		attrs = append(attrs, slog.Bool("tls", true), slog.Bool("tls_insecure", c.TLS.InsecureSkipVerify))
	}
	if c.SASL.Mechanism != "" {
		attrs = append(attrs, slog.String("sasl", c.SASL.Mechanism), slog.String("sasl_user", c.SASL.Username))
		if c.SASL.Password != "" {
			attrs = append(attrs, slog.String("sasl_password", redactedPlacehold))
		}
	}
	return slog.GroupValue(attrs...)
}

// String is the redacted form, for %v in errors and messages.
func (c ConnConfig) String() string {
	return c.LogValue().String()
}

// GoString keeps %#v from dumping the password.
func (c ConnConfig) GoString() string { return "sensor.ConnConfig" + c.String() }

func (c ConnConfig) clientID() string {
	if c.ClientID == "" {
		return defaultClientID
	}
	return c.ClientID
}

func (t TLSConfig) enabled() bool {
	return t.Enable || t.CAFile != "" || t.CertFile != "" || t.KeyFile != "" || t.InsecureSkipVerify
}

// Validate reports what is wrong with c without touching the network
// (it does read the TLS files).
func (c ConnConfig) Validate() error {
	_, err := c.Sarama()
	return err
}

// Sarama builds a sarama configuration for c: client id, version, TLS and
// SASL. Callers then set consumer or producer specifics on it.
func (c ConnConfig) Sarama() (*sarama.Config, error) {
	if len(c.Brokers) == 0 {
		return nil, fmt.Errorf("%w: no brokers%s", ErrConfig, hint(c.Hints.Brokers))
	}
	cfg := sarama.NewConfig()
	cfg.ClientID = c.clientID()
	if c.Version != "" {
		v, err := sarama.ParseKafkaVersion(c.Version)
		if err != nil {
			return nil, fmt.Errorf("%w: kafka version %q: %v", ErrConfig, c.Version, err)
		}
		cfg.Version = v
	}
	cfg.Net.DialTimeout = 10 * time.Second
	if c.TLS.enabled() {
		tc, err := c.TLS.build()
		if err != nil {
			return nil, err
		}
		cfg.Net.TLS.Enable = true
		cfg.Net.TLS.Config = tc
	}
	if c.SASL.Mechanism != "" {
		if err := c.SASL.apply(cfg, c.Hints.Password); err != nil {
			return nil, err
		}
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrConfig, err)
	}
	return cfg, nil
}

func (t TLSConfig) build() (*tls.Config, error) {
	tc := &tls.Config{
		MinVersion:         tls.VersionTLS12,
		InsecureSkipVerify: t.InsecureSkipVerify, //nolint:gosec // an explicit operator choice, off by default
		ServerName:         t.ServerName,
	}
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, fmt.Errorf("%w: reading TLS CA: %v", ErrConfig, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%w: TLS CA %s holds no PEM certificate", ErrConfig, t.CAFile)
		}
		tc.RootCAs = pool
	}
	if (t.CertFile == "") != (t.KeyFile == "") {
		return nil, fmt.Errorf("%w: TLS client certificate and key go together (got cert %q, key %q)", ErrConfig, t.CertFile, t.KeyFile)
	}
	if t.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("%w: loading TLS client certificate: %v", ErrConfig, err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}

func (s SASLConfig) apply(cfg *sarama.Config, passwordHint string) error {
	if s.Username == "" {
		return fmt.Errorf("%w: SASL %s needs a user name", ErrConfig, s.Mechanism)
	}
	if s.Password == "" {
		return fmt.Errorf("%w: SASL %s needs a password%s", ErrConfig, s.Mechanism, hint(passwordHint))
	}
	cfg.Net.SASL.Enable = true
	cfg.Net.SASL.Handshake = true
	cfg.Net.SASL.User = s.Username
	cfg.Net.SASL.Password = s.Password
	switch strings.ToUpper(s.Mechanism) {
	case SASLPlain:
		cfg.Net.SASL.Mechanism = sarama.SASLTypePlaintext
	case SASLScramSHA256:
		cfg.Net.SASL.Mechanism = sarama.SASLTypeSCRAMSHA256
		cfg.Net.SASL.SCRAMClientGeneratorFunc = func() sarama.SCRAMClient { return newSCRAMClient(scramSHA256) }
	case SASLScramSHA512:
		cfg.Net.SASL.Mechanism = sarama.SASLTypeSCRAMSHA512
		cfg.Net.SASL.SCRAMClientGeneratorFunc = func() sarama.SCRAMClient { return newSCRAMClient(scramSHA512) }
	default:
		return fmt.Errorf("%w: unknown SASL mechanism %q (want PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512)", ErrConfig, s.Mechanism)
	}
	return nil
}
