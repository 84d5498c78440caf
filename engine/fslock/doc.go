// Package fslock holds advisory file locks between the processes that share
// a state dir (an engine, `sluice status`, a CLI approve).
package fslock
