// Package storetest holds the contract every [bot.Store] implementation must meet, and the
// helpers other packages' tests use to get a store: [NewRedis] (a real Redis with a private key
// prefix), [NewBolt] (a bolt file in a temporary directory) and [Clock] (a manual clock).
//
// Run is the contract suite. Time-dependent checks (expiry) move the store's clock when the
// store exposes a fake one — a Clock() method returning a clock with Advance, as bolt.Store
// built with a *Clock does — and otherwise use short real TTLs and poll until a deadline, so
// no check asserts how long anything took.
package storetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"math"
	mrand "math/rand/v2"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/sportello/sportello/bot"
)

// ShortTTL is the expiry the suite uses when it has to wait in real time.
const ShortTTL = 50 * time.Millisecond

// wait bounds every real-time wait of the suite (deliveries, expiries).
const wait = 5 * time.Second

// Run runs the contract suite against the stores newStore makes. Every subtest runs in
// parallel with a store of its own; newStore should register the store's cleanup with t.
func Run(t *testing.T, newStore func(t *testing.T) bot.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s bot.Store)
	}{
		{"GetPut", testGetPut},
		{"NotFound", testNotFound},
		{"EmptyValue", testEmptyValue},
		{"EmptyKey", testEmptyKey},
		{"Delete", testDelete},
		{"DeleteAllKinds", testDeleteAllKinds},
		{"TTL", testTTL},
		{"PutWithoutTTLClearsExpiry", testPutClearsTTL},
		{"NegativeTTL", testNegativeTTL},
		{"PutIfAbsent", testPutIfAbsent},
		{"PutIfAbsentExpired", testPutIfAbsentExpired},
		{"PutIfAbsentRace", testPutIfAbsentRace},
		{"DeleteIfEqual", testDeleteIfEqual},
		{"Incr", testIncr},
		{"IncrConcurrent", testIncrConcurrent},
		{"IncrTTL", testIncrTTL},
		{"IncrNotInteger", testIncrNotInteger},
		{"AppendRange", testAppendRange},
		{"AppendMaxLen", testAppendMaxLen},
		{"AppendMany", testAppendMany},
		{"Batch", testBatch},
		{"Claim", testClaim},
		{"AppendTTL", testAppendTTL},
		{"Index", testIndex},
		{"IndexMove", testIndexMove},
		{"IndexNegativeAndInfinite", testIndexNegative},
		{"IndexTies", testIndexTies},
		{"IndexRandomOrder", testIndexRandom},
		{"PublishSubscribe", testPubSub},
		{"SubscribeEndsWithContext", testSubscribeEnds},
		{"SubscribeEndsWithClose", testSubscribeClose},
		{"BinarySafe", testBinary},
		{"BigValue", testBig},
		{"Ping", testPing},
		{"CanceledContext", testCanceled},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, newStore(t))
		})
	}
}

// ---- time ----

// timeline moves time for a store: its fake clock if it has one, else the real clock.
type timeline struct {
	advance func(time.Duration) // nil: real time
}

func timeOf(s bot.Store) timeline {
	c, ok := s.(interface{ Clock() bot.Clock })
	if !ok {
		return timeline{}
	}
	switch clk := c.Clock().(type) {
	case interface{ Advance(time.Duration) time.Time }:
		return timeline{advance: func(d time.Duration) { clk.Advance(d) }}
	case interface{ Advance(time.Duration) }:
		return timeline{advance: clk.Advance}
	}
	return timeline{}
}

func (tl timeline) fake() bool { return tl.advance != nil }

// ttl is the expiry to use in a test: any value with a fake clock, ShortTTL in real time.
func (tl timeline) ttl() time.Duration {
	if tl.fake() {
		return 10 * time.Second
	}
	return ShortTTL
}

// step lets d pass.
func (tl timeline) step(d time.Duration) {
	if tl.fake() {
		tl.advance(d)
		return
	}
	time.Sleep(d)
}

// expire lets ttl pass and waits until cond holds: with a fake clock it must hold at once
// after ttl; in real time it is polled until the deadline.
func (tl timeline) expire(t *testing.T, ttl time.Duration, what string, cond func() bool) {
	t.Helper()
	tl.step(ttl)
	if tl.fake() {
		tl.advance(time.Nanosecond)
		if !cond() {
			t.Fatalf("%s: not the case once the ttl passed", what)
		}
		return
	}
	deadline := time.Now().Add(wait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: still not the case after %v", what, wait)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// ---- helpers ----

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func mustPut(t *testing.T, s bot.Store, key string, val []byte, ttl time.Duration) {
	t.Helper()
	if err := s.Put(ctxFor(t), key, val, ttl); err != nil {
		t.Fatalf("Put(%q): %v", key, err)
	}
}

func mustGet(t *testing.T, s bot.Store, key string, want []byte) {
	t.Helper()
	got, err := s.Get(ctxFor(t), key)
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("Get(%q) = %s, want %s", key, show(got), show(want))
	}
}

func mustMiss(t *testing.T, s bot.Store, key string) {
	t.Helper()
	got, err := s.Get(ctxFor(t), key)
	if !errors.Is(err, bot.ErrNotFound) {
		t.Fatalf("Get(%q) = %s, %v; want ErrNotFound", key, show(got), err)
	}
}

func missing(s bot.Store, key string) bool {
	_, err := s.Get(context.Background(), key)
	return errors.Is(err, bot.ErrNotFound)
}

func show(b []byte) string {
	if len(b) > 64 {
		return fmt.Sprintf("%q… (%d bytes)", b[:64], len(b))
	}
	return strconv.Quote(string(b))
}

func mustRange(t *testing.T, s bot.Store, key string, start int64, want ...string) {
	t.Helper()
	got, err := s.Range(ctxFor(t), key, start)
	if err != nil {
		t.Fatalf("Range(%q, %d): %v", key, start, err)
	}
	gs := make([]string, len(got))
	for i, g := range got {
		gs[i] = string(g)
	}
	if len(want) == 0 {
		want = []string{}
	}
	if !slices.Equal(gs, want) {
		t.Fatalf("Range(%q, %d) = %q, want %q", key, start, gs, want)
	}
}

func mustAppend(t *testing.T, s bot.Store, key, val string, maxLen int, ttl time.Duration) int64 {
	t.Helper()
	n, err := s.Append(ctxFor(t), key, maxLen, ttl, []byte(val))
	if err != nil {
		t.Fatalf("Append(%q, %q): %v", key, val, err)
	}
	return n
}

func mustIndexAdd(t *testing.T, s bot.Store, key, member string, score float64) {
	t.Helper()
	if err := s.IndexAdd(ctxFor(t), key, member, score); err != nil {
		t.Fatalf("IndexAdd(%q, %q, %v): %v", key, member, score, err)
	}
}

func mustIndexRange(t *testing.T, s bot.Store, key string, min, max float64, limit int, want ...bot.IndexEntry) {
	t.Helper()
	got, err := s.IndexRange(ctxFor(t), key, min, max, limit)
	if err != nil {
		t.Fatalf("IndexRange(%q, %v, %v, %d): %v", key, min, max, limit, err)
	}
	if len(got) == 0 && len(want) == 0 {
		return
	}
	if !slices.Equal(got, want) {
		t.Fatalf("IndexRange(%q, %v, %v, %d) =\n  %v\nwant\n  %v", key, min, max, limit, got, want)
	}
}

func e(member string, score float64) bot.IndexEntry {
	return bot.IndexEntry{Member: member, Score: score}
}

func recv(t *testing.T, ch <-chan []byte) []byte {
	t.Helper()
	select {
	case m, ok := <-ch:
		if !ok {
			t.Fatal("subscription closed, want a message")
		}
		return m
	case <-time.After(wait):
		t.Fatalf("no message within %v", wait)
	}
	return nil
}

// closedSoon waits until ch is closed, discarding messages.
func closedSoon(t *testing.T, ch <-chan []byte) {
	t.Helper()
	timeout := time.After(wait)
	for {
		select {
		case _, ok := <-ch:
			if !ok {
				return
			}
		case <-timeout:
			t.Fatalf("subscription not closed within %v", wait)
		}
	}
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

// ---- values ----

func testGetPut(t *testing.T, s bot.Store) {
	mustPut(t, s, "a", []byte("one"), 0)
	mustGet(t, s, "a", []byte("one"))
	mustPut(t, s, "a", []byte("two"), 0)
	mustGet(t, s, "a", []byte("two"))
	mustPut(t, s, "user:telegram:42", []byte(`{"lang":"bn"}`), time.Hour)
	mustGet(t, s, "user:telegram:42", []byte(`{"lang":"bn"}`))
	// The store does not keep the caller's slice.
	buf := []byte("orig")
	mustPut(t, s, "b", buf, 0)
	copy(buf, "XXXX")
	mustGet(t, s, "b", []byte("orig"))
}

func testNotFound(t *testing.T, s bot.Store) {
	mustMiss(t, s, "nothing")
	mustPut(t, s, "k", []byte("v"), 0)
	if err := s.Delete(ctxFor(t), "k"); err != nil {
		t.Fatal(err)
	}
	mustMiss(t, s, "k")
}

func testEmptyValue(t *testing.T, s bot.Store) {
	mustPut(t, s, "empty", []byte{}, 0)
	mustGet(t, s, "empty", []byte{})
	mustPut(t, s, "nil", nil, 0)
	mustGet(t, s, "nil", []byte{})
}

func testEmptyKey(t *testing.T, s bot.Store) {
	ctx := ctxFor(t)
	if err := s.Put(ctx, "", []byte("v"), 0); err == nil {
		t.Error(`Put("") succeeded, want an error`)
	}
	if _, err := s.Get(ctx, ""); err == nil || errors.Is(err, bot.ErrNotFound) {
		t.Errorf(`Get("") = %v, want an error other than ErrNotFound`, err)
	}
}

func testDelete(t *testing.T, s bot.Store) {
	ctx := ctxFor(t)
	for _, k := range []string{"a", "b", "c"} {
		mustPut(t, s, k, []byte(k), 0)
	}
	if err := s.Delete(ctx, "a", "missing", "c"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	mustMiss(t, s, "a")
	mustMiss(t, s, "c")
	mustGet(t, s, "b", []byte("b"))
	if err := s.Delete(ctx); err != nil {
		t.Fatalf("Delete(): %v", err)
	}
	if err := s.Delete(ctx, "missing"); err != nil {
		t.Fatalf("Delete(missing): %v", err)
	}
}

func testDeleteAllKinds(t *testing.T, s bot.Store) {
	ctx := ctxFor(t)
	mustAppend(t, s, "list", "x", 0, 0)
	mustIndexAdd(t, s, "index", "m", 1)
	if _, err := s.Incr(ctx, "counter", 0); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, "list", "index", "counter"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	mustRange(t, s, "list", 0)
	mustIndexRange(t, s, "index", math.Inf(-1), math.Inf(1), 0)
	mustMiss(t, s, "counter")
	if n := mustAppend(t, s, "list", "y", 0, 0); n != 1 {
		t.Fatalf("Append after Delete = %d, want 1", n)
	}
}

func testTTL(t *testing.T, s bot.Store) {
	tl := timeOf(s)
	ttl := tl.ttl()
	mustPut(t, s, "long", []byte("v"), time.Hour)
	mustPut(t, s, "forever", []byte("v"), 0)
	mustPut(t, s, "short", []byte("v"), ttl)
	if tl.fake() {
		tl.step(ttl - time.Millisecond)
		mustGet(t, s, "short", []byte("v"))
	}
	tl.expire(t, ttl, "short key expired", func() bool { return missing(s, "short") })
	mustGet(t, s, "long", []byte("v"))
	mustGet(t, s, "forever", []byte("v"))
	if tl.fake() {
		tl.step(24 * time.Hour)
		mustMiss(t, s, "long")
		mustGet(t, s, "forever", []byte("v"))
	}
}

func testPutClearsTTL(t *testing.T, s bot.Store) {
	tl := timeOf(s)
	ttl := tl.ttl()
	mustPut(t, s, "k", []byte("1"), ttl)
	mustPut(t, s, "k", []byte("2"), 0)
	tl.step(3 * ttl)
	mustGet(t, s, "k", []byte("2"))
	// And a new ttl replaces the old one.
	mustPut(t, s, "j", []byte("1"), time.Hour)
	mustPut(t, s, "j", []byte("2"), ttl)
	tl.expire(t, ttl, "re-put key expired", func() bool { return missing(s, "j") })
}

func testNegativeTTL(t *testing.T, s bot.Store) {
	ctx := ctxFor(t)
	if err := s.Put(ctx, "k", []byte("v"), -time.Second); err == nil {
		t.Error("Put with a negative ttl succeeded, want an error")
	}
	if _, err := s.PutIfAbsent(ctx, "k", []byte("v"), -time.Second); err == nil {
		t.Error("PutIfAbsent with a negative ttl succeeded, want an error")
	}
}

func testPutIfAbsent(t *testing.T, s bot.Store) {
	ctx := ctxFor(t)
	ok, err := s.PutIfAbsent(ctx, "lock", []byte("owner-1"), time.Hour)
	if err != nil || !ok {
		t.Fatalf("first PutIfAbsent = %v, %v; want true", ok, err)
	}
	ok, err = s.PutIfAbsent(ctx, "lock", []byte("owner-2"), time.Hour)
	if err != nil || ok {
		t.Fatalf("second PutIfAbsent = %v, %v; want false", ok, err)
	}
	mustGet(t, s, "lock", []byte("owner-1"))
	if err := s.Delete(ctx, "lock"); err != nil {
		t.Fatal(err)
	}
	ok, err = s.PutIfAbsent(ctx, "lock", []byte("owner-3"), 0)
	if err != nil || !ok {
		t.Fatalf("PutIfAbsent after Delete = %v, %v; want true", ok, err)
	}
	mustGet(t, s, "lock", []byte("owner-3"))
}

func testPutIfAbsentExpired(t *testing.T, s bot.Store) {
	tl := timeOf(s)
	ttl := tl.ttl()
	ctx := ctxFor(t)
	if ok, err := s.PutIfAbsent(ctx, "dedupe", []byte("1"), ttl); err != nil || !ok {
		t.Fatalf("PutIfAbsent = %v, %v; want true", ok, err)
	}
	tl.expire(t, ttl, "mark expired", func() bool { return missing(s, "dedupe") })
	if ok, err := s.PutIfAbsent(ctx, "dedupe", []byte("2"), 0); err != nil || !ok {
		t.Fatalf("PutIfAbsent after expiry = %v, %v; want true", ok, err)
	}
	mustGet(t, s, "dedupe", []byte("2"))
}

func testPutIfAbsentRace(t *testing.T, s bot.Store) {
	ctx := ctxFor(t)
	const n = 50
	var (
		wg     sync.WaitGroup
		start  = make(chan struct{})
		mu     sync.Mutex
		wins   []int
		errs   []error
		values = make([][]byte, n)
	)
	for i := range n {
		values[i] = []byte("owner-" + strconv.Itoa(i))
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			ok, err := s.PutIfAbsent(ctx, "race", values[i], time.Hour)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
			}
			if ok {
				wins = append(wins, i)
			}
		}()
	}
	close(start)
	wg.Wait()
	if len(errs) > 0 {
		t.Fatalf("PutIfAbsent errors: %v", errs)
	}
	if len(wins) != 1 {
		t.Fatalf("%d goroutines won PutIfAbsent (%v), want exactly 1", len(wins), wins)
	}
	mustGet(t, s, "race", values[wins[0]])
}

func testDeleteIfEqual(t *testing.T, s bot.Store) {
	ctx := ctxFor(t)
	ok, err := s.DeleteIfEqual(ctx, "missing", []byte("x"))
	if err != nil || ok {
		t.Fatalf("DeleteIfEqual(missing) = %v, %v; want false", ok, err)
	}
	mustPut(t, s, "lock", []byte("token-a"), time.Hour)
	for _, wrong := range [][]byte{[]byte("token-b"), []byte("token-"), []byte("token-a\x00"), {}} {
		ok, err = s.DeleteIfEqual(ctx, "lock", wrong)
		if err != nil || ok {
			t.Fatalf("DeleteIfEqual(%s) = %v, %v; want false", show(wrong), ok, err)
		}
	}
	mustGet(t, s, "lock", []byte("token-a"))
	ok, err = s.DeleteIfEqual(ctx, "lock", []byte("token-a"))
	if err != nil || !ok {
		t.Fatalf("DeleteIfEqual(right token) = %v, %v; want true", ok, err)
	}
	mustMiss(t, s, "lock")
	ok, err = s.DeleteIfEqual(ctx, "lock", []byte("token-a"))
	if err != nil || ok {
		t.Fatalf("second DeleteIfEqual = %v, %v; want false", ok, err)
	}
}

// ---- counters ----

func testIncr(t *testing.T, s bot.Store) {
	ctx := ctxFor(t)
	for want := int64(1); want <= 3; want++ {
		n, err := s.Incr(ctx, "c", 0)
		if err != nil || n != want {
			t.Fatalf("Incr = %d, %v; want %d", n, err, want)
		}
	}
	mustGet(t, s, "c", []byte("3"))
	// A counter may be seeded with Put.
	mustPut(t, s, "seeded", []byte("41"), 0)
	if n, err := s.Incr(ctx, "seeded", 0); err != nil || n != 42 {
		t.Fatalf("Incr(seeded) = %d, %v; want 42", n, err)
	}
	tl := timeOf(s)
	tl.step(3 * tl.ttl())
	mustGet(t, s, "c", []byte("3")) // no ttl: never expires
}

func testIncrConcurrent(t *testing.T, s bot.Store) {
	ctx := ctxFor(t)
	const n = 50
	var wg sync.WaitGroup
	seen := make([]int64, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v, err := s.Incr(ctx, "c", time.Hour)
			if err != nil {
				t.Errorf("Incr: %v", err)
			}
			seen[i] = v
		}()
	}
	wg.Wait()
	slices.Sort(seen)
	for i, v := range seen {
		if v != int64(i+1) {
			t.Fatalf("Incr results %v, want 1..%d each once", seen, n)
		}
	}
}

func testIncrTTL(t *testing.T, s bot.Store) {
	ctx := ctxFor(t)
	tl := timeOf(s)
	ttl := tl.ttl()
	if n, err := s.Incr(ctx, "window", ttl); err != nil || n != 1 {
		t.Fatalf("Incr = %d, %v; want 1", n, err)
	}
	// Keep counting in steps of ttl/5: were each Incr to extend the expiry, the counter
	// would never start again from 1.
	deadline := time.Now().Add(wait)
	reset := false
	for i := 0; i < 50 && time.Now().Before(deadline); i++ {
		tl.step(ttl / 5)
		n, err := s.Incr(ctx, "window", ttl)
		if err != nil {
			t.Fatal(err)
		}
		if n == 1 {
			reset = true
			break
		}
		if tl.fake() && i >= 5 {
			t.Fatalf("counter = %d after %d×ttl/5: a later Incr extended its expiry", n, i+1)
		}
	}
	if !reset {
		t.Fatal("counter never expired: Incr keeps extending its ttl")
	}
	// The restarted counter expires too.
	tl.expire(t, ttl, "restarted counter expired", func() bool { return missing(s, "window") })
}

func testIncrNotInteger(t *testing.T, s bot.Store) {
	mustPut(t, s, "text", []byte("hello"), 0)
	if n, err := s.Incr(ctxFor(t), "text", 0); err == nil {
		t.Fatalf("Incr on a non-integer = %d, nil; want an error", n)
	}
	mustGet(t, s, "text", []byte("hello"))
}

// ---- lists ----

func testAppendRange(t *testing.T, s bot.Store) {
	mustRange(t, s, "missing", 0)
	for i, v := range []string{"a", "b", "c", "d", "e"} {
		if n := mustAppend(t, s, "l", v, 0, 0); n != int64(i+1) {
			t.Fatalf("Append(%q) = %d, want %d", v, n, i+1)
		}
	}
	mustRange(t, s, "l", 0, "a", "b", "c", "d", "e")
	mustRange(t, s, "l", 2, "c", "d", "e")
	mustRange(t, s, "l", 4, "e")
	mustRange(t, s, "l", 5)
	mustRange(t, s, "l", 100)
	mustRange(t, s, "l", -2, "d", "e")
	mustRange(t, s, "l", -100, "a", "b", "c", "d", "e")
	// Lists are independent of values with other keys.
	mustRange(t, s, "l2", 0)
	mustMiss(t, s, "l2")
}

func testAppendMaxLen(t *testing.T, s bot.Store) {
	want := []int64{1, 2, 3, 3, 3, 3}
	for i, v := range []string{"1", "2", "3", "4", "5", "6"} {
		if n := mustAppend(t, s, "l", v, 3, 0); n != want[i] {
			t.Fatalf("Append(%q, maxLen 3) = %d, want %d", v, n, want[i])
		}
	}
	mustRange(t, s, "l", 0, "4", "5", "6")
	mustRange(t, s, "l", 1, "5", "6")
	// A larger limit later keeps everything that is left; maxLen 1 keeps the newest.
	mustAppend(t, s, "l", "7", 10, 0)
	mustRange(t, s, "l", 0, "4", "5", "6", "7")
	if n := mustAppend(t, s, "l", "8", 1, 0); n != 1 {
		t.Fatalf("Append(maxLen 1) = %d, want 1", n)
	}
	mustRange(t, s, "l", 0, "8")
}

// Several values go in at once, in order, and the limit applies to all of them together.
func testAppendMany(t *testing.T, s bot.Store) {
	ctx := ctxFor(t)
	if n, err := s.Append(ctx, "l", 0, 0, []byte("a"), []byte("b"), []byte("c")); err != nil || n != 3 {
		t.Fatalf("Append(a, b, c) = %d, %v; want 3", n, err)
	}
	if n, err := s.Append(ctx, "l", 4, 0, []byte("d"), []byte("e"), []byte("f")); err != nil || n != 4 {
		t.Fatalf("Append(d, e, f; maxLen 4) = %d, %v; want 4", n, err)
	}
	mustRange(t, s, "l", 0, "c", "d", "e", "f")
	if _, err := s.Append(ctx, "l", 0, 0); err == nil {
		t.Fatal("Append with no values succeeded")
	}
	mustRange(t, s, "l", 0, "c", "d", "e", "f")
}

// Claim takes a free key and reads another in the same step; a taken key reads nothing.
func testClaim(t *testing.T, s bot.Store) {
	ctx := ctxFor(t)
	mustPut(t, s, "state", []byte("S"), 0)
	ok, got, err := s.Claim(ctx, "lock", []byte("me"), 0, "state")
	if err != nil || !ok || string(got) != "S" {
		t.Fatalf("Claim(free) = %v, %q, %v; want true, S", ok, got, err)
	}
	mustGet(t, s, "lock", []byte("me"))
	ok, got, err = s.Claim(ctx, "lock", []byte("you"), 0, "state")
	if err != nil || ok || got != nil {
		t.Fatalf("Claim(taken) = %v, %q, %v; want false, nil", ok, got, err)
	}
	mustGet(t, s, "lock", []byte("me"))
	ok, got, err = s.Claim(ctx, "lock2", []byte("me"), 0, "nothing-here")
	if err != nil || !ok || got != nil {
		t.Fatalf("Claim(missing read) = %v, %q, %v; want true, nil", ok, got, err)
	}
	if _, _, err := s.Claim(ctx, "lock3", []byte("me"), 0, ""); err == nil {
		t.Fatal("Claim with an empty read key succeeded")
	}
}

// A batch does its writes in order: a put, an append, and a delete only if the value is
// still the one given.
func testBatch(t *testing.T, s bot.Store) {
	ctx := ctxFor(t)
	mustPut(t, s, "lock", []byte("mine"), 0)
	mustPut(t, s, "other-lock", []byte("theirs"), 0)
	err := s.Batch(ctx,
		bot.PutOp("session", []byte("v1"), 0),
		bot.AppendOp("log", 2, 0, []byte("a"), []byte("b"), []byte("c")),
		bot.DeleteIfEqualOp("lock", []byte("mine")),
		bot.DeleteIfEqualOp("other-lock", []byte("mine")),
		bot.PutOp("session", []byte("v2"), 0),
		bot.IndexAddOp("queue", "b", 2),
		bot.IndexAddOp("queue", "a", 1),
		bot.IndexAddOp("queue", "x", 3),
		bot.IndexRemoveOp("queue", "x"),
		bot.IndexRemoveOp("queue", "never-there"),
	)
	if err != nil {
		t.Fatalf("Batch: %v", err)
	}
	mustGet(t, s, "session", []byte("v2"))
	mustRange(t, s, "log", 0, "b", "c")
	mustMiss(t, s, "lock")
	mustGet(t, s, "other-lock", []byte("theirs"))
	if got, err := s.IndexRange(ctx, "queue", math.Inf(-1), math.Inf(1), 0); err != nil || len(got) != 2 || got[0].Member != "a" || got[1].Member != "b" {
		t.Fatalf("index after Batch: %v %v", got, err)
	}
	if err := s.Batch(ctx); err != nil {
		t.Fatalf("empty Batch: %v", err)
	}
	if err := s.Batch(ctx, bot.PutOp("", []byte("x"), 0)); err == nil {
		t.Fatal("Batch with an empty key succeeded")
	}
	if err := s.Batch(ctx, bot.AppendOp("log", 0, 0)); err == nil {
		t.Fatal("Batch appending nothing succeeded")
	}
	if err := s.Batch(ctx, bot.IndexAddOp("queue", "c", math.NaN())); err == nil {
		t.Fatal("Batch with a NaN score succeeded")
	}
}

func testAppendTTL(t *testing.T, s bot.Store) {
	tl := timeOf(s)
	ttl := tl.ttl()
	listGone := func(key string) func() bool {
		return func() bool {
			got, err := s.Range(context.Background(), key, 0)
			return err == nil && len(got) == 0
		}
	}
	mustAppend(t, s, "l", "a", 0, ttl)
	if n := mustAppend(t, s, "l", "b", 0, 0); n != 2 { // a zero ttl keeps the expiry
		if tl.fake() {
			t.Fatalf("second Append = %d, want 2", n)
		}
		t.Skip("too slow for a real-time ttl check: the list expired between two Appends")
	}
	tl.expire(t, ttl, "list expired", listGone("l"))
	if n := mustAppend(t, s, "l", "c", 0, 0); n != 1 {
		t.Fatalf("Append after expiry = %d, want 1 (a new list)", n)
	}
	mustRange(t, s, "l", 0, "c")
	tl.step(3 * ttl)
	mustRange(t, s, "l", 0, "c") // no ttl now

	// A non-zero ttl resets the expiry, also to a shorter one.
	mustAppend(t, s, "m", "a", 0, time.Hour)
	mustAppend(t, s, "m", "b", 0, ttl)
	tl.expire(t, ttl, "list with reset ttl expired", listGone("m"))
}

// ---- indexes ----

func testIndex(t *testing.T, s bot.Store) {
	ctx := ctxFor(t)
	all := func(want ...bot.IndexEntry) {
		t.Helper()
		mustIndexRange(t, s, "idx", math.Inf(-1), math.Inf(1), 0, want...)
	}
	all()
	mustIndexAdd(t, s, "idx", "b", 2)
	mustIndexAdd(t, s, "idx", "a", 1)
	mustIndexAdd(t, s, "idx", "d", 4)
	mustIndexAdd(t, s, "idx", "c", 3)
	all(e("a", 1), e("b", 2), e("c", 3), e("d", 4))
	mustIndexRange(t, s, "idx", 2, 3, 0, e("b", 2), e("c", 3)) // bounds are inclusive
	mustIndexRange(t, s, "idx", 1.5, 3.5, 0, e("b", 2), e("c", 3))
	mustIndexRange(t, s, "idx", 0, 10, 2, e("a", 1), e("b", 2))
	mustIndexRange(t, s, "idx", 0, 10, 1, e("a", 1))
	mustIndexRange(t, s, "idx", 0, 10, 100, e("a", 1), e("b", 2), e("c", 3), e("d", 4))
	mustIndexRange(t, s, "idx", 3, 3, 0, e("c", 3))
	mustIndexRange(t, s, "idx", 5, 10, 0)
	mustIndexRange(t, s, "idx", 3, 2, 0) // min > max
	mustIndexRange(t, s, "other", 0, 10, 0)

	ok, err := s.IndexRemove(ctx, "idx", "b")
	if err != nil || !ok {
		t.Fatalf("IndexRemove(b) = %v, %v; want true", ok, err)
	}
	ok, err = s.IndexRemove(ctx, "idx", "b")
	if err != nil || ok {
		t.Fatalf("second IndexRemove(b) = %v, %v; want false", ok, err)
	}
	ok, err = s.IndexRemove(ctx, "nothing", "b")
	if err != nil || ok {
		t.Fatalf("IndexRemove on a missing index = %v, %v; want false", ok, err)
	}
	all(e("a", 1), e("c", 3), e("d", 4))
	for _, m := range []string{"a", "c", "d"} {
		if _, err := s.IndexRemove(ctx, "idx", m); err != nil {
			t.Fatal(err)
		}
	}
	all()
	mustIndexAdd(t, s, "idx", "z", 9)
	all(e("z", 9))
}

func testIndexMove(t *testing.T, s bot.Store) {
	mustIndexAdd(t, s, "q", "ticket-1", 100)
	mustIndexAdd(t, s, "q", "ticket-2", 200)
	mustIndexAdd(t, s, "q", "ticket-1", 300) // re-adding moves it
	mustIndexRange(t, s, "q", 0, 1000, 0, e("ticket-2", 200), e("ticket-1", 300))
	mustIndexRange(t, s, "q", 0, 250, 0, e("ticket-2", 200))
	mustIndexAdd(t, s, "q", "ticket-1", 300) // same score: no change
	mustIndexAdd(t, s, "q", "ticket-2", -5)
	mustIndexRange(t, s, "q", math.Inf(-1), math.Inf(1), 0, e("ticket-2", -5), e("ticket-1", 300))
}

func testIndexNegative(t *testing.T, s bot.Store) {
	in := []bot.IndexEntry{
		e("big", 1e12), e("neg-big", -1e12), e("neg-half", -0.5), e("zero", 0),
		e("tiny", 1e-300), e("neg-tiny", -1e-300), e("one", 1), e("neg-one", -1),
		e("max", math.MaxFloat64), e("lowest", -math.MaxFloat64),
		e("inf", math.Inf(1)), e("neg-inf", math.Inf(-1)),
	}
	for _, x := range in {
		mustIndexAdd(t, s, "idx", x.Member, x.Score)
	}
	want := []bot.IndexEntry{
		e("neg-inf", math.Inf(-1)), e("lowest", -math.MaxFloat64), e("neg-big", -1e12), e("neg-one", -1),
		e("neg-half", -0.5), e("neg-tiny", -1e-300), e("zero", 0), e("tiny", 1e-300), e("one", 1),
		e("big", 1e12), e("max", math.MaxFloat64), e("inf", math.Inf(1)),
	}
	mustIndexRange(t, s, "idx", math.Inf(-1), math.Inf(1), 0, want...)
	mustIndexRange(t, s, "idx", -1, -1e-300, 0, want[3:6]...)
	mustIndexRange(t, s, "idx", -0.75, 0, 0, e("neg-half", -0.5), e("neg-tiny", -1e-300), e("zero", 0))
	mustIndexRange(t, s, "idx", -1e13, -0.6, 2, e("neg-big", -1e12), e("neg-one", -1))
	// −0 is 0.
	mustIndexAdd(t, s, "z", "negzero", math.Copysign(0, -1))
	got, err := s.IndexRange(ctxFor(t), "z", 0, 0, 0)
	if err != nil || len(got) != 1 || got[0].Member != "negzero" || got[0].Score != 0 {
		t.Fatalf("IndexRange(0, 0) after adding −0 = %v, %v", got, err)
	}
	if err := s.IndexAdd(ctxFor(t), "z", "nan", math.NaN()); err == nil {
		t.Error("IndexAdd with a NaN score succeeded, want an error")
	}
}

func testIndexTies(t *testing.T, s bot.Store) {
	// Equal scores come in byte order of the member.
	for _, m := range []string{"delta", "alpha", "charlie", "bravo"} {
		mustIndexAdd(t, s, "idx", m, 7)
	}
	mustIndexAdd(t, s, "idx", "first", 6)
	mustIndexRange(t, s, "idx", 0, 10, 0, e("first", 6), e("alpha", 7), e("bravo", 7), e("charlie", 7), e("delta", 7))
	mustIndexRange(t, s, "idx", 7, 7, 2, e("alpha", 7), e("bravo", 7))
}

func testIndexRandom(t *testing.T, s bot.Store) {
	rng := mrand.New(mrand.NewPCG(1, 2))
	want := make([]bot.IndexEntry, 0, 300)
	for i := range 300 {
		score := (rng.Float64() - 0.5) * math.Pow(10, float64(rng.IntN(12)-3))
		if i%10 == 0 {
			score = math.Round(score) // some ties
		}
		m := fmt.Sprintf("m%03d", i)
		mustIndexAdd(t, s, "idx", m, score)
		want = append(want, e(m, score))
	}
	slices.SortFunc(want, func(a, b bot.IndexEntry) int {
		if a.Score != b.Score {
			if a.Score < b.Score {
				return -1
			}
			return 1
		}
		return bytes.Compare([]byte(a.Member), []byte(b.Member))
	})
	mustIndexRange(t, s, "idx", math.Inf(-1), math.Inf(1), 0, want...)
	mustIndexRange(t, s, "idx", math.Inf(-1), math.Inf(1), 17, want[:17]...)
	var mid []bot.IndexEntry
	for _, x := range want {
		if x.Score >= -1 && x.Score <= 1 {
			mid = append(mid, x)
		}
	}
	mustIndexRange(t, s, "idx", -1, 1, 0, mid...)
}

// ---- publish / subscribe ----

func testPubSub(t *testing.T, s bot.Store) {
	ctx := ctxFor(t)
	if err := s.Publish(ctx, "nobody", []byte("x")); err != nil {
		t.Fatalf("Publish without subscribers: %v", err)
	}
	sub1, err := s.Subscribe(ctx, "handoff")
	if err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	sub2, err := s.Subscribe(ctx, "handoff")
	if err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	other, err := s.Subscribe(ctx, "other")
	if err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	msgs := []string{"one", "two", "three"}
	for _, m := range msgs {
		buf := []byte(m)
		if err := s.Publish(ctx, "handoff", buf); err != nil {
			t.Fatalf("Publish: %v", err)
		}
		copy(buf, "XXX") // the store must not keep the caller's slice
	}
	for _, sub := range []<-chan []byte{sub1, sub2} {
		for _, want := range msgs {
			if got := recv(t, sub); string(got) != want {
				t.Fatalf("received %s, want %q (in publish order)", show(got), want)
			}
		}
	}
	// The other topic got nothing: publish a marker there and see it arrive first.
	if err := s.Publish(ctx, "other", []byte("marker")); err != nil {
		t.Fatal(err)
	}
	if got := recv(t, other); string(got) != "marker" {
		t.Fatalf("other topic received %s, want only its own marker", show(got))
	}
}

func testSubscribeEnds(t *testing.T, s bot.Store) {
	ctx, cancel := context.WithCancel(ctxFor(t))
	sub, err := s.Subscribe(ctx, "t")
	if err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	if err := s.Publish(ctxFor(t), "t", []byte("before")); err != nil {
		t.Fatal(err)
	}
	if got := recv(t, sub); string(got) != "before" {
		t.Fatalf("received %s", show(got))
	}
	cancel()
	closedSoon(t, sub)
	// Publishing after the subscriber left still works.
	if err := s.Publish(ctxFor(t), "t", []byte("after")); err != nil {
		t.Fatalf("Publish after unsubscribe: %v", err)
	}
	// A subscription may start again on the same topic.
	sub, err = s.Subscribe(ctxFor(t), "t")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Publish(ctxFor(t), "t", []byte("again")); err != nil {
		t.Fatal(err)
	}
	if got := recv(t, sub); string(got) != "again" {
		t.Fatalf("received %s, want again", show(got))
	}
}

func testSubscribeClose(t *testing.T, s bot.Store) {
	sub, err := s.Subscribe(ctxFor(t), "t")
	if err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	closedSoon(t, sub)
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

// ---- binary data, sizes, health ----

func testBinary(t *testing.T, s bot.Store) {
	ctx := ctxFor(t)
	vals := [][]byte{
		{0xff, 0xfe, 0xfd},           // invalid UTF-8
		{0, 0, 0},                    // NUL bytes
		{'a', 0, 'b', 0x80, 0xc3, 0}, // both, mid-value
		[]byte("\r\n$3\r\nfoo\r\n"),  // protocol-looking bytes
		[]byte("ধন্যবাদ — شكرا"),
	}
	for i, v := range vals {
		key := fmt.Sprintf("bin\x00%d\xff", i) // binary keys too
		mustPut(t, s, key, v, 0)
		mustGet(t, s, key, v)
		if ok, err := s.DeleteIfEqual(ctx, key, v); err != nil || !ok {
			t.Fatalf("DeleteIfEqual(%s) = %v, %v; want true", show(v), ok, err)
		}
		if ok, err := s.PutIfAbsent(ctx, key, v, 0); err != nil || !ok {
			t.Fatalf("PutIfAbsent(%s) = %v, %v", show(v), ok, err)
		}
		mustGet(t, s, key, v)
		mustAppend(t, s, "list", string(v), 0, 0)
		mustIndexAdd(t, s, "idx", string(v), float64(i))
	}
	got, err := s.Range(ctx, "list", 0)
	if err != nil || len(got) != len(vals) {
		t.Fatalf("Range = %d entries, %v; want %d", len(got), err, len(vals))
	}
	for i := range vals {
		if !bytes.Equal(got[i], vals[i]) {
			t.Fatalf("Range[%d] = %s, want %s", i, show(got[i]), show(vals[i]))
		}
	}
	entries, err := s.IndexRange(ctx, "idx", 0, 100, 0)
	if err != nil || len(entries) != len(vals) {
		t.Fatalf("IndexRange = %v, %v", entries, err)
	}
	for i := range vals {
		if entries[i].Member != string(vals[i]) {
			t.Fatalf("IndexRange[%d] = %q, want %q", i, entries[i].Member, vals[i])
		}
	}
	sub, err := s.Subscribe(ctx, "bin\x00topic")
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range vals {
		if err := s.Publish(ctx, "bin\x00topic", v); err != nil {
			t.Fatal(err)
		}
	}
	for _, v := range vals {
		if m := recv(t, sub); !bytes.Equal(m, v) {
			t.Fatalf("received %s, want %s", show(m), show(v))
		}
	}
}

func testBig(t *testing.T, s bot.Store) {
	ctx := ctxFor(t)
	big := randomBytes(1 << 20)
	mustPut(t, s, "big", big, 0)
	mustGet(t, s, "big", big)
	big2 := randomBytes(1 << 20)
	mustPut(t, s, "big", big2, time.Hour)
	mustGet(t, s, "big", big2)
	if _, err := s.Append(ctx, "list", 0, 0, big); err != nil {
		t.Fatal(err)
	}
	got, err := s.Range(ctx, "list", 0)
	if err != nil || len(got) != 1 || !bytes.Equal(got[0], big) {
		t.Fatalf("Range of a 1 MiB entry: %d entries, %v", len(got), err)
	}
	sub, err := s.Subscribe(ctx, "big")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Publish(ctx, "big", big); err != nil {
		t.Fatal(err)
	}
	if m := recv(t, sub); !bytes.Equal(m, big) {
		t.Fatalf("received %d bytes, want the 1 MiB message", len(m))
	}
}

func testPing(t *testing.T, s bot.Store) {
	if err := s.Ping(ctxFor(t)); err != nil {
		t.Fatalf("Ping: %v", err)
	}
}

func testCanceled(t *testing.T, s bot.Store) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.Put(ctx, "k", []byte("v"), 0); err == nil {
		t.Error("Put with a canceled context succeeded")
	}
	if _, err := s.Get(ctx, "k"); err == nil || errors.Is(err, bot.ErrNotFound) {
		t.Errorf("Get with a canceled context = %v, want the context's error", err)
	}
	if _, err := s.Subscribe(ctx, "t"); err == nil {
		t.Error("Subscribe with a canceled context succeeded")
	}
	mustMiss(t, s, "k")
}
