package sensor

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/IBM/sarama"
)

// ErrAuth marks a connection the brokers refused to authenticate: wrong
// user name or password, or a mechanism the broker does not offer.
var ErrAuth = errors.New("kafka authentication failed")

// ErrTLS marks a TLS handshake that failed: an untrusted broker
// certificate, a broker that demands a client certificate, or TLS spoken to
// a plaintext port (and the reverse).
var ErrTLS = errors.New("kafka TLS handshake failed")

// explainConnErr turns what sarama reports when it cannot connect into an
// error an operator can act on. sarama's own words for a refused password
// are often just "EOF" (the broker closes the connection), so with SASL
// configured an EOF while connecting is reported as an authentication
// failure. It never mentions the password.
func explainConnErr(c ConnConfig, err error) error {
	if err == nil {
		return nil
	}
	var unknownCA x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var recErr tls.RecordHeaderError
	var certErr *tls.CertificateVerificationError
	switch {
	case errors.Is(err, ErrAuth), errors.Is(err, ErrTLS):
		return err
	case errors.As(err, &unknownCA), errors.As(err, &hostErr), errors.As(err, &recErr), errors.As(err, &certErr),
		strings.Contains(err.Error(), "tls: "):
		return fmt.Errorf("%w with %s: %v", ErrTLS, strings.Join(c.Brokers, ","), err)
	case errors.Is(err, sarama.ErrSASLAuthenticationFailed),
		c.SASL.Mechanism != "" && (errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)):
		return fmt.Errorf("%w: %s refused %s for user %q (check the user name and password): %v",
			ErrAuth, strings.Join(c.Brokers, ","), c.SASL.Mechanism, c.SASL.Username, err)
	case c.TLS.enabled() && (errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)):
		return fmt.Errorf("%w with %s (is the port TLS? does it demand a client certificate?): %v",
			ErrTLS, strings.Join(c.Brokers, ","), err)
	}
	return err
}
