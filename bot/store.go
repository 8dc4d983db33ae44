package bot

import (
	"context"
	"errors"
	"fmt"
	"math"
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

	// Claim is PutIfAbsent and, when it put, Get(read) in the same round trip (got is nil when
	// read does not exist): a lock and the state it guards for the price of one wait.
	Claim(ctx context.Context, key string, val []byte, ttl time.Duration, read string) (claimed bool, got []byte, err error)

	// Batch runs writes in order in one round trip: the end of a message's handling (session,
	// transcript, lock release) costs one wait instead of three. It is not a transaction: on
	// Redis Cluster the keys live on different nodes, and an error may leave some ops done.
	Batch(ctx context.Context, ops ...Op) error

	// Publish sends msg to the subscribers of topic, in this process and on other replicas.
	Publish(ctx context.Context, topic string, msg []byte) error
	// Subscribe delivers the messages published to topic until ctx ends; the channel is then closed.
	Subscribe(ctx context.Context, topic string) (<-chan []byte, error)

	// Ping reports whether the store is reachable (readiness).
	Ping(ctx context.Context) error
	// Close releases the store's resources.
	Close() error
}

// OpKind is what an Op of a Batch does.
type OpKind int

const (
	OpPut           OpKind = iota + 1 // Put(Key, Val, TTL)
	OpAppend                          // Append(Key, MaxLen, TTL, Vals...)
	OpDeleteIfEqual                   // DeleteIfEqual(Key, Val)
	OpIndexAdd                        // IndexAdd(Key, Member, Score)
	OpIndexRemove                     // IndexRemove(Key, Member)
)

// Op is one write of a Batch; make it with PutOp, AppendOp, DeleteIfEqualOp, IndexAddOp or
// IndexRemoveOp.
type Op struct {
	Kind   OpKind
	Key    string
	Val    []byte
	Vals   [][]byte
	MaxLen int
	TTL    time.Duration
	Member string
	Score  float64
}

// PutOp is Put as an Op.
func PutOp(key string, val []byte, ttl time.Duration) Op {
	return Op{Kind: OpPut, Key: key, Val: val, TTL: ttl}
}

// AppendOp is Append as an Op.
func AppendOp(key string, maxLen int, ttl time.Duration, vals ...[]byte) Op {
	return Op{Kind: OpAppend, Key: key, Vals: vals, MaxLen: maxLen, TTL: ttl}
}

// DeleteIfEqualOp is DeleteIfEqual as an Op.
func DeleteIfEqualOp(key string, val []byte) Op {
	return Op{Kind: OpDeleteIfEqual, Key: key, Val: val}
}

// IndexAddOp is IndexAdd as an Op.
func IndexAddOp(key, member string, score float64) Op {
	return Op{Kind: OpIndexAdd, Key: key, Member: member, Score: score}
}

// IndexRemoveOp is IndexRemove as an Op.
func IndexRemoveOp(key, member string) Op {
	return Op{Kind: OpIndexRemove, Key: key, Member: member}
}

// Check reports what is wrong with an op's values (the stores check the key themselves), for
// Batch and for the single-op methods alike.
func (op Op) Check() error {
	switch {
	case op.Kind < OpPut || op.Kind > OpIndexRemove:
		return fmt.Errorf("unknown op %d", op.Kind)
	case op.TTL < 0:
		return fmt.Errorf("negative ttl %v", op.TTL)
	case op.Kind == OpAppend && (op.MaxLen < 0 || len(op.Vals) == 0):
		return errors.New("append needs values and a maxLen >= 0")
	case op.Kind == OpIndexAdd && math.IsNaN(op.Score):
		return errors.New("score is NaN")
	}
	return nil
}

// IndexEntry is one member of a sorted index.
type IndexEntry struct {
	Member string
	Score  float64
}
