package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	gossh "golang.org/x/crypto/ssh"

	"github.com/sluice-dev/sluice/cmd/internal/sshserve/sshtest"
	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/engine/enginetest"
)

// An action taken over SSH is audited as the key that logged in (its
// authorized_keys comment and fingerprint), not as the user name the
// client chose: olga's key logging in as "root" triggers as olga.
func TestServeAuditsTheKeyNotTheClaimedUser(t *testing.T) {
	t.Parallel()
	dags, state, dir := t.TempDir(), t.TempDir(), t.TempDir()
	enginetest.WriteDAG(t, dags, "hello", `{"nodes": [{"id": "say", "type": "local", "config": {"command": "true"}}]}`)
	keys, op, _ := writeKeys(t, dir)
	vars := map[string]string{"DAGS_DIR": dags, "SLUICE_STATE_DIR": state}
	s := startServe(t, vars, "--ssh", "127.0.0.1:0", "--authorized-keys", keys)

	c := sshtest.Open(t, s.ssh, "root", op, 160, 45, nil)
	c.Screen.WaitFor(t, 0, sshWait, "hello", "root (olga@ops) · operator")
	mark := triggerFromTree(t, c, "hello")
	c.Screen.WaitFor(t, mark, sshWait, "queued run #1 of hello")

	want := "olga@ops (" + gossh.FingerprintSHA256(op.PublicKey())[:len("SHA256:")+12] + ")"
	var entries []api.AuditEntry
	enginetest.Eventually(t, sshWait, func() bool {
		code, out, errOut := runCmd(context.Background(), vars, "audit", "--json")
		if code != exitOK {
			t.Fatalf("audit: %d %s", code, errOut)
		}
		if err := json.Unmarshal([]byte(out), &entries); err != nil {
			t.Fatalf("audit --json: %v: %s", err, out)
		}
		return len(entries) > 0
	}, "the trigger to be audited")
	if len(entries) != 1 || entries[0].Actor != want || entries[0].Action != "trigger" ||
		entries[0].Target != "dag hello" || entries[0].Outcome != "ok: run 1" {
		t.Fatalf("audit log %+v, want one trigger of dag hello by %q", entries, want)
	}
	if strings.Contains(entries[0].Actor, "root") {
		t.Fatalf("the client's chosen name reached the audit log: %q", entries[0].Actor)
	}
}
