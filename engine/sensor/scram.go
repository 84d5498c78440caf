package sensor

import (
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"strconv"
	"strings"
)

// SCRAM (RFC 5802) client for sarama. sarama leaves the SCRAM conversation to
// the caller and the usual implementation (github.com/xdg-go/scram) is not a
// dependency of this module, so the few steps live here on the standard
// library. Names are not SASLprep-normalised: Kafka user names and passwords
// are ASCII in practice, and kfake does not normalise either.

var errSCRAM = errors.New("scram")

type scramHash struct {
	name string
	new  func() hash.Hash
}

var (
	scramSHA256 = scramHash{"SHA-256", sha256.New}
	scramSHA512 = scramHash{"SHA-512", sha512.New}
)

type scramStep int

const (
	scramClientFirst scramStep = iota
	scramClientFinal
	scramVerify
	scramDone
)

type scramClient struct {
	h        scramHash
	user     string
	password string
	authzID  string
	nonce    string
	step     scramStep

	clientFirstBare string
	serverSignature []byte
}

func newSCRAMClient(h scramHash) *scramClient { return &scramClient{h: h} }

// Begin implements sarama.SCRAMClient.
func (c *scramClient) Begin(user, password, authzID string) error {
	var b [24]byte
	if _, err := rand.Read(b[:]); err != nil {
		return fmt.Errorf("%w: nonce: %v", errSCRAM, err)
	}
	*c = scramClient{h: c.h, user: user, password: password, authzID: authzID,
		nonce: base64.RawStdEncoding.EncodeToString(b[:])}
	return nil
}

// Step implements sarama.SCRAMClient: "" starts the exchange, then each
// server message yields the next client message.
func (c *scramClient) Step(challenge string) (string, error) {
	switch c.step {
	case scramClientFirst:
		c.step = scramClientFinal
		c.clientFirstBare = "n=" + scramEscape(c.user) + ",r=" + c.nonce
		return c.gs2Header() + c.clientFirstBare, nil
	case scramClientFinal:
		c.step = scramVerify
		return c.clientFinal(challenge)
	case scramVerify:
		c.step = scramDone
		return "", c.verify(challenge)
	default:
		return "", fmt.Errorf("%w: exchange already finished", errSCRAM)
	}
}

// Done implements sarama.SCRAMClient.
func (c *scramClient) Done() bool { return c.step == scramDone }

func (c *scramClient) clientFinal(serverFirst string) (string, error) {
	attrs := scramAttrs(serverFirst)
	if e, ok := attrs["e"]; ok {
		return "", fmt.Errorf("%w: server refused: %s", errSCRAM, e)
	}
	nonce, salt64, iter := attrs["r"], attrs["s"], attrs["i"]
	if !strings.HasPrefix(nonce, c.nonce) || len(nonce) == len(c.nonce) {
		return "", fmt.Errorf("%w: server nonce does not extend ours", errSCRAM)
	}
	salt, err := base64.StdEncoding.DecodeString(salt64)
	if err != nil || len(salt) == 0 {
		return "", fmt.Errorf("%w: bad salt from server", errSCRAM)
	}
	iterations, err := strconv.Atoi(iter)
	if err != nil || iterations < 1 {
		return "", fmt.Errorf("%w: bad iteration count %q from server", errSCRAM, iter)
	}
	salted, err := pbkdf2.Key(c.h.new, c.password, salt, iterations, c.h.new().Size())
	if err != nil {
		return "", fmt.Errorf("%w: deriving key: %v", errSCRAM, err)
	}
	withoutProof := "c=" + base64.StdEncoding.EncodeToString([]byte(c.gs2Header())) + ",r=" + nonce
	authMessage := c.clientFirstBare + "," + serverFirst + "," + withoutProof

	clientKey := c.hmac(salted, "Client Key")
	storedKey := c.h.new()
	storedKey.Write(clientKey)
	signature := c.hmac(storedKey.Sum(nil), authMessage)
	proof := make([]byte, len(clientKey))
	for i := range clientKey {
		proof[i] = clientKey[i] ^ signature[i]
	}
	c.serverSignature = c.hmac(c.hmac(salted, "Server Key"), authMessage)
	return withoutProof + ",p=" + base64.StdEncoding.EncodeToString(proof), nil
}

func (c *scramClient) verify(serverFinal string) error {
	attrs := scramAttrs(serverFinal)
	if e, ok := attrs["e"]; ok {
		return fmt.Errorf("%w: server refused: %s", errSCRAM, e)
	}
	got, err := base64.StdEncoding.DecodeString(attrs["v"])
	if err != nil || subtle.ConstantTimeCompare(got, c.serverSignature) != 1 {
		return fmt.Errorf("%w: server signature does not match (not the broker we think it is)", errSCRAM)
	}
	return nil
}

func (c *scramClient) gs2Header() string {
	if c.authzID != "" {
		return "n,a=" + scramEscape(c.authzID) + ","
	}
	return "n,,"
}

func (c *scramClient) hmac(key []byte, msg string) []byte {
	m := hmac.New(c.h.new, key)
	m.Write([]byte(msg))
	return m.Sum(nil)
}

var scramEscaper = strings.NewReplacer("=", "=3D", ",", "=2C")

func scramEscape(s string) string { return scramEscaper.Replace(s) }

// scramAttrs splits "a=1,b=2" into a map; values may contain '='.
func scramAttrs(msg string) map[string]string {
	out := make(map[string]string)
	for _, part := range strings.Split(msg, ",") {
		if k, v, ok := strings.Cut(part, "="); ok {
			out[k] = v
		}
	}
	return out
}
