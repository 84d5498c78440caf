package clock

import (
	"testing"
	"time"
)

func TestFixedIsStopped(t *testing.T) {
	t.Parallel()
	at := time.Date(2024, 9, 25, 10, 0, 0, 0, time.UTC)
	c := Fixed(at)
	if !c.Now().Equal(at) {
		t.Fatalf("Now = %v, want %v", c.Now(), at)
	}
	select {
	case <-c.After(0):
		t.Fatal("a stopped clock's After fired")
	case <-time.After(10 * time.Millisecond): // a fired channel would have been chosen at once
	}
}

func TestOrDefaultsToReal(t *testing.T) {
	t.Parallel()
	if Or(nil) != Real {
		t.Error("Or(nil) is not Real")
	}
	f := Fixed(time.Unix(0, 0))
	if Or(f) != f {
		t.Error("Or(c) is not c")
	}
	before := time.Now()
	if got := Real.Now(); got.Before(before) {
		t.Errorf("Real.Now = %v, before %v", got, before)
	}
	if got := <-Real.After(time.Millisecond); got.Before(before) {
		t.Errorf("Real.After delivered %v, before %v", got, before)
	}
}
