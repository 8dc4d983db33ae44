package bot

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"time"
)

// Locker serializes work on one key across goroutines and replicas with a lease in the Store.
// The lease expires by itself (TTL), so a crashed replica cannot block a conversation for long.
type Locker struct {
	Store Store
	TTL   time.Duration // lease length; longer than any single message's handling
	Poll  time.Duration // how often a waiter retries
}

// Lock waits until it holds key, or ctx ends. The returned func releases the lock.
func (l Locker) Lock(ctx context.Context, key string) (func(), error) {
	var b [12]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, fmt.Errorf("lock token: %w", err)
	}
	token := []byte(hex.EncodeToString(b[:]))
	poll := l.Poll
	if poll <= 0 {
		poll = 5 * time.Millisecond
	}
	for {
		ok, err := l.Store.PutIfAbsent(ctx, "lock:"+key, token, l.TTL)
		if err != nil {
			return nil, fmt.Errorf("lock %s: %w", key, err)
		}
		if ok {
			return func() {
				// Released with a fresh context: the caller's may already be done.
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				_, _ = l.Store.DeleteIfEqual(ctx, "lock:"+key, token)
			}, nil
		}
		t := time.NewTimer(poll)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("lock %s: %w", key, ctx.Err())
		case <-t.C:
		}
		if poll < 50*time.Millisecond {
			poll *= 2
		}
	}
}
