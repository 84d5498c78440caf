// Package enginetest holds the helpers the engine's tests share: a poll
// with a deadline (forwarding to enginetest/poll, which the console's
// tests import directly because it needs only the standard library), a
// store in a temp dir, and a DAG folder built from a compact spec. It is a
// leaf over engine/store so any engine package's tests may import it (but
// not package engine itself).
package enginetest
