package redis_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/sportello/sportello/bot"
	"github.com/sportello/sportello/bot/store/storetest"
)

func TestContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) bot.Store { return storetest.NewRedis(t) })
}

func TestPrefixesIsolate(t *testing.T) {
	a, b := storetest.NewRedis(t), storetest.NewRedis(t)
	ctx := context.Background()
	if a.Prefix() == b.Prefix() {
		t.Fatalf("two stores share prefix %q", a.Prefix())
	}
	if err := a.Put(ctx, "k", []byte("a"), 0); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Get(ctx, "k"); !errors.Is(err, bot.ErrNotFound) {
		t.Fatalf("b sees a's key: %v", err)
	}
	// The key is stored under the prefix.
	if v, err := a.Client().Get(ctx, a.Prefix()+"k").Result(); err != nil || v != "a" {
		t.Fatalf("raw GET %sk = %q, %v", a.Prefix(), v, err)
	}
	// Channels are prefixed too.
	sub, err := b.Subscribe(ctx, "t")
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Publish(ctx, "t", []byte("from a")); err != nil {
		t.Fatal(err)
	}
	if err := b.Publish(ctx, "t", []byte("from b")); err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-sub:
		if string(m) != "from b" {
			t.Fatalf("b's subscriber got %q", m)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no message")
	}
}

func TestIncrKeepsExpiry(t *testing.T) {
	s := storetest.NewRedis(t)
	ctx := context.Background()
	if _, err := s.Incr(ctx, "c", time.Hour); err != nil {
		t.Fatal(err)
	}
	first, err := s.Client().PTTL(ctx, s.Prefix()+"c").Result()
	if err != nil || first <= 0 {
		t.Fatalf("PTTL after first Incr = %v, %v", first, err)
	}
	if _, err := s.Incr(ctx, "c", 2*time.Hour); err != nil {
		t.Fatal(err)
	}
	second, err := s.Client().PTTL(ctx, s.Prefix()+"c").Result()
	if err != nil || second > first {
		t.Fatalf("PTTL after second Incr = %v (was %v): the expiry moved", second, first)
	}
}

func BenchmarkPutGet(b *testing.B) {
	s := storetest.NewRedis(b)
	ctx := context.Background()
	val := []byte(`{"lang":"bn","flow":"permit","step":3}`)
	b.ReportAllocs()
	b.ResetTimer()
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

func BenchmarkPutGetParallel(b *testing.B) {
	s := storetest.NewRedis(b)
	ctx := context.Background()
	val := []byte(`{"lang":"bn","flow":"permit","step":3}`)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			key := fmt.Sprintf("session:%d", i%1000)
			i++
			if err := s.Put(ctx, key, val, time.Hour); err != nil {
				b.Error(err)
				return
			}
			if _, err := s.Get(ctx, key); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// The same contract on a private three-master Redis Cluster: keys of one test spread over
// slots, so every operation must stay single-key.
func TestContractCluster(t *testing.T) {
	url := storetest.StartRedisCluster(t, 3)
	storetest.Run(t, func(t *testing.T) bot.Store { return storetest.NewRedisAt(t, url) })
}

// And behind Sentinel, with a password on the master and a database number.
func TestContractSentinel(t *testing.T) {
	url := storetest.StartRedisSentinel(t)
	storetest.Run(t, func(t *testing.T) bot.Store { return storetest.NewRedisAt(t, url) })
}
