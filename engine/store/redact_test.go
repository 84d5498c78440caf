package store

import (
	"strings"
	"testing"
)

func TestRedact(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"sqlite", "sqlite"},
		{"postgres://sluice@db:5432/sluice?sslmode=disable", "postgres://sluice@db:5432/sluice?sslmode=disable"},
		{"postgres://sluice:s3cret@db:5432/sluice", "postgres://sluice:xxxxx@db:5432/sluice"},
		{"postgres://db/sluice?user=u&password=s3cret", "postgres://db/sluice?password=xxxxx&user=u"},
		{"host=db user=u password=s3cret dbname=x", "host=db user=u password=xxxxx dbname=x"},
		{"host=db password='s3 cret' dbname=x", "host=db password=xxxxx dbname=x"},
		{"postgres://u:s3%zzcret@db/x", "postgres://u:xxxxx@db/x"},
	} {
		if got := Redact(tc.in); got != tc.want {
			t.Errorf("Redact(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func FuzzRedactHidesPassword(f *testing.F) {
	f.Add("sluice", "s3cret", "db:5432")
	f.Add("u", "p@ss:word", "h")
	f.Fuzz(func(t *testing.T, user, pass, host string) {
		if len(pass) < 4 || strings.ContainsAny(user+host, ":@/?#") || strings.Contains("xxxxx", pass) {
			t.Skip()
		}
		if strings.Contains(user+host, pass) {
			t.Skip()
		}
		raw := "postgres://" + user + ":" + pass + "@" + host + "/db"
		if got := Redact(raw); strings.Contains(got, pass) {
			t.Fatalf("Redact(%q) = %q still holds the password", raw, got)
		}
	})
}
