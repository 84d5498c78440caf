package sshserve

import (
	"crypto/ed25519"
	"crypto/rand"
	"strings"
	"testing"

	gossh "golang.org/x/crypto/ssh"

	"github.com/sluice-dev/sluice/engine/access"
	"github.com/sluice-dev/sluice/tui"
)

func newKey(t testing.TB) (gossh.Signer, string) {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := gossh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	line := strings.TrimSpace(string(gossh.MarshalAuthorizedKey(signer.PublicKey())))
	return signer, line
}

func TestParseAuthorizedKeys(t *testing.T) {
	t.Parallel()
	_, a := newKey(t)
	_, b := newKey(t)
	_, c := newKey(t)
	_, d := newKey(t)
	file := "# team\n\n" +
		a + " alice@laptop\n" +
		"role=viewer " + b + " bob@desk\n" +
		`environment="SLUICE_ROLE=viewer",no-port-forwarding ` + c + "\n" +
		`restrict,pty,role="Operator" ` + d + " dave\n"
	ak, err := ParseAuthorizedKeys("keys", []byte(file), access.Operator)
	if err != nil {
		t.Fatal(err)
	}
	if ak.Len() != 4 {
		t.Fatalf("%d keys", ak.Len())
	}
	want := []struct {
		line    string
		role    access.Role
		comment string
		n       int
	}{{a, access.Operator, "alice@laptop", 3}, {b, access.Viewer, "bob@desk", 4}, {c, access.Viewer, "", 5}, {d, access.Operator, "dave", 6}}
	for _, w := range want {
		pk, _, _, _, err := gossh.ParseAuthorizedKey([]byte(w.line))
		if err != nil {
			t.Fatal(err)
		}
		got, ok := ak.Lookup(pk)
		if !ok || got.Role != w.role || got.Comment != w.comment || got.Line != w.n || !strings.HasPrefix(got.Fingerprint, "SHA256:") {
			t.Errorf("%s: %+v, %v; want role %s comment %q line %d", w.comment, got, ok, w.role, w.comment, w.n)
		}
	}
	other, _ := newKey(t)
	if _, ok := ak.Lookup(other.PublicKey()); ok {
		t.Error("an unlisted key was found")
	}

	// The default role applies to keys without one.
	ak, err = ParseAuthorizedKeys("keys", []byte(a+"\n"), access.Viewer)
	if err != nil {
		t.Fatal(err)
	}
	pk, _, _, _, _ := gossh.ParseAuthorizedKey([]byte(a))
	if got, _ := ak.Lookup(pk); got.Role != access.Viewer {
		t.Errorf("default role not applied: %s", got.Role)
	}
}

func TestParseAuthorizedKeysRefuses(t *testing.T) {
	t.Parallel()
	_, a := newKey(t)
	tests := []struct {
		name, file, want string
	}{
		{"unknown role", "role=admin " + a, `keys:1: unknown role "admin"`},
		{"two roles", "role=viewer,role=operator " + a, "keys:1: two roles for one key"},
		{"from= would not be enforced", `from="10.0.0.0/8" ` + a, `keys:1: option "from" is not supported`},
		{"command=", `command="/bin/false" ` + a, `option "command" is not supported`},
		{"other environment", `environment="PATH=/x" ` + a, "only SLUICE_ROLE is understood"},
		{"garbage", "# ok\nnot a key at all", "keys:2: not a public key line"},
		{"same key, two roles", a + "\nrole=viewer " + a, "keys:2: the key of line 1 again with another role"},
		{"cert-authority", "cert-authority " + a, `option "cert-authority" is not supported`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := ParseAuthorizedKeys("keys", []byte(tt.file), access.Operator)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
	// The same key twice with one role is fine (a merged file).
	if ak, err := ParseAuthorizedKeys("keys", []byte(a+"\n"+a+" again\n"), access.Operator); err != nil || ak.Len() != 1 {
		t.Fatalf("duplicate with one role: %v, %v", ak, err)
	}
}

func TestRoleLine(t *testing.T) {
	t.Parallel()
	if got := RoleLine(Session{User: "alice", Role: access.Operator, KeyComment: "alice@laptop"}); got != "alice (alice@laptop) · operator" {
		t.Errorf("operator line %q", got)
	}
	if got := RoleLine(Session{User: "bob", Role: access.Viewer, KeyComment: "bob"}); !strings.HasPrefix(got, "bob · viewer (read only") {
		t.Errorf("viewer line %q", got)
	}
}

func TestRefusedKeys(t *testing.T) {
	t.Parallel()
	if got := RefusedKeys(access.Operator); len(got) != 0 {
		t.Errorf("an operator is refused %v", got)
	}
	got := RefusedKeys(access.Viewer)
	if len(got) != 18 || got[tui.ActionResetOffsets] != "viewers cannot reset consumer group offsets" || got[tui.ActionPinDAG] != "viewers cannot pin dag versions" || got[tui.ActionApprove] != "viewers cannot approve reviews" || got[tui.ActionTrigger] != "viewers cannot trigger runs" ||
		got[tui.ActionTakeOut] != "viewers cannot change what a review proposes" || got[tui.ActionUndo] != "viewers cannot undo review rejections" ||
		got[tui.ActionTriggerConfig] != "viewers cannot trigger runs" || got[tui.ActionBackfill] != "viewers cannot backfill dags" ||
		got[tui.ActionCancelBackfill] == "" || got[tui.ActionMark] != "viewers cannot mark runs" {
		t.Errorf("a viewer is refused %v", got)
	}
}
