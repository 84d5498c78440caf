package flags

import (
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/sluice-dev/sluice/engine/sensor"
)

// Environment variables KafkaFromEnv reads.
const (
	EnvKafkaBrokers       = "SLUICE_KAFKA_BROKERS" // comma separated host:port
	EnvKafkaClientID      = "SLUICE_KAFKA_CLIENT_ID"
	EnvKafkaVersion       = "SLUICE_KAFKA_VERSION"
	EnvKafkaTLS           = "SLUICE_KAFKA_TLS" // true/false
	EnvKafkaTLSCA         = "SLUICE_KAFKA_TLS_CA"
	EnvKafkaTLSCert       = "SLUICE_KAFKA_TLS_CERT"
	EnvKafkaTLSKey        = "SLUICE_KAFKA_TLS_KEY"
	EnvKafkaTLSInsecure   = "SLUICE_KAFKA_TLS_INSECURE_SKIP_VERIFY"
	EnvKafkaTLSServerName = "SLUICE_KAFKA_TLS_SERVER_NAME"
	EnvKafkaSASLMechanism = "SLUICE_KAFKA_SASL_MECHANISM"
	EnvKafkaSASLUsername  = "SLUICE_KAFKA_SASL_USERNAME"
	EnvKafkaSASLPassword  = "SLUICE_KAFKA_SASL_PASSWORD"
)

// KafkaPrefix is the prefix of the connection flags on commands where
// Kafka is one part among several (the engine's --kafka-brokers,
// --kafka-tls...), so that a bare --tls is not mistaken for another part's.
const KafkaPrefix = "kafka-"

// KafkaFromEnv reads the SLUICE_KAFKA_* variables through getenv (os.Getenv
// in production, a map in tests). Unset variables leave zero values; only a
// malformed boolean is an error.
func KafkaFromEnv(getenv func(string) string) (sensor.ConnConfig, error) {
	c := sensor.ConnConfig{
		Brokers:  splitList(getenv(EnvKafkaBrokers)),
		ClientID: getenv(EnvKafkaClientID),
		Version:  getenv(EnvKafkaVersion),
		TLS: sensor.TLSConfig{
			CAFile:     getenv(EnvKafkaTLSCA),
			CertFile:   getenv(EnvKafkaTLSCert),
			KeyFile:    getenv(EnvKafkaTLSKey),
			ServerName: getenv(EnvKafkaTLSServerName),
		},
		SASL: sensor.SASLConfig{
			Mechanism: strings.ToUpper(getenv(EnvKafkaSASLMechanism)),
			Username:  getenv(EnvKafkaSASLUsername),
			Password:  getenv(EnvKafkaSASLPassword),
		},
	}
	c.Hints = kafkaHints("")
	var err error
	if c.TLS.Enable, err = envBool(getenv, EnvKafkaTLS); err != nil {
		return c, err
	}
	if c.TLS.InsecureSkipVerify, err = envBool(getenv, EnvKafkaTLSInsecure); err != nil {
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
		return false, fmt.Errorf("%w: %s=%q is not a boolean", sensor.ErrConfig, name, v)
	}
	return b, nil
}

// kafkaHints are the settings' names for the connection's errors, with
// the flags as registered under prefix.
func kafkaHints(prefix string) sensor.ConnHints {
	return sensor.ConnHints{
		Brokers:  "set --" + prefix + "brokers or " + EnvKafkaBrokers,
		Password: EnvKafkaSASLPassword + " or --" + prefix + "sasl-password-file",
	}
}

// RegisterKafka adds the connection flags to fs, each name after prefix
// ("" on the Kafka-only tools: --brokers, --tls...; KafkaPrefix on the
// engine's commands), with c's current values (typically from
// KafkaFromEnv) as defaults, so a flag overrides the environment. Parsing
// fs writes into c. The version flag is --kafka-version either way. The
// errors of c then name the flags with that prefix.
//
// The password has no value flag on purpose: a flag shows up in `ps` and
// shell history. It comes from SLUICE_KAFKA_SASL_PASSWORD or a file.
func RegisterKafka(fs *flag.FlagSet, c *sensor.ConnConfig, prefix string) {
	c.Hints = kafkaHints(prefix)
	name := func(n string) string { return prefix + n }
	version := "kafka-version"
	if prefix != "" {
		version = prefix + "version"
	}
	fs.Func(name("brokers"), "comma-separated Kafka bootstrap brokers host:port (env "+EnvKafkaBrokers+")", func(s string) error {
		c.Brokers = splitList(s)
		return nil
	})
	fs.StringVar(&c.ClientID, name("client-id"), c.ClientID, "Kafka client id (env "+EnvKafkaClientID+")")
	fs.StringVar(&c.Version, version, c.Version, "Kafka protocol version, e.g. 3.6.0 (env "+EnvKafkaVersion+")")
	fs.BoolVar(&c.TLS.Enable, name("tls"), c.TLS.Enable, "connect to Kafka with TLS (env "+EnvKafkaTLS+")")
	fs.StringVar(&c.TLS.CAFile, name("tls-ca"), c.TLS.CAFile, "PEM CA bundle to verify Kafka brokers (env "+EnvKafkaTLSCA+")")
	fs.StringVar(&c.TLS.CertFile, name("tls-cert"), c.TLS.CertFile, "PEM client certificate for Kafka (env "+EnvKafkaTLSCert+")")
	fs.StringVar(&c.TLS.KeyFile, name("tls-key"), c.TLS.KeyFile, "PEM client key for Kafka (env "+EnvKafkaTLSKey+")")
	fs.BoolVar(&c.TLS.InsecureSkipVerify, name("tls-insecure-skip-verify"), c.TLS.InsecureSkipVerify, "do not verify Kafka broker certificates (env "+EnvKafkaTLSInsecure+")")
	fs.StringVar(&c.SASL.Mechanism, name("sasl-mechanism"), c.SASL.Mechanism, "Kafka SASL mechanism: PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 (env "+EnvKafkaSASLMechanism+"); password from "+EnvKafkaSASLPassword)
	fs.StringVar(&c.SASL.Username, name("sasl-username"), c.SASL.Username, "Kafka SASL user name (env "+EnvKafkaSASLUsername+")")
	fs.Func(name("sasl-password-file"), "read the Kafka SASL password from this file (else env "+EnvKafkaSASLPassword+")", func(path string) error {
		b, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("reading password file: %w", err)
		}
		c.SASL.Password = strings.TrimRight(string(b), "\r\n")
		return nil
	})
}
