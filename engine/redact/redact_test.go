package redact_test

import (
	"encoding/base64"
	"net/url"
	"strings"
	"testing"

	"github.com/sluice-dev/sluice/engine/redact"
)

func TestRedactorEncodedForms(t *testing.T) {
	t.Parallel()
	const token, secret = "ghp_0123456789abcdefTOKEN", "modeSecret-42/+x"
	r := redact.New(token, secret)
	b64 := base64.StdEncoding.EncodeToString
	tests := []struct {
		name, in string
	}{
		{"literal", "token " + token + " echoed"},
		{"git basic auth", "Authorization: Basic " + b64([]byte("x-access-token:"+token))},
		{"token:secret", "auth=" + b64([]byte(token+":"+secret)) + ";"},
		{"any user", b64([]byte("someone:" + secret))},
		{"bare base64", "x" + b64([]byte(token))},
		{"unpadded url alphabet", base64.RawURLEncoding.EncodeToString([]byte("u:" + secret))},
		{"offset 1", b64([]byte("a" + token + "trailing"))},
		{"offset 2", b64([]byte("ab" + token))},
		{"percent-encoded", "https://x/?s=" + url.QueryEscape(secret)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := r.String(tc.in)
			if !strings.Contains(got, redact.Redacted) {
				t.Fatalf("nothing redacted in %q", got)
			}
			for _, leak := range []string{token, secret, b64([]byte(token)), url.QueryEscape(secret)} {
				if strings.Contains(got, leak) {
					t.Fatalf("%q still holds %q", got, leak)
				}
			}
			if dec, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(got, "Authorization: Basic ")); err == nil &&
				(strings.Contains(string(dec), token) || strings.Contains(string(dec), secret)) {
				t.Fatalf("%q still decodes to a secret", got)
			}
		})
	}
}

func TestRedactorLeavesOtherTextAlone(t *testing.T) {
	t.Parallel()
	r := redact.New("ghp_0123456789abcdefTOKEN", "abc") // "abc" is too short to redact
	in := "Basic " + base64.StdEncoding.EncodeToString([]byte("x-access-token:other-token-value")) + " abc"
	if got := r.String(in); got != in {
		t.Fatalf("changed unrelated text: %q", got)
	}
	var empty *redact.Redactor
	if got := empty.String("abc"); got != "abc" || !empty.Empty() {
		t.Fatalf("nil redactor changed text: %q", got)
	}
}
