package sshserve

import (
	"bytes"
	"fmt"
	"os"
	"strings"

	gossh "golang.org/x/crypto/ssh"

	"github.com/sluice-dev/sluice/engine/access"
)

// AuthorizedKey is one line of the authorized keys file.
type AuthorizedKey struct {
	Key         gossh.PublicKey
	Role        access.Role
	Comment     string // usually user@host: names the operator in logs
	Line        int
	Fingerprint string // SHA256:…, as ssh-keygen -l prints it
}

// AuthorizedKeys is a parsed authorized keys file.
//
// The format is OpenSSH's: one public key per line, "#" comments, and an
// optional comma-separated list of options before the key. The role is an
// option, in either of two spellings:
//
//	role=viewer ssh-ed25519 AAAAC3Nz… alice@laptop
//	environment="SLUICE_ROLE=viewer" ssh-ed25519 AAAAC3Nz… bob@desk
//
// The second is valid OpenSSH syntax, so one file can serve sshd too. A
// key without a role gets the default role (operator unless
// --ssh-default-role says otherwise). Options that restrict a key in
// OpenSSH — from=, command=, expiry-time=, principals=, cert-authority —
// are refused rather than ignored: ignoring one would grant more than the
// file says. Options that only turn off forwarding are accepted, since
// Sluice forwards nothing.
type AuthorizedKeys struct {
	keys []AuthorizedKey
}

// harmless are OpenSSH options Sluice obeys anyway: it forwards nothing
// and runs no user rc; "pty" only permits what a console needs.
var harmless = map[string]bool{
	"no-port-forwarding":  true,
	"no-agent-forwarding": true,
	"no-x11-forwarding":   true,
	"no-user-rc":          true,
	"restrict":            true,
	"pty":                 true,
}

// ParseAuthorizedKeys reads an authorized keys file's content. Every
// problem is an error naming the file and line: a file the server cannot
// fully understand is not served.
func ParseAuthorizedKeys(path string, data []byte, defaultRole access.Role) (*AuthorizedKeys, error) {
	ak := &AuthorizedKeys{}
	seen := map[string]int{} // marshalled key → index in ak.keys
	for i, raw := range bytes.Split(data, []byte("\n")) {
		line := bytes.TrimSpace(raw)
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		n := i + 1
		key, comment, options, rest, err := gossh.ParseAuthorizedKey(line)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: not a public key line: %v", path, n, err)
		}
		if len(bytes.TrimSpace(rest)) != 0 {
			return nil, fmt.Errorf("%s:%d: one key per line", path, n)
		}
		if _, isCert := key.(*gossh.Certificate); isCert {
			return nil, fmt.Errorf("%s:%d: certificates are not supported; list the public key itself", path, n)
		}
		role, err := roleOf(options, defaultRole)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, n, err)
		}
		k := AuthorizedKey{Key: key, Role: role, Comment: comment, Line: n, Fingerprint: gossh.FingerprintSHA256(key)}
		m := string(key.Marshal())
		if j, dup := seen[m]; dup {
			if ak.keys[j].Role != role {
				return nil, fmt.Errorf("%s:%d: the key of line %d again with another role (%s, not %s)", path, n, ak.keys[j].Line, role, ak.keys[j].Role)
			}
			continue
		}
		seen[m] = len(ak.keys)
		ak.keys = append(ak.keys, k)
	}
	return ak, nil
}

// LoadAuthorizedKeys reads and parses the file at path.
func LoadAuthorizedKeys(path string, defaultRole access.Role) (*AuthorizedKeys, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading authorized keys: %w", err)
	}
	return ParseAuthorizedKeys(path, data, defaultRole)
}

// roleOf reads the role from a key's options.
func roleOf(options []string, defaultRole access.Role) (access.Role, error) {
	role := access.Role("")
	set := func(v string) error {
		r, err := access.ParseRole(v)
		if err != nil {
			return err
		}
		if role != "" && role != r {
			return fmt.Errorf("two roles for one key (%s and %s)", role, r)
		}
		role = r
		return nil
	}
	for _, opt := range options {
		name, val, hasVal := strings.Cut(opt, "=")
		lname := strings.ToLower(strings.TrimSpace(name))
		val = unquote(val)
		switch {
		case lname == "role" && hasVal:
			if err := set(val); err != nil {
				return "", err
			}
		case lname == "environment" && hasVal:
			ename, evalue, ok := strings.Cut(val, "=")
			if !ok || ename != "SLUICE_ROLE" {
				return "", fmt.Errorf("option environment=%q: only SLUICE_ROLE is understood", ename)
			}
			if err := set(evalue); err != nil {
				return "", err
			}
		case !hasVal && harmless[lname]:
		default:
			return "", fmt.Errorf("option %q is not supported by sluice serve (it would not be enforced); remove it", name)
		}
	}
	if role == "" {
		role = defaultRole
	}
	return role, nil
}

func unquote(s string) string {
	s = strings.TrimSpace(s)
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		return s[1 : len(s)-1]
	}
	return s
}

// Lookup finds a public key.
func (a *AuthorizedKeys) Lookup(k gossh.PublicKey) (AuthorizedKey, bool) {
	if a == nil || k == nil {
		return AuthorizedKey{}, false
	}
	m := k.Marshal()
	for _, ak := range a.keys {
		if bytes.Equal(ak.Key.Marshal(), m) {
			return ak, true
		}
	}
	return AuthorizedKey{}, false
}

// Len is the number of distinct keys.
func (a *AuthorizedKeys) Len() int { return len(a.keys) }
