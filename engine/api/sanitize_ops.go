package api

import "github.com/sluice-dev/sluice/engine/api/text"

// The operations' answers carry outside strings as the snapshot does: an
// audit entry quotes a DAG's name and an error, a version names the file
// it was read from, a diff is a file's content. The engine hands them out
// sanitised (package text) like its snapshots, so every front end gets
// strings safe for a terminal; the CLI's --json, which escapes in JSON's
// own syntax, reads them as stored.

// SanitizedAudit returns entries with every string made safe for a
// terminal: who, what and on what escaped to one line, the outcome (which
// may quote a multi-line error) and the reason keeping their newlines.
// entries is returned as it is when nothing needed escaping.
func SanitizedAudit(entries []AuditEntry) []AuditEntry {
	return each(entries, func(e AuditEntry) (AuditEntry, bool) {
		c := anyOf(line(&e.Actor), line(&e.Action), line(&e.Target), block(&e.Outcome), block(&e.Reason))
		return e, c
	})
}

// SanitizedVersions returns vs with the DAG's name, the source and the
// origin commit made safe for a terminal. Content, the file's bytes, is
// data, not text to print: a diff of it goes through SanitizedDiff.
func SanitizedVersions(vs []DAGVersion) []DAGVersion {
	return each(vs, func(v DAGVersion) (DAGVersion, bool) {
		c := anyOf(line(&v.DAG), line(&v.SHA256), line(&v.Source), sanitizeCommit(&v.Origin))
		return v, c
	})
}

// SanitizedDiff returns a unified diff made safe for a terminal: newlines
// and tabs kept, every other control character escaped, CRs included
// (text.Diff).
func SanitizedDiff(d string) string { return text.Diff(d) }
