package gitauth

import (
	"net/url"
	"testing"
)

func TestTokenAllowed(t *testing.T) {
	t.Parallel()
	c := Credentials{Token: "t", TokenHosts: []string{"git.example.com"}}
	loop := c
	loop.AllowHTTPLoopback, loop.TokenHosts = true, []string{"127.0.0.1"}
	for _, tc := range []struct {
		c    Credentials
		u    string
		want bool
	}{
		{c, "https://github.com/o/r.git", true},
		{c, "https://GIT.example.com/r.git", true},
		{c, "http://git.example.com/r.git", false}, // never over plain HTTP
		{c, "https://evil.example.com/r.git", false},
		{c, "https://github.com.evil.example/r.git", false},
		{Credentials{}, "https://github.com/o/r.git", false}, // no token
		{loop, "http://127.0.0.1:8080/r.git", true},
		{c, "http://127.0.0.1:8080/r.git", false}, // loopback HTTP not allowed
		{loop, "ssh://github.com/o/r.git", false},
	} {
		u, err := url.Parse(tc.u)
		if err != nil {
			t.Fatal(err)
		}
		if got := tc.c.TokenAllowed(u); got != tc.want {
			t.Errorf("TokenAllowed(%s) with hosts %v loopback %v = %v, want %v", tc.u, tc.c.TokenHosts, tc.c.AllowHTTPLoopback, got, tc.want)
		}
	}
}

func TestRedactURL(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"https://user:secret@github.com/o/r.git": "https://***@github.com/o/r.git",
		"https://github.com/o/r.git":             "https://github.com/o/r.git",
		"https://github.com/o/r@v1":              "https://github.com/o/r@v1",
		"/srv/git/dags.git":                      "/srv/git/dags.git",
	} {
		if got := RedactURL(in); got != want {
			t.Errorf("RedactURL(%q) = %q, want %q", in, got, want)
		}
	}
}
