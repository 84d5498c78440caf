package sensor

import (
	"errors"
	"testing"
)

// RFC 7677 §3: the SCRAM-SHA-256 exchange for user "user", password "pencil".
func TestSCRAMClientRFC7677(t *testing.T) {
	t.Parallel()
	c := newSCRAMClient(scramSHA256)
	if err := c.Begin("user", "pencil", ""); err != nil {
		t.Fatal(err)
	}
	c.nonce = "rOprNGfwEbeRWgbNEkqO"
	first, err := c.Step("")
	if err != nil || first != "n,,n=user,r=rOprNGfwEbeRWgbNEkqO" {
		t.Fatalf("client-first %q, %v", first, err)
	}
	final, err := c.Step("r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096")
	want := "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
	if err != nil || final != want {
		t.Fatalf("client-final\n got %q, %v\nwant %q", final, err, want)
	}
	if c.Done() {
		t.Fatal("done before the server's signature")
	}
	if _, err := c.Step("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="); err != nil {
		t.Fatalf("server-final: %v", err)
	}
	if !c.Done() {
		t.Fatal("not done after the server's signature")
	}
}

func TestSCRAMClientRejects(t *testing.T) {
	t.Parallel()
	start := func() *scramClient {
		c := newSCRAMClient(scramSHA512)
		if err := c.Begin("u=,x", "pw", ""); err != nil {
			t.Fatal(err)
		}
		c.nonce = "abc"
		first, _ := c.Step("")
		if first != "n,,n=u=3D=2Cx,r=abc" {
			t.Fatalf("user name not escaped: %q", first)
		}
		return c
	}
	cases := map[string][]string{
		"server error":           {"e=invalid-proof"},
		"nonce not ours":         {"r=xyz123,s=c2FsdA==,i=4096"},
		"nonce not extended":     {"r=abc,s=c2FsdA==,i=4096"},
		"bad salt":               {"r=abcdef,s=!!,i=4096"},
		"bad iterations":         {"r=abcdef,s=c2FsdA==,i=zero"},
		"forged server":          {"r=abcdef,s=c2FsdA==,i=16", "v=AAAA"},
		"server refuses at last": {"r=abcdef,s=c2FsdA==,i=16", "e=other-error"},
	}
	for name, steps := range cases {
		c := start()
		var err error
		for _, s := range steps {
			if _, err = c.Step(s); err != nil {
				break
			}
		}
		if !errors.Is(err, errSCRAM) {
			t.Errorf("%s: err %v, want a scram error", name, err)
		}
	}
}
