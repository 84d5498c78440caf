// Package storetest is the one test suite every implementation of the
// store contract (store.Interface) passes: SQLite in engine/store,
// PostgreSQL in engine/store/postgres. An implementation's test calls Run
// with a Backend; a behaviour both must share is tested here, once.
package storetest

import (
	"context"
	"testing"

	"github.com/sluice-dev/sluice/engine/store"
)

// Backend opens one implementation.
type Backend struct {
	// Fresh returns a new, empty place for a store: a state dir, a
	// database URL.
	Fresh func(t *testing.T) string
	// Open opens (migrating) the store at place. The suite closes it.
	Open func(ctx context.Context, place string) (store.Interface, error)
}

// Run runs the suite against b, each test in parallel on its own place.
func Run(t *testing.T, b Backend) {
	tests := []struct {
		name string
		fn   func(t *testing.T, h harness)
	}{
		{"MigrationsAppliedOnceAndRecorded", testMigrationsAppliedOnceAndRecorded},
		{"ConcurrentOpensMigrateOnce", testConcurrentOpensMigrateOnce},
		{"RunLifecycle", testRunLifecycle},
		{"TasksReturnsLatestAttempt", testTasksReturnsLatestAttempt},
		{"DuplicateBatchReturnsExistingRun", testDuplicateBatchReturnsExistingRun},
		{"ConcurrentDuplicateBatchesLeaveOthersCommitted", testConcurrentDuplicateBatches},
		{"CancelQueued", testCancelQueued},
		{"ClaimExternal", testClaimExternal},
		{"Recover", testRecover},
		{"ListRunsFilters", testListRunsFilters},
		{"ScheduledRunRecordsFireTime", testScheduledRunRecordsFireTime},
		{"DuplicateFireReturnsExistingRun", testDuplicateFireReturnsExistingRun},
		{"ConcurrentFiresOneRunEach", testConcurrentFiresOneRunEach},
		{"BatchUniquePerDAG", testBatchUniquePerDAG},
		{"BatchOverlapRefused", testBatchOverlapRefused},
		{"ConcurrentOverlappingBatchesNeverShareAnOffset", testConcurrentOverlappingBatches},
		{"WritesAfterCloseFail", testWritesAfterCloseFail},
		{"TaskProcessesRecordedUntilClearedOrRecovered", testTaskProcesses},
		{"TicksNewestFirstAndPruned", testTicks},
		{"BatchHighWater", testBatchHighWater},
		{"ReleaseBatches", testReleaseBatches},
		{"ReviewVersionCheck", testReviewVersionCheck},
		{"ConcurrentReviewUpdatesOneWins", testConcurrentReviewUpdates},
		{"AuditLogNewestFirstSinceAndLimit", testAuditLog},
		{"MarkRunAndTask", testMarkRunAndTask},
		{"RerunLinkSkipAndOneAtATime", testRerunLinkSkipAndOneAtATime},
		{"RerunReusesBatch", testRerunReusesBatch},
		{"PauseDAGOnceSurvivesRestartAndUnpause", testPauseDAG},
		{"DAGVersionsNumberedAndDeduplicated", testDAGVersionsNumberedAndDeduplicated},
		{"DAGVersionsConcurrentRecordOneNumber", testDAGVersionsConcurrentRecordOneNumber},
		{"DAGVersionsPrunedKeepingPinned", testDAGVersionsPrunedKeepingPinned},
		{"DAGVersionsRecordedInABatch", testDAGVersionsRecordedInABatch},
		{"DAGPins", testDAGPins},
		{"DAGVersionOrigin", testDAGVersionOrigin},
		{"BackfillFedUnderMaxActiveAndCancelled", testBackfillFedUnderMaxActiveAndCancelled},
		{"BackfillUnboundedQueuesAllAndIsDone", testBackfillUnboundedQueuesAllAndIsDone},
		{"RunRecordsDAGVersion", testRunRecordsDAGVersion},
		{"ClaimersNeverTakeOneRunTwice", testClaimersNeverTakeOneRunTwice},
		{"ClaimOrderIsPriorityThenAge", testClaimOrderIsPriorityThenAge},
		{"ClaimLimitsHoldAcrossInstances", testClaimLimitsHoldAcrossInstances},
		{"ClaimedRunsAndTheirTaskRows", testClaimedRunsAndTheirTaskRows},
		{"ClaimedRunRecordsItsVersion", testClaimedRunRecordsItsVersion},
		{"ReapFencesTheDeadInstance", testReapFencesTheDeadInstance},
		{"ReleaseClaimsTouchesOnlyOwnRuns", testReleaseClaimsTouchesOnlyOwnRuns},
		{"InstancesRegisterAndHeartbeat", testInstancesRegisterAndHeartbeat},
		{"NotificationOutbox", testNotificationOutbox},
		{"NotificationsSurviveReopen", testNotificationsSurviveReopen},
		{"NotificationClaims", testNotificationClaims},
		{"NotifyStates", testNotifyStates},
		{"SensorLags", testSensorLags},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, harness{b: b})
		})
	}
}

// harness opens stores of the backend under test.
type harness struct{ b Backend }

// open returns a store on a fresh place, closed at the end of the test.
func (h harness) open(t *testing.T) store.Interface {
	t.Helper()
	s, _ := h.openPlace(t)
	return s
}

func (h harness) openPlace(t *testing.T) (store.Interface, string) {
	t.Helper()
	place := h.b.Fresh(t)
	return h.reopen(t, place), place
}

// reopen opens the store at place again, closed at the end of the test.
func (h harness) reopen(t *testing.T, place string) store.Interface {
	t.Helper()
	s, err := h.b.Open(context.Background(), place)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}
