package flags

import (
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluice-dev/sluice/engine/sensor"
)

func TestKafkaFromEnvAndFlags(t *testing.T) {
	t.Parallel()
	env := map[string]string{
		EnvKafkaBrokers: "a:9092, b:9093,", EnvKafkaClientID: "me", EnvKafkaVersion: "3.6.0", EnvKafkaTLS: "true",
		EnvKafkaTLSInsecure: "1", EnvKafkaSASLMechanism: "scram-sha-512", EnvKafkaSASLUsername: "u", EnvKafkaSASLPassword: "p@ss",
	}
	c, err := KafkaFromEnv(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(c.Brokers, "|") != "a:9092|b:9093" || c.ClientID != "me" || !c.TLS.Enable || !c.TLS.InsecureSkipVerify ||
		c.SASL.Mechanism != sensor.SASLScramSHA512 || c.SASL.Username != "u" || c.SASL.Password != "p@ss" || c.Version != "3.6.0" {
		t.Fatalf("from env: %#v", c.SASL)
	}
	pwFile := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pwFile, []byte("from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	RegisterKafka(fs, &c, "")
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
	if err := (sensor.ConnConfig{Hints: c.Hints}).Validate(); err == nil || !strings.Contains(err.Error(), "no brokers (set --brokers or SLUICE_KAFKA_BROKERS)") {
		t.Errorf("no brokers: %v", err)
	}
	if _, err := KafkaFromEnv(func(k string) string { return map[string]string{EnvKafkaTLS: "maybe"}[k] }); !errors.Is(err, sensor.ErrConfig) {
		t.Errorf("bad boolean: %v", err)
	}
}

// On the engine commands the same flags carry the kafka- prefix, write
// into the same fields, and errors name the prefixed flags.
func TestRegisterKafkaPrefixed(t *testing.T) {
	t.Parallel()
	pwFile := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pwFile, []byte("pw\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var c sensor.ConnConfig
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	RegisterKafka(fs, &c, KafkaPrefix)
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
		c    sensor.ConnConfig
		want string
	}{
		{sensor.ConnConfig{}, "--kafka-brokers"},
		{sensor.ConnConfig{Brokers: []string{"x:1"}, SASL: sensor.SASLConfig{Mechanism: sensor.SASLPlain, Username: "u"}}, "--kafka-sasl-password-file"},
	} {
		c := tt.c
		RegisterKafka(flag.NewFlagSet("y", flag.ContinueOnError), &c, KafkaPrefix)
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("error %v does not name %s", err, tt.want)
		}
	}
	var short sensor.ConnConfig
	RegisterKafka(flag.NewFlagSet("z", flag.ContinueOnError), &short, "")
	if err := short.Validate(); err == nil || !strings.Contains(err.Error(), "(set --brokers ") {
		t.Errorf("short flags' error: %v", err)
	}
}
