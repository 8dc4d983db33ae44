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
	lease, _, err := l.Acquire(ctx, key, "")
	if err != nil {
		return nil, err
	}
	return lease.Release, nil
}

// Lease is a held lock.
type Lease struct {
	store Store
	key   string
	token []byte
}

// Release gives the lock back (if it is still ours).
func (ls *Lease) Release() {
	// With a fresh context: the caller's may already be done.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, _ = ls.store.DeleteIfEqual(ctx, ls.key, ls.token)
}

// ReleaseOp is Release as an op of a Store.Batch, so that it travels with the last writes.
func (ls *Lease) ReleaseOp() Op { return DeleteIfEqualOp(ls.key, ls.token) }

// Acquire waits until it holds key, or ctx ends. Unless read is "", it also reads that store
// key as the lock is taken, in the same round trip: what the lock guards (got is nil if read
// does not exist).
func (l Locker) Acquire(ctx context.Context, key, read string) (lease *Lease, got []byte, err error) {
	var b [12]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, nil, fmt.Errorf("lock token: %w", err)
	}
	lease = &Lease{store: l.Store, key: "lock:" + key, token: []byte(hex.EncodeToString(b[:]))}
	poll := l.Poll
	if poll <= 0 {
		poll = 5 * time.Millisecond
	}
	for {
		var ok bool
		if read == "" {
			ok, err = l.Store.PutIfAbsent(ctx, lease.key, lease.token, l.TTL)
		} else {
			ok, got, err = l.Store.Claim(ctx, lease.key, lease.token, l.TTL, read)
		}
		if err != nil {
			return nil, nil, fmt.Errorf("lock %s: %w", key, err)
		}
		if ok {
			return lease, got, nil
		}
		t := time.NewTimer(poll)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, nil, fmt.Errorf("lock %s: %w", key, ctx.Err())
		case <-t.C:
		}
		if poll < 50*time.Millisecond {
			poll *= 2
		}
	}
}
