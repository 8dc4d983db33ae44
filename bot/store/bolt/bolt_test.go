package bolt_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/sportello/sportello/bot"
	"github.com/sportello/sportello/bot/store/bolt"
	"github.com/sportello/sportello/bot/store/storetest"
)

func TestContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) bot.Store { return storetest.NewBolt(t, storetest.NewClock(storetest.Epoch)) })
}

// The contract also holds on the real clock (the suite then waits in real time).
func TestContractSystemClock(t *testing.T) {
	storetest.Run(t, func(t *testing.T) bot.Store { return storetest.NewBolt(t, bot.SystemClock{}) })
}

func TestRestartKeepsEverything(t *testing.T) {
	ctx := context.Background()
	clock := storetest.NewClock(storetest.Epoch)
	path := filepath.Join(t.TempDir(), "data", "sportello.db") // the directory is created
	s, err := bolt.Open(path, clock)
	if err != nil {
		t.Fatal(err)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(s.Put(ctx, "session", []byte("state"), 0))
	must(s.Put(ctx, "expiring", []byte("soon"), time.Hour))
	if _, err := s.Incr(ctx, "counter", time.Hour); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Incr(ctx, "counter", time.Hour); err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"a", "b", "c", "d"} {
		if _, err := s.Append(ctx, "transcript", 3, 0, []byte(v)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Append(ctx, "outbox", 0, time.Hour, []byte("x")); err != nil {
		t.Fatal(err)
	}
	must(s.IndexAdd(ctx, "queue", "t1", -2.5))
	must(s.IndexAdd(ctx, "queue", "t2", 10))
	must(s.Close())

	s, err = bolt.Open(path, clock)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer s.Close()
	get := func(key, want string) {
		t.Helper()
		got, err := s.Get(ctx, key)
		if err != nil || string(got) != want {
			t.Fatalf("after restart Get(%q) = %q, %v; want %q", key, got, err, want)
		}
	}
	get("session", "state")
	get("expiring", "soon")
	get("counter", "2")
	rng, err := s.Range(ctx, "transcript", 0)
	if err != nil || len(rng) != 3 || string(rng[0]) != "b" || string(rng[2]) != "d" {
		t.Fatalf("after restart Range = %q, %v", rng, err)
	}
	// List sequences continue where they were.
	if n, err := s.Append(ctx, "transcript", 3, 0, []byte("e")); err != nil || n != 3 {
		t.Fatalf("Append after restart = %d, %v", n, err)
	}
	rng, _ = s.Range(ctx, "transcript", 0)
	if want := []string{"c", "d", "e"}; !slices.Equal(strs(rng), want) {
		t.Fatalf("Range = %q, want %q", rng, want)
	}
	idx, err := s.IndexRange(ctx, "queue", math.Inf(-1), math.Inf(1), 0)
	if err != nil || !slices.Equal(idx, []bot.IndexEntry{{Member: "t1", Score: -2.5}, {Member: "t2", Score: 10}}) {
		t.Fatalf("after restart IndexRange = %v, %v", idx, err)
	}
	// Expiries survive too.
	clock.Advance(2 * time.Hour)
	for _, k := range []string{"expiring", "counter"} {
		if _, err := s.Get(ctx, k); !errors.Is(err, bot.ErrNotFound) {
			t.Errorf("Get(%q) after its expiry = %v, want ErrNotFound", k, err)
		}
	}
	if rng, _ := s.Range(ctx, "outbox", 0); len(rng) != 0 {
		t.Errorf("expired list still has %q", rng)
	}
	get("session", "state")
}

func strs(bs [][]byte) []string {
	out := make([]string, len(bs))
	for i, b := range bs {
		out[i] = string(b)
	}
	return out
}

func TestOpenTwiceFails(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.db")
	s, err := bolt.Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s2, err := bolt.Open(path, nil); err == nil {
		s2.Close()
		t.Fatal("a second Open of a file in use succeeded")
	}
}

func TestSweep(t *testing.T) {
	ctx := context.Background()
	clock := storetest.NewClock(storetest.Epoch)
	s := storetest.NewBolt(t, clock)
	defer bolt.SetSweepBatch(7)()
	for i := range 25 { // several sweep batches
		if err := s.Put(ctx, fmt.Sprintf("k%d", i), []byte("v"), time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Append(ctx, "list", 0, time.Minute, []byte("v")); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, "keep", []byte("v"), 0); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, "later", []byte("v"), time.Hour); err != nil {
		t.Fatal(err)
	}
	// Re-put with a later expiry: the old queue entry must not delete it.
	if err := s.Put(ctx, "k0", []byte("renewed"), time.Hour); err != nil {
		t.Fatal(err)
	}
	if n, err := s.Sweep(ctx); err != nil || n != 0 {
		t.Fatalf("Sweep before expiry = %d, %v; want 0", n, err)
	}
	clock.Advance(2 * time.Minute)
	n, err := s.Sweep(ctx)
	if err != nil || n != 25 { // k1..k24 and the list
		t.Fatalf("Sweep = %d, %v; want 25", n, err)
	}
	if n, err := s.Sweep(ctx); err != nil || n != 0 {
		t.Fatalf("second Sweep = %d, %v; want 0", n, err)
	}
	for _, k := range []string{"keep", "later", "k0"} {
		if _, err := s.Get(ctx, k); err != nil {
			t.Errorf("Get(%q) after sweep: %v", k, err)
		}
	}
	clock.Advance(time.Hour)
	if n, err := s.Sweep(ctx); err != nil || n != 2 {
		t.Fatalf("third Sweep = %d, %v; want 2", n, err)
	}
}

func TestSlowSubscriberDoesNotBlockPublish(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := storetest.NewBolt(t, nil)
	slow, err := s.Subscribe(ctx, "t")
	if err != nil {
		t.Fatal(err)
	}
	fast, err := s.Subscribe(ctx, "t")
	if err != nil {
		t.Fatal(err)
	}
	const extra = 10
	got := make(chan int)
	go func() {
		n := 0
		for range fast {
			n++
			if n == bolt.SubscriberBuffer+extra {
				break
			}
		}
		got <- n
	}()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range bolt.SubscriberBuffer + extra {
			if i >= bolt.SubscriberBuffer {
				// Let the fast reader drain so that only the slow one overflows.
				for len(fast) > 0 {
					time.Sleep(time.Millisecond)
				}
			}
			if err := s.Publish(ctx, "t", []byte{byte(i)}); err != nil {
				t.Error(err)
			}
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Publish blocked on a slow subscriber")
	}
	if n := <-got; n != bolt.SubscriberBuffer+extra {
		t.Fatalf("fast subscriber got %d messages", n)
	}
	if d := s.Dropped(); d != extra {
		t.Fatalf("Dropped = %d, want %d (the slow subscriber's overflow)", d, extra)
	}
	// The slow subscriber kept the first SubscriberBuffer messages, in order.
	for i := range bolt.SubscriberBuffer {
		if m := <-slow; !bytes.Equal(m, []byte{byte(i)}) {
			t.Fatalf("slow message %d = %v", i, m)
		}
	}
}

func TestCloseStopsSweeper(t *testing.T) {
	s, err := bolt.Open(filepath.Join(t.TempDir(), "x.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error)
	go func() { done <- s.Close() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not return")
	}
	if err := s.Ping(context.Background()); err == nil {
		t.Fatal("Ping after Close succeeded")
	}
}

func BenchmarkPutGet(b *testing.B) {
	s := storetest.NewBolt(b, nil)
	ctx := context.Background()
	val := []byte(`{"lang":"bn","flow":"permit","step":3}`)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		key := fmt.Sprintf("session:%d", i%1000)
		if err := s.Put(ctx, key, val, time.Hour); err != nil {
			b.Fatal(err)
		}
		if _, err := s.Get(ctx, key); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkGet(b *testing.B) {
	s := storetest.NewBolt(b, nil)
	ctx := context.Background()
	if err := s.Put(ctx, "session", []byte(`{"lang":"bn"}`), time.Hour); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Get(ctx, "session"); err != nil {
			b.Fatal(err)
		}
	}
}
