package text

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestJSONEscapesWhatEncodingJSONLeavesRaw(t *testing.T) {
	t.Parallel()
	value := map[string]string{"k\u202e": "a\x1b]0;T\x07b\x1b[2J\nc\u009bd\x7fe\u2066f ✓"}
	enc, err := json.Marshal(value)
	if err != nil {
		t.Fatal(err)
	}
	got := JSON(enc)
	if bytes.ContainsAny(got, "\x1b\x07\n\x7f\u009b\u202e\u2066") {
		t.Errorf("JSON left a raw control character: %q", got)
	}
	for _, want := range []string{`\u202e`, `\u009b`, `\u007f`, `\u2066`, `\u001b`, "✓"} {
		if !strings.Contains(string(got), want) {
			t.Errorf("JSON output lacks %s: %s", want, got)
		}
	}
	var back map[string]string
	if err := json.Unmarshal(got, &back); err != nil {
		t.Fatalf("JSON made invalid JSON: %v\n%s", err, got)
	}
	if back["k\u202e"] != value["k\u202e"] {
		t.Errorf("JSON changed the value: %q, want %q", back, value)
	}
	clean := []byte(`{"name":"daily_etl ✓"}`)
	if out := JSON(clean); &out[0] != &clean[0] {
		t.Error("clean JSON was copied")
	}
}

func TestDiffEscapesEveryCR(t *testing.T) {
	t.Parallel()
	cases := map[string]string{
		"-a\n+a\r\n":           "-a\n+a\\r\n",
		"+x\x1b[2J\ty\n":       "+x\\x1b[2J\ty\n",
		" same\n-\u202eold\n":  " same\n-\\u202eold\n",
		"plain\n\tindented\n":  "plain\n\tindented\n",
		"+\u009b\r\n-ok\rKO\n": "+\\u009b\\r\n-ok\\rKO\n",
	}
	for in, want := range cases {
		if got := Diff(in); got != want {
			t.Errorf("Diff(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzJSON: for any value, JSON of its encoding is valid JSON with no raw
// control, C1 or bidi character, and decodes to the same value.
func FuzzJSON(f *testing.F) {
	for _, s := range []string{"", "plain", "a\x1b]0;t\x07", "\u202e\u2066", "\xff\xfe", "\u009b", "\x7f", "é"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		enc, err := json.Marshal([]string{s})
		if err != nil {
			t.Skip()
		}
		got := JSON(enc)
		if !Safe(strings.ReplaceAll(string(got), "\n", "")) {
			t.Fatalf("JSON(%q) = %q is not safe", enc, got)
		}
		var a, b []string
		if err := json.Unmarshal(enc, &a); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(got, &b); err != nil {
			t.Fatalf("JSON(%q) = %q: %v", enc, got, err)
		}
		if a[0] != b[0] {
			t.Fatalf("JSON changed %q to %q", a[0], b[0])
		}
	})
}
