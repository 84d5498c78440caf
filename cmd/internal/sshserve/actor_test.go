package sshserve

import "testing"

// A session acts as its key: the comment, and the start of the
// fingerprint, whatever user name the client sent.
func TestActorNamesTheKey(t *testing.T) {
	t.Parallel()
	const fp = "SHA256:AbCdEfGhIjKlMnOpQrStUvWxYz0123456789+/abcde"
	tests := []struct {
		name string
		s    Session
		want string
	}{
		{"comment and fingerprint", Session{User: "root", KeyComment: "olga@ops", Fingerprint: fp}, "olga@ops (SHA256:AbCdEfGhIjKl)"},
		{"no comment", Session{User: "olga", Fingerprint: fp}, "key SHA256:AbCdEfGhIjKl"},
		{"a short fingerprint whole", Session{KeyComment: "x", Fingerprint: "SHA256:abc"}, "x (SHA256:abc)"},
	}
	for _, tt := range tests {
		if got := tt.s.Actor(); got != tt.want {
			t.Errorf("%s: Actor() = %q, want %q", tt.name, got, tt.want)
		}
	}
}
