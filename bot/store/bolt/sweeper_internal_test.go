package bolt

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	bbolt "go.etcd.io/bbolt"
)

type manualClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *manualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *manualClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// The background sweeper removes expired records from the file, not only from view.
func TestBackgroundSweeper(t *testing.T) {
	old := sweepInterval
	sweepInterval = 5 * time.Millisecond
	defer func() { sweepInterval = old }()

	clock := &manualClock{now: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
	s, err := Open(filepath.Join(t.TempDir(), "x.db"), clock)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	if err := s.Put(ctx, "gone", []byte("v"), time.Minute); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Append(ctx, "list", 0, time.Minute, []byte("v")); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, "kept", []byte("v"), 0); err != nil {
		t.Fatal(err)
	}
	clock.advance(2 * time.Minute)

	stored := func() (kv, lists, queue int) {
		_ = s.db.View(func(tx *bbolt.Tx) error {
			kv = tx.Bucket(bucketKV).Stats().KeyN
			_ = tx.Bucket(bucketLists).ForEachBucket(func([]byte) error { lists++; return nil })
			queue = tx.Bucket(bucketExp).Stats().KeyN
			return nil
		})
		return
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		kv, lists, queue := stored()
		if kv == 1 && lists == 0 && queue == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after sweeps: %d values, %d lists, %d queued expiries; want 1, 0, 0", kv, lists, queue)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
