// Package bolt is the embedded [bot.Store] for a single process: one bbolt file that survives
// restarts, with in-process publish/subscribe.
//
// Layout of the file (all integers big-endian, so byte order is numeric order):
//
//	kv/<key>                         = expiry(8) ‖ value        expiry: Unix ns, 0 = never
//	exp/<expiry(8)><kind(1)><key>    = ""                       expiry queue for the sweeper; kind 'k' (kv) or 'l' (list)
//	lists/<key>/<seq(8)>             = entry                    one nested bucket per list; seqs are contiguous
//	listexp/<key>                    = expiry(8)                only for lists with an expiry
//	idx/<key>/s/<score(8)><member>   = ""                       one nested bucket per index, ordered by score then member
//	idx/<key>/m/<member>             = score(8)
//
// Scores are encoded so that byte order is numeric order, negatives included. A list's length
// is last seq − first seq + 1, and Range seeks straight to first seq + start. Expired data is
// invisible at once (checked against the injected clock) and removed by a sweeper that runs
// every [SweepInterval] and walks only the expired head of the exp queue.
//
// Keys and members are limited by bbolt to about 32 KiB; values and list entries to bbolt's
// value limit (far above what Sportello stores).
package bolt

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	bbolt "go.etcd.io/bbolt"

	"github.com/sportello/sportello/bot"
)

// SweepInterval is how often the background sweeper deletes expired keys.
const SweepInterval = time.Minute

// SubscriberBuffer is how many messages a subscriber may fall behind before Publish drops
// messages for it.
const SubscriberBuffer = 256

// sweepInterval is SweepInterval, shortened by tests.
var sweepInterval = SweepInterval

// sweepBatch bounds the work of one sweeper transaction so writers are not held up.
var sweepBatch = 1000

var (
	bucketKV      = []byte("kv")
	bucketExp     = []byte("exp")
	bucketLists   = []byte("lists")
	bucketListExp = []byte("listexp")
	bucketIdx     = []byte("idx")
	bucketScores  = []byte("s")
	bucketMembers = []byte("m")
)

const (
	kindKV   = 'k'
	kindList = 'l'
)

// Store is a [bot.Store] in one bbolt file. It is safe for concurrent use.
type Store struct {
	db    *bbolt.DB
	clock bot.Clock

	stop    chan struct{} // closed by Close: stops the sweeper and ends subscriptions
	wg      sync.WaitGroup
	dropped atomic.Uint64

	mu     sync.RWMutex // guards subs and closed
	closed bool
	subs   map[string]map[*subscriber]struct{}
}

type subscriber struct {
	ch chan []byte
}

var _ bot.Store = (*Store)(nil)

// Open opens (or creates) the store file at path, creating its directory if needed, and starts
// the sweeper. All expiry is judged by clock. A second Open of the same file waits up to a
// second for the first to close it, then fails.
func Open(path string, clock bot.Clock) (*Store, error) {
	if clock == nil {
		clock = bot.SystemClock{}
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("bolt open: %w", err)
		}
	}
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: time.Second})
	if err != nil {
		return nil, fmt.Errorf("bolt open %s: %w", path, err)
	}
	// Concurrent writes share a commit; a lone writer waits at most this long for company
	// (bbolt's default, 10 ms, would add up over the several writes of one message).
	db.MaxBatchDelay = time.Millisecond
	err = db.Update(func(tx *bbolt.Tx) error {
		for _, b := range [][]byte{bucketKV, bucketExp, bucketLists, bucketListExp, bucketIdx} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("bolt open %s: %w", path, err)
	}
	s := &Store{
		db:    db,
		clock: clock,
		stop:  make(chan struct{}),
		subs:  make(map[string]map[*subscriber]struct{}),
	}
	s.wg.Add(1)
	go s.sweeper()
	return s, nil
}

// Clock returns the clock the store judges expiry by.
func (s *Store) Clock() bot.Clock { return s.clock }

// Dropped returns how many published messages were dropped because a subscriber's buffer was full.
func (s *Store) Dropped() uint64 { return s.dropped.Load() }

// Close stops the sweeper and waits for it, closes every subscription channel, and closes the
// file. Closing twice is a no-op.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.stop)
	s.mu.Unlock()
	s.wg.Wait() // the sweeper and the subscription watchers
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("bolt close: %w", err)
	}
	return nil
}

func (s *Store) Ping(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("bolt ping: %w", err)
	}
	s.mu.RLock()
	closed := s.closed
	s.mu.RUnlock()
	if closed {
		return errors.New("bolt ping: store closed")
	}
	return s.db.View(func(tx *bbolt.Tx) error { return nil })
}

// ---- encoding ----

func u64(v uint64) []byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], v)
	return b[:]
}

// encodeScore maps a float64 to 8 bytes whose byte order is the numeric order: positive
// numbers get their sign bit set, negative numbers have all bits flipped. −0 is stored as +0.
func encodeScore(f float64) []byte {
	if f == 0 {
		f = 0 // −0 → +0
	}
	bits := math.Float64bits(f)
	if bits&(1<<63) != 0 {
		bits = ^bits
	} else {
		bits |= 1 << 63
	}
	return u64(bits)
}

func decodeScore(b []byte) float64 {
	bits := binary.BigEndian.Uint64(b)
	if bits&(1<<63) != 0 {
		bits &^= 1 << 63
	} else {
		bits = ^bits
	}
	return math.Float64frombits(bits)
}

func expKey(exp uint64, kind byte, key []byte) []byte {
	k := make([]byte, 0, 9+len(key))
	k = append(k, u64(exp)...)
	k = append(k, kind)
	return append(k, key...)
}

func clone(b []byte) []byte {
	out := make([]byte, len(b))
	copy(out, b)
	return out
}

// ---- helpers inside a transaction ----

func (s *Store) now() uint64 { return uint64(s.clock.Now().UnixNano()) }

// expiry returns the absolute expiry for ttl, 0 for none.
func (s *Store) expiry(ttl time.Duration) uint64 {
	if ttl <= 0 {
		return 0
	}
	return uint64(s.clock.Now().Add(ttl).UnixNano())
}

func live(exp, now uint64) bool { return exp == 0 || exp > now }

// kvGet returns the live value of key (memory owned by the transaction) and its expiry.
func kvGet(tx *bbolt.Tx, key []byte, now uint64) (val []byte, exp uint64, ok bool) {
	rec := tx.Bucket(bucketKV).Get(key)
	if len(rec) < 8 {
		return nil, 0, false
	}
	exp = binary.BigEndian.Uint64(rec)
	if !live(exp, now) {
		return nil, 0, false
	}
	return rec[8:], exp, true
}

// kvPut writes key = val with expiry exp, keeping the exp queue in step.
func kvPut(tx *bbolt.Tx, key, val []byte, exp uint64) error {
	kv, q := tx.Bucket(bucketKV), tx.Bucket(bucketExp)
	if old := kv.Get(key); len(old) >= 8 {
		if oldExp := binary.BigEndian.Uint64(old); oldExp != 0 && oldExp != exp {
			if err := q.Delete(expKey(oldExp, kindKV, key)); err != nil {
				return err
			}
		}
	}
	rec := make([]byte, 8+len(val))
	binary.BigEndian.PutUint64(rec, exp)
	copy(rec[8:], val)
	if err := kv.Put(key, rec); err != nil {
		return err
	}
	if exp != 0 {
		return q.Put(expKey(exp, kindKV, key), nil)
	}
	return nil
}

// kvDelete removes key and its exp queue entry.
func kvDelete(tx *bbolt.Tx, key []byte) error {
	kv := tx.Bucket(bucketKV)
	old := kv.Get(key)
	if old == nil {
		return nil
	}
	if len(old) >= 8 {
		if exp := binary.BigEndian.Uint64(old); exp != 0 {
			if err := tx.Bucket(bucketExp).Delete(expKey(exp, kindKV, key)); err != nil {
				return err
			}
		}
	}
	return kv.Delete(key)
}

func listExpiry(tx *bbolt.Tx, key []byte) uint64 {
	if v := tx.Bucket(bucketListExp).Get(key); len(v) == 8 {
		return binary.BigEndian.Uint64(v)
	}
	return 0
}

// liveList returns the bucket of list key, or nil if it does not exist or has expired.
func liveList(tx *bbolt.Tx, key []byte, now uint64) *bbolt.Bucket {
	b := tx.Bucket(bucketLists).Bucket(key)
	if b == nil || !live(listExpiry(tx, key), now) {
		return nil
	}
	return b
}

func setListExpiry(tx *bbolt.Tx, key []byte, exp uint64) error {
	q, le := tx.Bucket(bucketExp), tx.Bucket(bucketListExp)
	if old := listExpiry(tx, key); old != 0 {
		if err := q.Delete(expKey(old, kindList, key)); err != nil {
			return err
		}
	}
	if exp == 0 {
		return le.Delete(key)
	}
	if err := le.Put(key, u64(exp)); err != nil {
		return err
	}
	return q.Put(expKey(exp, kindList, key), nil)
}

func listDelete(tx *bbolt.Tx, key []byte) error {
	if err := setListExpiry(tx, key, 0); err != nil {
		return err
	}
	lists := tx.Bucket(bucketLists)
	if lists.Bucket(key) == nil {
		return nil
	}
	return lists.DeleteBucket(key)
}

// listBounds returns the first and last sequence numbers of a non-empty list.
func listBounds(b *bbolt.Bucket) (first, last uint64, ok bool) {
	c := b.Cursor()
	fk, _ := c.First()
	lk, _ := c.Last()
	if fk == nil || lk == nil {
		return 0, 0, false
	}
	return binary.BigEndian.Uint64(fk), binary.BigEndian.Uint64(lk), true
}

func indexDelete(tx *bbolt.Tx, key []byte) error {
	idx := tx.Bucket(bucketIdx)
	if idx.Bucket(key) == nil {
		return nil
	}
	return idx.DeleteBucket(key)
}

// ---- bot.Store ----

func checkKey(key string) error {
	if key == "" {
		return errors.New("empty key")
	}
	return nil
}

func checkTTL(ttl time.Duration) error {
	if ttl < 0 {
		return fmt.Errorf("negative ttl %v", ttl)
	}
	return nil
}

func (s *Store) Get(ctx context.Context, key string) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("bolt get: %w", err)
	}
	if err := checkKey(key); err != nil {
		return nil, fmt.Errorf("bolt get: %w", err)
	}
	var out []byte
	now := s.now()
	err := s.db.View(func(tx *bbolt.Tx) error {
		v, _, ok := kvGet(tx, []byte(key), now)
		if !ok {
			return bot.ErrNotFound
		}
		out = clone(v)
		return nil
	})
	if errors.Is(err, bot.ErrNotFound) {
		return nil, bot.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("bolt get: %w", err)
	}
	return out, nil
}

func (s *Store) Put(ctx context.Context, key string, val []byte, ttl time.Duration) error {
	err := ctx.Err()
	if err == nil {
		err = checkKey(key)
	}
	if err == nil {
		err = checkTTL(ttl)
	}
	if err == nil {
		exp := s.expiry(ttl)
		err = s.write(func(tx *bbolt.Tx) error { return kvPut(tx, []byte(key), val, exp) })
	}
	if err != nil {
		return fmt.Errorf("bolt put: %w", err)
	}
	return nil
}

func (s *Store) PutIfAbsent(ctx context.Context, key string, val []byte, ttl time.Duration) (bool, error) {
	put, _, err := s.claim(ctx, key, val, ttl, "")
	if err != nil {
		return false, fmt.Errorf("bolt put if absent: %w", err)
	}
	return put, nil
}

func (s *Store) Claim(ctx context.Context, key string, val []byte, ttl time.Duration, read string) (bool, []byte, error) {
	err := checkKey(read)
	var put bool
	var got []byte
	if err == nil {
		put, got, err = s.claim(ctx, key, val, ttl, read)
	}
	if err != nil {
		return false, nil, fmt.Errorf("bolt claim: %w", err)
	}
	return put, got, nil
}

// claim puts val at key if absent and then reads read ("" reads nothing), in one transaction.
func (s *Store) claim(ctx context.Context, key string, val []byte, ttl time.Duration, read string) (put bool, got []byte, err error) {
	err = ctx.Err()
	if err == nil {
		err = checkKey(key)
	}
	if err == nil {
		err = checkTTL(ttl)
	}
	if err != nil {
		return false, nil, err
	}
	now, exp := s.now(), s.expiry(ttl)
	err = s.write(func(tx *bbolt.Tx) error {
		put, got = false, nil // Batch may run this again
		if _, _, ok := kvGet(tx, []byte(key), now); ok {
			return nil
		}
		put = true
		if err := kvPut(tx, []byte(key), val, exp); err != nil {
			return err
		}
		if read != "" {
			if v, _, ok := kvGet(tx, []byte(read), now); ok {
				got = clone(v) // bbolt's memory is valid only inside the transaction
			}
		}
		return nil
	})
	return put, got, err
}

// write runs one change in a transaction that bbolt may share with concurrent ones (Batch):
// one fsync for many writers, which is what makes a busy bot fast on a disk. fn may run more
// than once, so it sets its results from scratch.
func (s *Store) write(fn func(tx *bbolt.Tx) error) error { return s.db.Batch(fn) }

func (s *Store) DeleteIfEqual(ctx context.Context, key string, val []byte) (bool, error) {
	err := ctx.Err()
	if err == nil {
		err = checkKey(key)
	}
	var deleted bool
	if err == nil {
		now := s.now()
		err = s.write(func(tx *bbolt.Tx) (err error) {
			deleted, err = kvDeleteIfEqual(tx, []byte(key), val, now) // may run again: sets deleted afresh
			return err
		})
	}
	if err != nil {
		return false, fmt.Errorf("bolt delete if equal: %w", err)
	}
	return deleted, nil
}

// Delete removes keys of every kind: values, lists and indexes.
func (s *Store) Delete(ctx context.Context, keys ...string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("bolt delete: %w", err)
	}
	if len(keys) == 0 {
		return nil
	}
	for _, k := range keys {
		if err := checkKey(k); err != nil {
			return fmt.Errorf("bolt delete: %w", err)
		}
	}
	err := s.write(func(tx *bbolt.Tx) error {
		for _, k := range keys {
			key := []byte(k)
			if err := kvDelete(tx, key); err != nil {
				return err
			}
			if err := listDelete(tx, key); err != nil {
				return err
			}
			if err := indexDelete(tx, key); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("bolt delete: %w", err)
	}
	return nil
}

// Incr stores the counter as a decimal string, like Redis, so Get returns e.g. "3". The ttl
// applies when the counter has no expiry yet (a new counter), so calls never extend it.
func (s *Store) Incr(ctx context.Context, key string, ttl time.Duration) (int64, error) {
	err := ctx.Err()
	if err == nil {
		err = checkKey(key)
	}
	if err == nil {
		err = checkTTL(ttl)
	}
	var n int64
	if err == nil {
		now, newExp := s.now(), s.expiry(ttl)
		err = s.write(func(tx *bbolt.Tx) error {
			cur, exp, ok := kvGet(tx, []byte(key), now)
			if ok {
				v, err := strconv.ParseInt(string(cur), 10, 64)
				if err != nil {
					return errors.New("value is not an integer")
				}
				if v == math.MaxInt64 {
					return errors.New("increment would overflow")
				}
				n = v
			}
			n++
			if exp == 0 {
				exp = newExp
			}
			return kvPut(tx, []byte(key), strconv.AppendInt(nil, n, 10), exp)
		})
	}
	if err != nil {
		return 0, fmt.Errorf("bolt incr: %w", err)
	}
	return n, nil
}

func (s *Store) Append(ctx context.Context, key string, maxLen int, ttl time.Duration, vals ...[]byte) (int64, error) {
	err := ctx.Err()
	if err == nil {
		err = checkKey(key)
	}
	if err == nil {
		err = bot.AppendOp(key, maxLen, ttl, vals...).Check()
	}
	var n int64
	if err == nil {
		now, exp := s.now(), s.expiry(ttl)
		err = s.write(func(tx *bbolt.Tx) (err error) {
			n, err = listAppend(tx, []byte(key), vals, maxLen, exp, now)
			return err
		})
	}
	if err != nil {
		return 0, fmt.Errorf("bolt append: %w", err)
	}
	return n, nil
}

// listAppend is Append inside a transaction.
func listAppend(tx *bbolt.Tx, k []byte, vals [][]byte, maxLen int, exp, now uint64) (int64, error) {
	if !live(listExpiry(tx, k), now) {
		if err := listDelete(tx, k); err != nil { // expired: start afresh
			return 0, err
		}
	}
	b, err := tx.Bucket(bucketLists).CreateBucketIfNotExists(k)
	if err != nil {
		return 0, err
	}
	for _, val := range vals {
		seq, err := b.NextSequence()
		if err != nil {
			return 0, err
		}
		if err := b.Put(u64(seq), val); err != nil {
			return 0, err
		}
	}
	first, last, _ := listBounds(b)
	if maxLen > 0 && last-first+1 > uint64(maxLen) {
		cut := last - uint64(maxLen) + 1 // new first
		for q := first; q < cut; q++ {
			if err := b.Delete(u64(q)); err != nil {
				return 0, err
			}
		}
		first = cut
	}
	if exp != 0 {
		if err := setListExpiry(tx, k, exp); err != nil {
			return 0, err
		}
	}
	return int64(last - first + 1), nil
}

// kvDeleteIfEqual is DeleteIfEqual inside a transaction.
func kvDeleteIfEqual(tx *bbolt.Tx, k, val []byte, now uint64) (bool, error) {
	cur, _, ok := kvGet(tx, k, now)
	if !ok || !bytes.Equal(cur, val) {
		return false, nil
	}
	return true, kvDelete(tx, k)
}

// Batch runs the ops in one transaction (so with one fsync).
func (s *Store) Batch(ctx context.Context, ops ...bot.Op) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("bolt batch: %w", err)
	}
	for _, op := range ops {
		err := checkKey(op.Key)
		if err == nil {
			err = op.Check()
		}
		if err != nil {
			return fmt.Errorf("bolt batch: %w", err)
		}
	}
	if len(ops) == 0 {
		return nil
	}
	now := s.now()
	err := s.write(func(tx *bbolt.Tx) error {
		for _, op := range ops {
			var err error
			switch op.Kind {
			case bot.OpPut:
				err = kvPut(tx, []byte(op.Key), op.Val, s.expiry(op.TTL))
			case bot.OpAppend:
				_, err = listAppend(tx, []byte(op.Key), op.Vals, op.MaxLen, s.expiry(op.TTL), now)
			case bot.OpDeleteIfEqual:
				_, err = kvDeleteIfEqual(tx, []byte(op.Key), op.Val, now)
			case bot.OpIndexAdd:
				err = indexAdd(tx, []byte(op.Key), []byte(op.Member), op.Score)
			case bot.OpIndexRemove:
				_, err = indexRemove(tx, []byte(op.Key), []byte(op.Member))
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("bolt batch: %w", err)
	}
	return nil
}

// Range returns the entries from index start; a negative start counts from the end (−1: the
// last entry), as in Redis's LRANGE.
func (s *Store) Range(ctx context.Context, key string, start int64) ([][]byte, error) {
	err := ctx.Err()
	if err == nil {
		err = checkKey(key)
	}
	var out [][]byte
	if err == nil {
		now := s.now()
		err = s.db.View(func(tx *bbolt.Tx) error {
			b := liveList(tx, []byte(key), now)
			if b == nil {
				return nil
			}
			first, last, ok := listBounds(b)
			if !ok {
				return nil
			}
			length := int64(last - first + 1)
			if start < 0 {
				start = max(0, length+start)
			}
			if start >= length {
				return nil
			}
			out = make([][]byte, 0, length-start)
			c := b.Cursor()
			for k, v := c.Seek(u64(first + uint64(start))); k != nil; k, v = c.Next() {
				out = append(out, clone(v))
			}
			return nil
		})
	}
	if err != nil {
		return nil, fmt.Errorf("bolt range: %w", err)
	}
	return out, nil
}

func (s *Store) IndexAdd(ctx context.Context, key, member string, score float64) error {
	err := ctx.Err()
	if err == nil {
		err = checkKey(key)
	}
	if err == nil {
		err = bot.IndexAddOp(key, member, score).Check()
	}
	if err == nil {
		err = s.write(func(tx *bbolt.Tx) error { return indexAdd(tx, []byte(key), []byte(member), score) })
	}
	if err != nil {
		return fmt.Errorf("bolt index add: %w", err)
	}
	return nil
}

// indexAdd is IndexAdd inside a transaction.
func indexAdd(tx *bbolt.Tx, key, m []byte, score float64) error {
	ib, err := tx.Bucket(bucketIdx).CreateBucketIfNotExists(key)
	if err != nil {
		return err
	}
	sb, err := ib.CreateBucketIfNotExists(bucketScores)
	if err != nil {
		return err
	}
	mb, err := ib.CreateBucketIfNotExists(bucketMembers)
	if err != nil {
		return err
	}
	enc := encodeScore(score)
	if old := mb.Get(m); old != nil {
		if bytes.Equal(old, enc) {
			return nil
		}
		if err := sb.Delete(append(clone(old), m...)); err != nil {
			return err
		}
	}
	if err := sb.Put(append(enc, m...), nil); err != nil {
		return err
	}
	return mb.Put(m, enc)
}

func (s *Store) IndexRemove(ctx context.Context, key, member string) (bool, error) {
	err := ctx.Err()
	if err == nil {
		err = checkKey(key)
	}
	var removed bool
	if err == nil {
		err = s.write(func(tx *bbolt.Tx) (err error) {
			removed, err = indexRemove(tx, []byte(key), []byte(member)) // may run again: sets removed afresh
			return err
		})
	}
	if err != nil {
		return false, fmt.Errorf("bolt index remove: %w", err)
	}
	return removed, nil
}

// indexRemove is IndexRemove inside a transaction.
func indexRemove(tx *bbolt.Tx, key, m []byte) (bool, error) {
	idx := tx.Bucket(bucketIdx)
	ib := idx.Bucket(key)
	if ib == nil {
		return false, nil
	}
	sb, mb := ib.Bucket(bucketScores), ib.Bucket(bucketMembers)
	old := mb.Get(m)
	if old == nil {
		return false, nil
	}
	if err := sb.Delete(append(clone(old), m...)); err != nil {
		return false, err
	}
	if err := mb.Delete(m); err != nil {
		return false, err
	}
	if k, _ := mb.Cursor().First(); k == nil { // empty: drop the index, as Redis does
		return true, idx.DeleteBucket(key)
	}
	return true, nil
}

func (s *Store) IndexRange(ctx context.Context, key string, min, max float64, limit int) ([]bot.IndexEntry, error) {
	err := ctx.Err()
	if err == nil {
		err = checkKey(key)
	}
	if err == nil && (math.IsNaN(min) || math.IsNaN(max)) {
		err = errors.New("score bound is NaN")
	}
	var out []bot.IndexEntry
	if err == nil && min <= max {
		err = s.db.View(func(tx *bbolt.Tx) error {
			ib := tx.Bucket(bucketIdx).Bucket([]byte(key))
			if ib == nil {
				return nil
			}
			hi := encodeScore(max)
			c := ib.Bucket(bucketScores).Cursor()
			for k, _ := c.Seek(encodeScore(min)); k != nil; k, _ = c.Next() {
				if bytes.Compare(k[:8], hi) > 0 || (limit > 0 && len(out) >= limit) {
					break
				}
				out = append(out, bot.IndexEntry{Member: string(k[8:]), Score: decodeScore(k[:8])})
			}
			return nil
		})
	}
	if err != nil {
		return nil, fmt.Errorf("bolt index range: %w", err)
	}
	return out, nil
}

// ---- publish / subscribe (this process only) ----

// Publish hands msg to every current subscriber of topic without waiting: a subscriber whose
// buffer is full misses the message, and Dropped counts it.
func (s *Store) Publish(ctx context.Context, topic string, msg []byte) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("bolt publish: %w", err)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return errors.New("bolt publish: store closed")
	}
	subs := s.subs[topic]
	if len(subs) == 0 {
		return nil
	}
	m := clone(msg) // the caller may reuse msg; subscribers share this read-only copy
	for sub := range subs {
		select {
		case sub.ch <- m:
		default:
			s.dropped.Add(1)
		}
	}
	return nil
}

// Subscribe registers at once, so a Publish after it returns is delivered. The channel is
// closed when ctx ends or the store closes. Subscribers of one topic share each message's
// bytes: do not modify them.
func (s *Store) Subscribe(ctx context.Context, topic string) (<-chan []byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("bolt subscribe: %w", err)
	}
	sub := &subscriber{ch: make(chan []byte, SubscriberBuffer)}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, errors.New("bolt subscribe: store closed")
	}
	if s.subs[topic] == nil {
		s.subs[topic] = make(map[*subscriber]struct{})
	}
	s.subs[topic][sub] = struct{}{}
	s.wg.Add(1)
	s.mu.Unlock()

	go func() {
		defer s.wg.Done()
		select {
		case <-ctx.Done():
		case <-s.stop:
		}
		s.mu.Lock()
		delete(s.subs[topic], sub)
		if len(s.subs[topic]) == 0 {
			delete(s.subs, topic)
		}
		close(sub.ch) // under mu: no Publish is sending
		s.mu.Unlock()
	}()
	return sub.ch, nil
}

// ---- expiry sweeper ----

func (s *Store) sweeper() {
	defer s.wg.Done()
	t := time.NewTicker(sweepInterval)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			// Errors are transient (the next tick retries); expired data is invisible anyway.
			_, _ = s.Sweep(context.Background())
		}
	}
}

// Sweep deletes the values and lists that have expired by the store's clock and returns how
// many it deleted. The background sweeper calls it every SweepInterval.
func (s *Store) Sweep(ctx context.Context) (int, error) {
	total := 0
	for {
		if err := ctx.Err(); err != nil {
			return total, err
		}
		select {
		case <-s.stop:
			return total, nil
		default:
		}
		now := s.now()
		n, more := 0, false
		err := s.db.Update(func(tx *bbolt.Tx) error {
			n, more = 0, false
			q := tx.Bucket(bucketExp)
			var due [][]byte
			c := q.Cursor()
			for k, _ := c.First(); k != nil; k, _ = c.Next() {
				if len(k) < 9 || binary.BigEndian.Uint64(k) > now {
					break
				}
				if len(due) == sweepBatch {
					more = true
					break
				}
				due = append(due, clone(k))
			}
			for _, k := range due {
				exp, kind, key := binary.BigEndian.Uint64(k), k[8], k[9:]
				switch kind {
				case kindKV:
					if rec := tx.Bucket(bucketKV).Get(key); len(rec) >= 8 && binary.BigEndian.Uint64(rec) == exp {
						if err := tx.Bucket(bucketKV).Delete(key); err != nil {
							return err
						}
						n++
					}
				case kindList:
					if listExpiry(tx, key) == exp {
						if err := listDelete(tx, key); err != nil {
							return err
						}
						n++
					}
				}
				if err := q.Delete(k); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return total, fmt.Errorf("bolt sweep: %w", err)
		}
		total += n
		if !more {
			return total, nil
		}
	}
}
