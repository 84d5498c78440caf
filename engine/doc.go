// Package engine is Sluice's composition root: Open builds the store, the
// loader, the runner and its scheduler, the Kafka sensors, the
// metapipeline and the review service from one typed Config, wires their
// change callbacks into one coalescing publisher, and stops them in one
// cascade. The Engine it returns implements api.API for every front end;
// opened Offline it serves the one-shot operations the CLI needs (trigger,
// list runs, operator actions, validate a folder with the loader's rules,
// analyse and stage a metapipeline run, approve and reject reviews)
// without running anything.
//
// It owns the wiring only: what a service does lives in its own package
// under engine/, and the contract front ends see lives in engine/api.
package engine
