package api

import (
	"reflect"
	"strings"
	"testing"
)

// TestSanitizedOperationsCoverEveryField fills every plain string of an
// audit entry and a version with hostile text: a field the sanitisers
// forget, added later included, fails here.
func TestSanitizedOperationsCoverEveryField(t *testing.T) {
	t.Parallel()
	var e AuditEntry
	var v DAGVersion
	fill(reflect.ValueOf(&e).Elem(), 0)
	fill(reflect.ValueOf(&v).Elem(), 0)
	in := []AuditEntry{{Actor: "olga", Action: "pin", Target: "dag etl", Outcome: AuditOK}, e}
	out := SanitizedAudit(in)
	walkStrings(reflect.ValueOf(out), "audit", func(path, s string) {
		if strings.ContainsAny(s, "\x1b\x07\u202e\u009b") {
			t.Errorf("%s keeps raw control characters: %q", path, s)
		}
	})
	if in[1].Target != hostile {
		t.Error("SanitizedAudit modified its argument")
	}
	if strings.Contains(out[1].Target, "\n") || !strings.HasSuffix(out[1].Outcome, "\n") {
		t.Errorf("target %q must be one line, outcome %q keeps its newline", out[1].Target, out[1].Outcome)
	}
	walkStrings(reflect.ValueOf(SanitizedVersions([]DAGVersion{v})), "versions", func(path, s string) {
		if strings.ContainsAny(s, "\x1b\x07\u202e\u009b\n") {
			t.Errorf("%s keeps raw control characters: %q", path, s)
		}
	})
	clean := []AuditEntry{{Actor: "olga", Target: "dag etl"}}
	if out := SanitizedAudit(clean); &out[0] != &clean[0] {
		t.Error("a clean audit log was copied")
	}
	if d := SanitizedDiff("+a\x1b[2J\u009b\r\n\tb\n"); d != "+a\\x1b[2J\\u009b\\r\n\tb\n" {
		t.Errorf("SanitizedDiff = %q", d)
	}
}
