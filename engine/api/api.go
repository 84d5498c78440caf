// Package api is the contract between the engine and its front ends (the
// console, an SSH session, the CLI): the API interface, its change events,
// the typed states and the read model the engine publishes. It is a leaf:
// it imports only the standard library, so a front end that imports it
// pulls in nothing of the engine's machinery (Kafka, S3, git, SQLite).
package api

import (
	"context"
	"encoding/json"
	"errors"
)

// Errors of the API that callers act on.
var (
	// ErrNotAvailable is returned by API calls whose component this engine
	// does not run (yet).
	ErrNotAvailable = errors.New("not available in this engine")
	// ErrInvalidConfig: a run config that is not a JSON object.
	ErrInvalidConfig = errors.New("run config must be a JSON object")
)

// API is what a front end (the console, an SSH session, the CLI) may ask of
// the engine. Nothing else crosses the boundary.
//
// Errors of the actions name what failed and on what, once ("cancelling
// run 12: run already finished"): a front end shows them as they are and
// adds no context of its own, or the operator reads it twice.
type API interface {
	// Snapshot returns an immutable copy of everything the console shows.
	Snapshot() *Snapshot
	// Subscribe returns a channel of coalesced change notifications and a
	// function that ends the subscription. Sends never block the engine: a
	// slow reader gets one Event carrying every topic it missed.
	Subscribe() (<-chan Event, func())
	// ScanNow scans every DAG source and returns when the scan is done.
	ScanNow(ctx context.Context) (ScanResult, error)
	// Trigger queues a run of a DAG with a run config (may be nil).
	Trigger(ctx context.Context, dag string, cfg json.RawMessage) (int64, error)
	// Cancel cancels a queued or running run.
	Cancel(ctx context.Context, run int64) error
	// RunMeta queues a run of the metapipeline.
	RunMeta(ctx context.Context) error
	// Approve and Reject act on a review item. A rejection's reason
	// (optional, one line) is kept with the item and in its history.
	Approve(ctx context.Context, review int64) error
	Reject(ctx context.Context, review int64, reason string) error
	// ExcludeFromReview takes one model (name or unique id) out of a staged
	// deprecation item, which is re-staged with the rest; with Keep the
	// model is kept for good (never proposed again) for Reason. Undo puts
	// it back.
	ExcludeFromReview(ctx context.Context, review int64, model string, x Exclusion) error
	// PauseSensor pauses or resumes one sensor of a DAG.
	PauseSensor(ctx context.Context, dag string, index int, paused bool) error
	// Operations are the operator's other actions (operate.go).
	Operations
}

// Exclusion is how a reviewer takes a model out of a deprecation item.
type Exclusion struct {
	Keep   bool   // for good, as a keep rule; else only for this item
	Reason string // why it is kept (required with Keep)
	Undo   bool   // put the model back (and drop a keep rule this item set)
}

// Topic says which part of the snapshot changed.
type Topic uint32

// Topics of events.
const (
	TopicDAGs Topic = 1 << iota
	TopicRuns
	TopicSensors
	TopicReviews
	TopicMeta
	TopicLogs
)

// Event is a change notification: re-read the snapshot for Topics.
type Event struct {
	Topics Topic
}
