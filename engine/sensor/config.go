package sensor

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"strconv"
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

	// flagPrefix is what RegisterFlagsPrefixed put before the flag names,
	// so that errors name the flags the user actually has.
	flagPrefix string
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

// Environment variables ConfigFromEnv reads.
const (
	EnvBrokers        = "SLUICE_KAFKA_BROKERS" // comma separated host:port
	EnvClientID       = "SLUICE_KAFKA_CLIENT_ID"
	EnvVersion        = "SLUICE_KAFKA_VERSION"
	EnvTLS            = "SLUICE_KAFKA_TLS" // true/false
	EnvTLSCA          = "SLUICE_KAFKA_TLS_CA"
	EnvTLSCert        = "SLUICE_KAFKA_TLS_CERT"
	EnvTLSKey         = "SLUICE_KAFKA_TLS_KEY"
	EnvTLSInsecure    = "SLUICE_KAFKA_TLS_INSECURE_SKIP_VERIFY"
	EnvTLSServerName  = "SLUICE_KAFKA_TLS_SERVER_NAME"
	EnvSASLMechanism  = "SLUICE_KAFKA_SASL_MECHANISM"
	EnvSASLUsername   = "SLUICE_KAFKA_SASL_USERNAME"
	EnvSASLPassword   = "SLUICE_KAFKA_SASL_PASSWORD"
	defaultClientID   = "sluice"
	redactedPlacehold = "[redacted]"
)

// ConfigFromEnv reads the SLUICE_KAFKA_* variables through getenv (os.Getenv
// in production, a map in tests). Unset variables leave zero values; only a
// malformed boolean is an error.
func ConfigFromEnv(getenv func(string) string) (ConnConfig, error) {
	c := ConnConfig{
		Brokers:  splitList(getenv(EnvBrokers)),
		ClientID: getenv(EnvClientID),
		Version:  getenv(EnvVersion),
		TLS: TLSConfig{
			CAFile:     getenv(EnvTLSCA),
			CertFile:   getenv(EnvTLSCert),
			KeyFile:    getenv(EnvTLSKey),
			ServerName: getenv(EnvTLSServerName),
		},
		SASL: SASLConfig{
			Mechanism: strings.ToUpper(getenv(EnvSASLMechanism)),
			Username:  getenv(EnvSASLUsername),
			Password:  getenv(EnvSASLPassword),
		},
	}
	var err error
	if c.TLS.Enable, err = envBool(getenv, EnvTLS); err != nil {
		return c, err
	}
	if c.TLS.InsecureSkipVerify, err = envBool(getenv, EnvTLSInsecure); err != nil {
		return c, err
	}
	return c, nil
}

func envBool(getenv func(string) string, name string) (bool, error) {
	v := getenv(name)
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, fmt.Errorf("%w: %s=%q is not a boolean", ErrConfig, name, v)
	}
	return b, nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// RegisterFlags adds the connection flags to fs, with c's current values
// (typically from ConfigFromEnv) as defaults, so a flag overrides the
// environment. Parsing fs writes into c. The names are the short ones
// (--brokers, --tls, ...) of the Kafka-only tools.
//
// The password has no value flag on purpose: a flag shows up in `ps` and
// shell history. It comes from SLUICE_KAFKA_SASL_PASSWORD or a file.
func RegisterFlags(fs *flag.FlagSet, c *ConnConfig) {
	RegisterFlagsPrefixed(fs, c, "")
}

// FlagPrefix is the prefix of the connection flags on commands where Kafka
// is one part among several (the engine's --kafka-brokers, --kafka-tls...),
// so that a bare --tls is not mistaken for another part's.
const FlagPrefix = "kafka-"

// RegisterFlagsPrefixed is RegisterFlags with prefix before every flag
// name. The version flag is --kafka-version either way. Errors of c then
// name the prefixed flags.
func RegisterFlagsPrefixed(fs *flag.FlagSet, c *ConnConfig, prefix string) {
	c.flagPrefix = prefix
	name := func(n string) string { return prefix + n }
	version := "kafka-version"
	if prefix != "" {
		version = prefix + "version"
	}
	fs.Func(name("brokers"), "comma-separated Kafka bootstrap brokers host:port (env "+EnvBrokers+")", func(s string) error {
		c.Brokers = splitList(s)
		return nil
	})
	fs.StringVar(&c.ClientID, name("client-id"), c.ClientID, "Kafka client id (env "+EnvClientID+")")
	fs.StringVar(&c.Version, version, c.Version, "Kafka protocol version, e.g. 3.6.0 (env "+EnvVersion+")")
	fs.BoolVar(&c.TLS.Enable, name("tls"), c.TLS.Enable, "connect to Kafka with TLS (env "+EnvTLS+")")
	fs.StringVar(&c.TLS.CAFile, name("tls-ca"), c.TLS.CAFile, "PEM CA bundle to verify Kafka brokers (env "+EnvTLSCA+")")
	fs.StringVar(&c.TLS.CertFile, name("tls-cert"), c.TLS.CertFile, "PEM client certificate for Kafka (env "+EnvTLSCert+")")
	fs.StringVar(&c.TLS.KeyFile, name("tls-key"), c.TLS.KeyFile, "PEM client key for Kafka (env "+EnvTLSKey+")")
	fs.BoolVar(&c.TLS.InsecureSkipVerify, name("tls-insecure-skip-verify"), c.TLS.InsecureSkipVerify, "do not verify Kafka broker certificates (env "+EnvTLSInsecure+")")
	fs.StringVar(&c.SASL.Mechanism, name("sasl-mechanism"), c.SASL.Mechanism, "Kafka SASL mechanism: PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 (env "+EnvSASLMechanism+"); password from "+EnvSASLPassword)
	fs.StringVar(&c.SASL.Username, name("sasl-username"), c.SASL.Username, "Kafka SASL user name (env "+EnvSASLUsername+")")
	fs.Func(name("sasl-password-file"), "read the Kafka SASL password from this file (else env "+EnvSASLPassword+")", func(path string) error {
		b, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("reading password file: %w", err)
		}
		c.SASL.Password = strings.TrimRight(string(b), "\r\n")
		return nil
	})
}

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
		return nil, fmt.Errorf("%w: no brokers (set --%sbrokers or %s)", ErrConfig, c.flagPrefix, EnvBrokers)
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
		if err := c.SASL.apply(cfg, c.flagPrefix); err != nil {
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

func (s SASLConfig) apply(cfg *sarama.Config, flagPrefix string) error {
	if s.Username == "" {
		return fmt.Errorf("%w: SASL %s needs a user name", ErrConfig, s.Mechanism)
	}
	if s.Password == "" {
		return fmt.Errorf("%w: SASL %s needs a password (%s or --%ssasl-password-file)", ErrConfig, s.Mechanism, EnvSASLPassword, flagPrefix)
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
