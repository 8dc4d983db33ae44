// Package redis is the [bot.Store] for many replicas: a Redis server, a Sentinel-managed
// master or a Redis Cluster, reached through go-redis's UniversalClient.
//
// Every key and every pub/sub channel is prefixed with the prefix given to [New], so several
// deployments (or test packages) can share one Redis. Each operation touches one key, so keys
// may live on any Cluster node.
package redis

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"sync"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/sportello/sportello/bot"
)

// subBuffer is how many messages a subscription holds before its reader falls behind.
const subBuffer = 256

// Store is a [bot.Store] on Redis. It is safe for concurrent use.
type Store struct {
	c       goredis.UniversalClient
	prefix  string
	sharded bool // Cluster: sharded pub/sub (SPUBLISH/SSUBSCRIBE)

	mu     sync.Mutex
	closed bool
	done   chan struct{} // closed by Close: ends the subscriptions
	wg     sync.WaitGroup
}

var _ bot.Store = (*Store)(nil)

// New connects to the Redis named by url (see [ParseURL] for the accepted forms), checks that
// it answers, and returns a Store whose keys and channels all start with prefix.
func New(ctx context.Context, url, prefix string) (*Store, error) {
	opts, err := ParseURL(url)
	if err != nil {
		return nil, err
	}
	s := NewFromClient(goredis.NewUniversalClient(opts), prefix)
	if err := s.Ping(ctx); err != nil {
		_ = s.c.Close()
		return nil, err
	}
	return s, nil
}

// NewFromClient wraps an existing client; Close closes it.
func NewFromClient(c goredis.UniversalClient, prefix string) *Store {
	_, cluster := c.(*goredis.ClusterClient)
	return &Store{c: c, prefix: prefix, sharded: cluster, done: make(chan struct{})}
}

// Client returns the underlying go-redis client (for tools and tests; keys it sees are
// prefixed with Prefix).
func (s *Store) Client() goredis.UniversalClient { return s.c }

// Prefix returns the prefix of every key and channel of this store.
func (s *Store) Prefix() string { return s.prefix }

func (s *Store) key(k string) (string, error) {
	if k == "" {
		return "", errors.New("empty key")
	}
	return s.prefix + k, nil
}

func checkTTL(ttl time.Duration) error {
	if ttl < 0 {
		return fmt.Errorf("negative ttl %v", ttl)
	}
	return nil
}

// ms converts a positive ttl to whole milliseconds, never rounding down to zero.
func ms(ttl time.Duration) int64 {
	if ttl <= 0 {
		return 0
	}
	return max(1, ttl.Milliseconds())
}

func (s *Store) Get(ctx context.Context, key string) ([]byte, error) {
	k, err := s.key(key)
	if err != nil {
		return nil, fmt.Errorf("redis get: %w", err)
	}
	b, err := s.c.Get(ctx, k).Bytes()
	if errors.Is(err, goredis.Nil) {
		return nil, bot.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("redis get: %w", err)
	}
	return b, nil
}

func (s *Store) Put(ctx context.Context, key string, val []byte, ttl time.Duration) error {
	k, err := s.key(key)
	if err == nil {
		err = checkTTL(ttl)
	}
	if err == nil {
		err = s.c.Set(ctx, k, val, time.Duration(ms(ttl))*time.Millisecond).Err()
	}
	if err != nil {
		return fmt.Errorf("redis put: %w", err)
	}
	return nil
}

func (s *Store) PutIfAbsent(ctx context.Context, key string, val []byte, ttl time.Duration) (bool, error) {
	k, err := s.key(key)
	if err == nil {
		err = checkTTL(ttl)
	}
	if err != nil {
		return false, fmt.Errorf("redis put if absent: %w", err)
	}
	ok, err := s.c.SetNX(ctx, k, val, time.Duration(ms(ttl))*time.Millisecond).Result()
	if err != nil {
		return false, fmt.Errorf("redis put if absent: %w", err)
	}
	return ok, nil
}

// Claim pipelines SET NX and GET; on a Cluster, where the two keys may be on different nodes,
// the GET follows the SET NX (only when it put).
func (s *Store) Claim(ctx context.Context, key string, val []byte, ttl time.Duration, read string) (bool, []byte, error) {
	k, err := s.key(key)
	if err == nil {
		err = checkTTL(ttl)
	}
	var r string
	if err == nil {
		r, err = s.key(read)
	}
	if err != nil {
		return false, nil, fmt.Errorf("redis claim: %w", err)
	}
	if _, cluster := s.c.(*goredis.ClusterClient); cluster {
		ok, err := s.PutIfAbsent(ctx, key, val, ttl)
		if err != nil || !ok {
			return false, nil, err
		}
		got, err := s.Get(ctx, read)
		if errors.Is(err, bot.ErrNotFound) {
			return true, nil, nil
		}
		return true, got, err
	}
	var set *goredis.BoolCmd
	var get *goredis.StringCmd
	_, err = s.c.Pipelined(ctx, func(p goredis.Pipeliner) error {
		set = p.SetNX(ctx, k, val, time.Duration(ms(ttl))*time.Millisecond)
		get = p.Get(ctx, r)
		return nil
	})
	if err != nil && !errors.Is(err, goredis.Nil) {
		return false, nil, fmt.Errorf("redis claim: %w", err)
	}
	if !set.Val() {
		return false, nil, nil
	}
	got, err := get.Bytes()
	if errors.Is(err, goredis.Nil) {
		return true, nil, nil
	}
	if err != nil {
		return false, nil, fmt.Errorf("redis claim: %w", err)
	}
	return true, got, nil
}

var deleteIfEqual = goredis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
	return redis.call('DEL', KEYS[1])
end
return 0`)

func (s *Store) DeleteIfEqual(ctx context.Context, key string, val []byte) (bool, error) {
	k, err := s.key(key)
	if err != nil {
		return false, fmt.Errorf("redis delete if equal: %w", err)
	}
	n, err := deleteIfEqual.Run(ctx, s.c, []string{k}, val).Int64()
	if err != nil {
		return false, fmt.Errorf("redis delete if equal: %w", err)
	}
	return n == 1, nil
}

func (s *Store) Delete(ctx context.Context, keys ...string) error {
	if len(keys) == 0 {
		return nil
	}
	ks := make([]string, len(keys))
	for i, key := range keys {
		k, err := s.key(key)
		if err != nil {
			return fmt.Errorf("redis delete: %w", err)
		}
		ks[i] = k
	}
	var err error
	if len(ks) == 1 {
		err = s.c.Del(ctx, ks[0]).Err()
	} else {
		// One DEL per key: in a Cluster the keys may hash to different slots, and a
		// multi-key DEL would fail with CROSSSLOT. The pipeline keeps it one round trip
		// per node.
		_, err = s.c.Pipelined(ctx, func(p goredis.Pipeliner) error {
			for _, k := range ks {
				p.Del(ctx, k)
			}
			return nil
		})
	}
	if err != nil {
		return fmt.Errorf("redis delete: %w", err)
	}
	return nil
}

// incr sets the expiry only when the counter has none (a new counter, or one left without
// an expiry), so repeated calls never extend a rate window.
var incr = goredis.NewScript(`
local n = redis.call('INCR', KEYS[1])
local ttl = tonumber(ARGV[1])
if ttl > 0 and redis.call('PTTL', KEYS[1]) == -1 then
	redis.call('PEXPIRE', KEYS[1], ttl)
end
return n`)

func (s *Store) Incr(ctx context.Context, key string, ttl time.Duration) (int64, error) {
	k, err := s.key(key)
	if err == nil {
		err = checkTTL(ttl)
	}
	if err != nil {
		return 0, fmt.Errorf("redis incr: %w", err)
	}
	n, err := incr.Run(ctx, s.c, []string{k}, ms(ttl)).Int64()
	if err != nil {
		return 0, fmt.Errorf("redis incr: %w", err)
	}
	return n, nil
}

// appendCmds queues an Append of vals to list k and returns the RPUSH (the new length).
func appendCmds(ctx context.Context, p goredis.Pipeliner, k string, maxLen int, ttl time.Duration, vals [][]byte) *goredis.IntCmd {
	args := make([]any, len(vals))
	for i, v := range vals {
		args[i] = v
	}
	push := p.RPush(ctx, k, args...)
	if maxLen > 0 {
		p.LTrim(ctx, k, int64(-maxLen), -1)
	}
	if ttl > 0 {
		p.PExpire(ctx, k, time.Duration(ms(ttl))*time.Millisecond)
	}
	return push
}

// queued is an op of a Batch with its full key.
type queued struct {
	op bot.Op
	k  string
}

// Batch sends every op in one pipeline, which one server runs in order. A Cluster would send
// the ops of different nodes in parallel, so there each op waits for the one before (a saved
// session must be there before its lock is released).
func (s *Store) Batch(ctx context.Context, ops ...bot.Op) error {
	qs := make([]queued, 0, len(ops))
	for _, op := range ops {
		k, err := s.key(op.Key)
		if err == nil {
			err = op.Check()
		}
		if err != nil {
			return fmt.Errorf("redis batch: %w", err)
		}
		qs = append(qs, queued{op, k})
	}
	if len(qs) == 0 {
		return nil
	}
	groups := [][]queued{qs}
	if _, cluster := s.c.(*goredis.ClusterClient); cluster {
		groups = groups[:0]
		for _, q := range qs {
			groups = append(groups, []queued{q})
		}
	}
	for _, g := range groups {
		if err := s.pipeline(ctx, g); err != nil {
			return fmt.Errorf("redis batch: %w", err)
		}
	}
	return nil
}

func (s *Store) pipeline(ctx context.Context, qs []queued) error {
	_, err := s.c.Pipelined(ctx, func(p goredis.Pipeliner) error {
		for _, q := range qs {
			switch q.op.Kind {
			case bot.OpPut:
				p.Set(ctx, q.k, q.op.Val, time.Duration(ms(q.op.TTL))*time.Millisecond)
			case bot.OpAppend:
				appendCmds(ctx, p, q.k, q.op.MaxLen, q.op.TTL, q.op.Vals)
			case bot.OpDeleteIfEqual:
				deleteIfEqual.Eval(ctx, p, []string{q.k}, q.op.Val)
			case bot.OpIndexAdd:
				p.ZAdd(ctx, q.k, goredis.Z{Score: q.op.Score, Member: q.op.Member})
			case bot.OpIndexRemove:
				p.ZRem(ctx, q.k, q.op.Member)
			}
		}
		return nil
	})
	return err
}

func (s *Store) Append(ctx context.Context, key string, maxLen int, ttl time.Duration, vals ...[]byte) (int64, error) {
	k, err := s.key(key)
	if err == nil {
		err = bot.AppendOp(key, maxLen, ttl, vals...).Check()
	}
	if err != nil {
		return 0, fmt.Errorf("redis append: %w", err)
	}
	var push *goredis.IntCmd
	_, err = s.c.TxPipelined(ctx, func(p goredis.Pipeliner) error {
		push = appendCmds(ctx, p, k, maxLen, ttl, vals)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("redis append: %w", err)
	}
	n := push.Val()
	if maxLen > 0 && n > int64(maxLen) {
		n = int64(maxLen)
	}
	return n, nil
}

func (s *Store) Range(ctx context.Context, key string, start int64) ([][]byte, error) {
	k, err := s.key(key)
	if err != nil {
		return nil, fmt.Errorf("redis range: %w", err)
	}
	vals, err := s.c.LRange(ctx, k, start, -1).Result()
	if err != nil {
		return nil, fmt.Errorf("redis range: %w", err)
	}
	out := make([][]byte, len(vals))
	for i, v := range vals {
		out[i] = []byte(v)
	}
	return out, nil
}

func (s *Store) IndexAdd(ctx context.Context, key, member string, score float64) error {
	k, err := s.key(key)
	if err == nil {
		err = bot.IndexAddOp(key, member, score).Check()
	}
	if err == nil {
		err = s.c.ZAdd(ctx, k, goredis.Z{Score: score, Member: member}).Err()
	}
	if err != nil {
		return fmt.Errorf("redis index add: %w", err)
	}
	return nil
}

func (s *Store) IndexRemove(ctx context.Context, key, member string) (bool, error) {
	k, err := s.key(key)
	if err != nil {
		return false, fmt.Errorf("redis index remove: %w", err)
	}
	n, err := s.c.ZRem(ctx, k, member).Result()
	if err != nil {
		return false, fmt.Errorf("redis index remove: %w", err)
	}
	return n > 0, nil
}

func (s *Store) IndexRange(ctx context.Context, key string, min, max float64, limit int) ([]bot.IndexEntry, error) {
	k, err := s.key(key)
	if err == nil && (math.IsNaN(min) || math.IsNaN(max)) {
		err = errors.New("score bound is NaN")
	}
	if err != nil {
		return nil, fmt.Errorf("redis index range: %w", err)
	}
	if limit < 0 {
		limit = 0
	}
	zs, err := s.c.ZRangeByScoreWithScores(ctx, k, &goredis.ZRangeBy{
		Min:   formatScore(min),
		Max:   formatScore(max),
		Count: int64(limit), // 0: no LIMIT clause
	}).Result()
	if err != nil {
		return nil, fmt.Errorf("redis index range: %w", err)
	}
	out := make([]bot.IndexEntry, len(zs))
	for i, z := range zs {
		m, _ := z.Member.(string)
		out[i] = bot.IndexEntry{Member: m, Score: z.Score}
	}
	return out, nil
}

func formatScore(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return "+inf"
	case math.IsInf(f, -1):
		return "-inf"
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}

// Publish uses PUBLISH, or SPUBLISH on a Cluster: a plain PUBLISH goes to any node and
// reaches the subscriber's node over the cluster bus, so two messages from one publisher
// could arrive out of order; a sharded channel lives on one shard and keeps the order.
func (s *Store) Publish(ctx context.Context, topic string, msg []byte) error {
	var err error
	if s.sharded {
		err = s.c.SPublish(ctx, s.prefix+topic, msg).Err()
	} else {
		err = s.c.Publish(ctx, s.prefix+topic, msg).Err()
	}
	if err != nil {
		return fmt.Errorf("redis publish: %w", err)
	}
	return nil
}

// Subscribe returns once Redis has confirmed the subscription, so a Publish made after it
// returns is delivered. Messages arrive in publish order; if the reader falls more than
// subBuffer messages behind, delivery waits for it (go-redis drops a message after a minute
// of waiting).
func (s *Store) Subscribe(ctx context.Context, topic string) (<-chan []byte, error) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, errors.New("redis subscribe: store closed")
	}
	s.wg.Add(1) // under mu, so Close waits for this subscription
	s.mu.Unlock()
	var ps *goredis.PubSub
	if s.sharded {
		ps = s.c.SSubscribe(ctx, s.prefix+topic)
	} else {
		ps = s.c.Subscribe(ctx, s.prefix+topic)
	}
	reply, err := ps.Receive(ctx)
	if err == nil {
		if _, ok := reply.(*goredis.Subscription); !ok {
			err = fmt.Errorf("unexpected reply %T", reply)
		}
	}
	if err != nil {
		_ = ps.Close()
		s.wg.Done()
		return nil, fmt.Errorf("redis subscribe: %w", err)
	}
	in := ps.Channel(goredis.WithChannelSize(subBuffer))
	out := make(chan []byte, subBuffer)
	go func() {
		defer s.wg.Done()
		defer close(out)
		defer ps.Close()
		for {
			select {
			case <-ctx.Done():
				return
			case <-s.done:
				return
			case m, ok := <-in:
				if !ok {
					return
				}
				select {
				case out <- []byte(m.Payload):
				case <-ctx.Done():
					return
				case <-s.done:
					return
				}
			}
		}
	}()
	return out, nil
}

func (s *Store) Ping(ctx context.Context) error {
	if err := s.c.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("redis ping: %w", err)
	}
	return nil
}

// Close ends the subscriptions, waits for them, and closes the client. Closing twice is a no-op.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.done)
	s.mu.Unlock()
	s.wg.Wait()
	if err := s.c.Close(); err != nil {
		return fmt.Errorf("redis close: %w", err)
	}
	return nil
}
