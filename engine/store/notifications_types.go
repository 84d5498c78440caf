package store

import "time"

// Notification is one event bound for one target in the outbox (table
// notifications, migration 0009).
type Notification struct {
	Seq       int64 // outbox order, assigned by AddNotifications
	Target    string
	EventID   string
	Type      string
	Subject   string
	Payload   []byte // the event, JSON
	CreatedAt time.Time
	Attempts  int    // failed attempts so far
	LastError string // of the last failed attempt
	SentAt    time.Time
}

// NotifyState is the state a subject's last transition event announced
// (table notification_states): a DAG's status, a sensor's lag status.
type NotifyState struct {
	Subject string
	State   string
}

// NotificationTarget sums up one target's outbox.
type NotificationTarget struct {
	Target   string
	Pending  int
	LastSent time.Time // zero: nothing sent yet
	// Attempts and LastError are the oldest pending notification's: how
	// often it failed, and why.
	Attempts  int
	LastError string
}
