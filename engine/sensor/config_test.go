package sensor

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/IBM/sarama"
)

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
