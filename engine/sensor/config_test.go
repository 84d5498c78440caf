package sensor

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/IBM/sarama"
)

func TestConfigFromEnvAndFlags(t *testing.T) {
	t.Parallel()
	env := map[string]string{
		EnvBrokers: "a:9092, b:9093,", EnvClientID: "me", EnvVersion: "3.6.0", EnvTLS: "true",
		EnvTLSInsecure: "1", EnvSASLMechanism: "scram-sha-512", EnvSASLUsername: "u", EnvSASLPassword: "p@ss",
	}
	c, err := ConfigFromEnv(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(c.Brokers, "|") != "a:9092|b:9093" || c.ClientID != "me" || !c.TLS.Enable || !c.TLS.InsecureSkipVerify ||
		c.SASL.Mechanism != SASLScramSHA512 || c.SASL.Username != "u" || c.SASL.Password != "p@ss" || c.Version != "3.6.0" {
		t.Fatalf("from env: %#v", c.SASL)
	}
	pwFile := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pwFile, []byte("from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	RegisterFlags(fs, &c)
	if err := fs.Parse([]string{"--brokers", "c:1", "--sasl-username", "v", "--tls=false", "--sasl-password-file", pwFile}); err != nil {
		t.Fatal(err)
	}
	if strings.Join(c.Brokers, "|") != "c:1" || c.SASL.Username != "v" || c.TLS.Enable || c.SASL.Password != "from-file" ||
		c.ClientID != "me" {
		t.Errorf("flags did not override env: brokers %v user %q tls %v", c.Brokers, c.SASL.Username, c.TLS.Enable)
	}
	if fs.Lookup("sasl-password") != nil {
		t.Error("a password flag would leak into ps and shell history")
	}
	if _, err := ConfigFromEnv(func(k string) string { return map[string]string{EnvTLS: "maybe"}[k] }); !errors.Is(err, ErrConfig) {
		t.Errorf("bad boolean: %v", err)
	}
}

// On the engine commands the same flags carry the kafka- prefix, write
// into the same fields, and errors name the prefixed flags.
func TestRegisterFlagsPrefixed(t *testing.T) {
	t.Parallel()
	pwFile := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pwFile, []byte("pw\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var c ConnConfig
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	RegisterFlagsPrefixed(fs, &c, FlagPrefix)
	var names []string
	fs.VisitAll(func(f *flag.Flag) { names = append(names, f.Name) })
	want := "kafka-brokers kafka-client-id kafka-sasl-mechanism kafka-sasl-password-file kafka-sasl-username kafka-tls kafka-tls-ca kafka-tls-cert kafka-tls-insecure-skip-verify kafka-tls-key kafka-version"
	if got := strings.Join(names, " "); got != want {
		t.Fatalf("flags:\n got %s\nwant %s", got, want)
	}
	if err := fs.Parse([]string{"--kafka-brokers", "a:1,b:2", "--kafka-client-id", "me", "--kafka-tls", "--kafka-sasl-mechanism", "PLAIN",
		"--kafka-sasl-username", "u", "--kafka-sasl-password-file", pwFile, "--kafka-version", "3.6.0"}); err != nil {
		t.Fatal(err)
	}
	if strings.Join(c.Brokers, "|") != "a:1|b:2" || c.ClientID != "me" || !c.TLS.Enable || c.SASL.Username != "u" || c.SASL.Password != "pw" || c.Version != "3.6.0" {
		t.Errorf("prefixed flags: %v", c)
	}
	for _, tt := range []struct {
		c    ConnConfig
		want string
	}{
		{ConnConfig{}, "--kafka-brokers"},
		{ConnConfig{Brokers: []string{"x:1"}, SASL: SASLConfig{Mechanism: SASLPlain, Username: "u"}}, "--kafka-sasl-password-file"},
	} {
		c := tt.c
		RegisterFlagsPrefixed(flag.NewFlagSet("y", flag.ContinueOnError), &c, FlagPrefix)
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("error %v does not name %s", err, tt.want)
		}
	}
	var short ConnConfig
	RegisterFlags(flag.NewFlagSet("z", flag.ContinueOnError), &short)
	if err := short.Validate(); err == nil || !strings.Contains(err.Error(), "(set --brokers ") {
		t.Errorf("short flags' error: %v", err)
	}
}

func TestSaramaConfig(t *testing.T) {
	t.Parallel()
	ok := ConnConfig{Brokers: []string{"x:1"}, Version: "3.6.0", SASL: SASLConfig{Mechanism: "PLAIN", Username: "u", Password: "p"}}
	cfg, err := ok.Sarama()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.ClientID != "sluice" || !cfg.Net.SASL.Enable || cfg.Net.SASL.Mechanism != sarama.SASLTypePlaintext ||
		!cfg.Version.IsAtLeast(sarama.V3_6_0_0) || cfg.Net.TLS.Enable {
		t.Errorf("config %+v", cfg.Net.SASL)
	}
	scram := ConnConfig{Brokers: []string{"x:1"}, SASL: SASLConfig{Mechanism: SASLScramSHA256, Username: "u", Password: "p"}}
	if cfg, err := scram.Sarama(); err != nil || cfg.Net.SASL.SCRAMClientGeneratorFunc == nil {
		t.Errorf("scram: %v", err)
	}
	missing := filepath.Join(t.TempDir(), "nope.pem")
	notPEM := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(notPEM, []byte("hello"), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]ConnConfig{
		"no brokers":         {},
		"bad version":        {Brokers: []string{"x:1"}, Version: "banana"},
		"unknown mechanism":  {Brokers: []string{"x:1"}, SASL: SASLConfig{Mechanism: "GSSAPI", Username: "u", Password: "p"}},
		"no user":            {Brokers: []string{"x:1"}, SASL: SASLConfig{Mechanism: "PLAIN"}},
		"no password":        {Brokers: []string{"x:1"}, SASL: SASLConfig{Mechanism: "PLAIN", Username: "u"}},
		"missing CA":         {Brokers: []string{"x:1"}, TLS: TLSConfig{CAFile: missing}},
		"CA is not PEM":      {Brokers: []string{"x:1"}, TLS: TLSConfig{CAFile: notPEM}},
		"cert without key":   {Brokers: []string{"x:1"}, TLS: TLSConfig{CertFile: notPEM}},
		"unloadable keypair": {Brokers: []string{"x:1"}, TLS: TLSConfig{CertFile: notPEM, KeyFile: notPEM}},
	} {
		if err := c.Validate(); !errors.Is(err, ErrConfig) {
			t.Errorf("%s: %v, want ErrConfig", name, err)
		}
	}
	tlsOnly := ConnConfig{Brokers: []string{"x:1"}, TLS: TLSConfig{InsecureSkipVerify: true}}
	if cfg, err := tlsOnly.Sarama(); err != nil || !cfg.Net.TLS.Enable || !cfg.Net.TLS.Config.InsecureSkipVerify {
		t.Errorf("insecure-skip alone should enable TLS: %v", err)
	}
}

// However a ConnConfig is printed, the password is not.
func TestConnConfigRedactsPassword(t *testing.T) {
	t.Parallel()
	c := ConnConfig{Brokers: []string{"x:1"}, SASL: SASLConfig{Mechanism: "PLAIN", Username: "u", Password: "s3cr3t-value"}}
	for _, s := range []string{c.String(), fmt.Sprint(c), fmt.Sprintf("%v %+v %#v %s", c, c, c, c), c.LogValue().String()} {
		if strings.Contains(s, "s3cr3t-value") {
			t.Errorf("password printed: %s", s)
		}
		if !strings.Contains(s, "sasl_user=u") {
			t.Errorf("user name missing: %s", s)
		}
	}
}
