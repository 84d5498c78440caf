// Package enginetest holds the helpers the engine's and the console's
// tests share: a poll with a deadline, a store in a temp dir, and a DAG
// folder built from a compact spec. It is a leaf over engine/store so any
// package's tests may import it (but not package engine itself).
package enginetest
