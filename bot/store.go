package bot

import (
	"context"
	"errors"
	"time"
)

// ErrNotFound is returned by Store.Get when a key does not exist or has expired.
var ErrNotFound = errors.New("not found")

// Store is the small set of storage primitives every stateful part of Sportello is built on:
// sessions, dedupe marks, conversation locks, rate counters, tickets, outboxes and transcripts.
// Two implementations exist — Redis (bot/store/redis) for many replicas and an embedded
// bbolt file (bot/store/bolt) for one process — and one contract suite (bot/store/storetest)
// runs against both.
//
// Every operation touches a single key so that Redis Cluster can place keys freely.
// A ttl of 0 means "never expires".
type Store interface {
	// Get returns the value of key, or ErrNotFound.
	Get(ctx context.Context, key string) ([]byte, error)
	// Put sets key to val.
	Put(ctx context.Context, key string, val []byte, ttl time.Duration) error
	// PutIfAbsent sets key only if it does not exist; it reports whether it did.
	PutIfAbsent(ctx context.Context, key string, val []byte, ttl time.Duration) (bool, error)
	// DeleteIfEqual deletes key only while it still holds val (lock release); it reports whether it did.
	DeleteIfEqual(ctx context.Context, key string, val []byte) (bool, error)
	// Delete removes keys; missing keys are not an error.
	Delete(ctx context.Context, keys ...string) error
	// Incr adds one to the counter at key and returns the new value; a new counter expires after ttl.
	Incr(ctx context.Context, key string, ttl time.Duration) (int64, error)

	// Append adds vals (at least one) at the end of the list at key in one step, keeps at most
	// maxLen newest entries (0: no limit) and returns the new length. A non-zero ttl (re)sets
	// the list's expiry.
	Append(ctx context.Context, key string, maxLen int, ttl time.Duration, vals ...[]byte) (int64, error)
	// Range returns the list entries from index start (0-based, oldest first) to the end.
	Range(ctx context.Context, key string, start int64) ([][]byte, error)

	// IndexAdd puts member into the sorted index at key with score (re-adding moves it).
	IndexAdd(ctx context.Context, key, member string, score float64) error
	// IndexRemove removes member from the index; it reports whether it was there.
	IndexRemove(ctx context.Context, key, member string) (bool, error)
	// IndexRange returns up to limit members (0: all) with min <= score <= max, lowest score first.
	IndexRange(ctx context.Context, key string, min, max float64, limit int) ([]IndexEntry, error)

	// Publish sends msg to the subscribers of topic, in this process and on other replicas.
	Publish(ctx context.Context, topic string, msg []byte) error
	// Subscribe delivers the messages published to topic until ctx ends; the channel is then closed.
	Subscribe(ctx context.Context, topic string) (<-chan []byte, error)

	// Ping reports whether the store is reachable (readiness).
	Ping(ctx context.Context) error
	// Close releases the store's resources.
	Close() error
}

// IndexEntry is one member of a sorted index.
type IndexEntry struct {
	Member string
	Score  float64
}
