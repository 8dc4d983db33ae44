package storetest

import (
	"context"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

func TestClock(t *testing.T) {
	var c Clock
	if !c.Now().Equal(Epoch) {
		t.Fatalf("zero Clock at %v, want %v", c.Now(), Epoch)
	}
	var wg sync.WaitGroup
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 100 {
				c.Advance(time.Second)
				_ = c.Now()
			}
		}()
	}
	wg.Wait()
	if got, want := c.Now(), Epoch.Add(1000*time.Second); !got.Equal(want) {
		t.Fatalf("Now = %v, want %v", got, want)
	}
	c2 := NewClock(time.Unix(0, 0))
	if got := c2.Advance(time.Minute); !got.Equal(time.Unix(60, 0)) {
		t.Fatalf("Advance = %v", got)
	}
}

func TestGlobEscape(t *testing.T) {
	for in, want := range map[string]string{
		"test:abc:": "test:abc:",
		"a*b?c[d]":  `a\*b\?c\[d\]`,
		`back\`:     `back\\`,
	} {
		if got := globEscape(in); got != want {
			t.Errorf("globEscape(%q) = %q, want %q", in, got, want)
		}
	}
}

// The private redis-server fallback starts, serves, and is stopped by the last release.
func TestPrivateServer(t *testing.T) {
	if _, err := exec.LookPath("redis-server"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("no redis-server on PATH; install it with `apt-get install -y redis-server`")
		}
		t.Skip("no redis-server on PATH; install it with `apt-get install -y redis-server`")
	}
	var p privateServer
	url1, release1, err := p.acquire()
	if err != nil {
		t.Fatal(err)
	}
	url2, release2, err := p.acquire()
	if err != nil {
		t.Fatal(err)
	}
	if url1 != url2 {
		t.Fatalf("two servers started: %s, %s", url1, url2)
	}
	opts, err := goredis.ParseURL(url1)
	if err != nil {
		t.Fatal(err)
	}
	addr := opts.Addr
	c := goredis.NewClient(opts)
	defer c.Close()
	ctx := context.Background()
	if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	// No persistence configured.
	if v, err := c.ConfigGet(ctx, "save").Result(); err != nil || v["save"] != "" {
		t.Errorf("save = %q, %v; want none", v["save"], err)
	}
	release1()
	release1() // idempotent
	if err := ping(addr); err != nil {
		t.Fatalf("server stopped while still in use: %v", err)
	}
	release2()
	if err := ping(addr); err == nil {
		t.Fatal("server still running after the last release")
	}
}

func TestDeletePrefix(t *testing.T) {
	s := NewRedis(t)
	ctx := context.Background()
	c := s.Client()
	for _, k := range []string{"a", "b", "c*", "d?"} {
		if err := s.Put(ctx, k, []byte("v"), 0); err != nil {
			t.Fatal(err)
		}
	}
	other := "other:" + randomHex(4) + ":"
	if err := c.Set(ctx, other+"x", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	defer c.Del(ctx, other+"x")
	if err := DeletePrefix(ctx, c, s.Prefix()); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"a", "b", "c*", "d?"} { // one key per EXISTS: Cluster slots
		if n, err := c.Exists(ctx, s.Prefix()+k).Result(); err != nil || n != 0 {
			t.Fatalf("%s%s left behind (%v)", s.Prefix(), k, err)
		}
	}
	if n, _ := c.Exists(ctx, other+"x").Result(); n != 1 {
		t.Fatal("DeletePrefix removed a key of another prefix")
	}
}
