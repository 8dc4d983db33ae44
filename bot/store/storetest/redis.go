package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/sportello/sportello/bot/store/redis"
)

// NoRedisMessage is how a test fails when CI is set and no Redis can be found.
const NoRedisMessage = "redis not available: install it with `apt-get install -y redis-server`"

// NewRedis returns a Redis store for one test, with a unique key prefix ("test:<random>:") so
// that packages and parallel tests can share one server. At cleanup it deletes every key under
// that prefix and closes the store.
//
// It looks for Redis in this order: the REDIS_URL environment variable (any form
// redis.ParseURL accepts; failing to reach it is fatal), a server on 127.0.0.1:6379, and
// finally a private redis-server from PATH started on a free port without persistence and
// stopped when the last test using it is done. With none of them, the test is skipped, or
// fails with NoRedisMessage when the CI environment variable is set.
func NewRedis(t testing.TB) *redis.Store {
	t.Helper()
	url, release, err := findRedis(t)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s (%v)", NoRedisMessage, err)
		}
		t.Skipf("redis not available (%v); install it with `apt-get install -y redis-server`", err)
	}
	t.Cleanup(release)
	return NewRedisAt(t, url)
}

// NewRedisAt returns a store on the Redis at url (any form redis.ParseURL accepts) with a
// unique key prefix; at cleanup it closes the store and deletes every key under the prefix.
func NewRedisAt(t testing.TB, url string) *redis.Store {
	t.Helper()
	prefix := "test:" + randomHex(8) + ":"
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := redis.New(ctx, url, prefix)
	if err != nil {
		t.Fatalf("connect to redis: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.Close(); err != nil {
			t.Errorf("close redis store: %v", err)
		}
		// A client of its own: the test may have closed the store already.
		opts, err := redis.ParseURL(url)
		if err != nil {
			t.Errorf("delete test keys: %v", err)
			return
		}
		c := goredis.NewUniversalClient(opts)
		defer c.Close()
		if err := DeletePrefix(ctx, c, prefix); err != nil {
			t.Errorf("delete test keys %s*: %v", prefix, err)
		}
	})
	return s
}

// DeletePrefix deletes every key starting with prefix (SCAN, then DEL in batches), on every
// master of a Cluster.
func DeletePrefix(ctx context.Context, c goredis.UniversalClient, prefix string) error {
	pattern := globEscape(prefix) + "*"
	del := func(ctx context.Context, c goredis.Cmdable) error {
		iter := c.Scan(ctx, 0, pattern, 500).Iterator()
		var batch []string
		flush := func() error {
			if len(batch) == 0 {
				return nil
			}
			_, err := c.Pipelined(ctx, func(p goredis.Pipeliner) error {
				for _, k := range batch {
					p.Del(ctx, k)
				}
				return nil
			})
			batch = batch[:0]
			return err
		}
		for iter.Next(ctx) {
			batch = append(batch, iter.Val())
			if len(batch) == 500 {
				if err := flush(); err != nil {
					return err
				}
			}
		}
		if err := iter.Err(); err != nil {
			return err
		}
		return flush()
	}
	if cc, ok := c.(*goredis.ClusterClient); ok {
		return cc.ForEachMaster(ctx, func(ctx context.Context, m *goredis.Client) error { return del(ctx, m) })
	}
	return del(ctx, c)
}

func globEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`*?[]\^`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// findRedis returns the URL of a reachable Redis and a release func for the test's cleanup.
func findRedis(t testing.TB) (url string, release func(), err error) {
	if u := os.Getenv("REDIS_URL"); u != "" {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s, err := redis.New(ctx, u, "")
		if err != nil {
			t.Fatalf("REDIS_URL is set but unusable: %v", err)
		}
		_ = s.Close()
		return u, func() {}, nil
	}
	if ping("127.0.0.1:6379") == nil {
		return "redis://127.0.0.1:6379/0", func() {}, nil
	}
	return private.acquire()
}

// ping checks that addr answers PING without a password.
func ping(addr string) error {
	reply, err := pingReply(addr)
	if err != nil {
		return err
	}
	if !strings.HasPrefix(reply, "+PONG") {
		return fmt.Errorf("%s: unexpected reply %q", addr, reply)
	}
	return nil
}

// pingReply sends PING to addr and returns the first line of the reply.
func pingReply(addr string) (string, error) {
	c, err := net.DialTimeout("tcp", addr, 300*time.Millisecond)
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return "", err
	}
	buf := make([]byte, 256)
	n, err := c.Read(buf)
	if err != nil {
		return "", err
	}
	line, _, _ := strings.Cut(string(buf[:n]), "\r\n")
	return line, nil
}

// private is the redis-server this test binary started, shared by its tests and stopped
// when the last of them is cleaned up.
var private privateServer

type privateServer struct {
	mu   sync.Mutex
	refs int
	srv  *server
	url  string
}

func (p *privateServer) acquire() (string, func(), error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.refs == 0 {
		srv, err := spawn("", "")
		if err != nil {
			return "", nil, err
		}
		p.srv, p.url = srv, "redis://"+srv.addr+"/0"
	}
	p.refs++
	var once sync.Once
	return p.url, func() { once.Do(p.release) }, nil
}

func (p *privateServer) release() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.refs--
	if p.refs == 0 {
		p.srv.stop()
		p.srv = nil
	}
}

// server is a redis-server process started by this package.
type server struct {
	addr   string
	proc   *os.Process
	exited chan struct{} // closed once the process has been reaped
	dir    string
	ownDir bool
}

func (s *server) stop() {
	_ = s.proc.Kill()
	<-s.exited
	if s.ownDir {
		_ = os.RemoveAll(s.dir)
	}
}

// spawn starts redis-server from PATH on a free port of 127.0.0.1, without persistence, and
// waits until it answers PING. dir is its working directory ("": a temporary one, removed by
// stop); conf, if set, is a config file name (relative to dir) given before the options, and
// extra are further options (e.g. "--sentinel", "--cluster-enabled", "yes").
func spawn(dir, conf string, extra ...string) (*server, error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, errors.New("no Redis on REDIS_URL or 127.0.0.1:6379, and no redis-server on PATH")
	}
	ownDir := dir == ""
	if ownDir {
		if dir, err = os.MkdirTemp("", "storetest-redis-"); err != nil {
			return nil, err
		}
	}
	var lastErr error
	for attempt := 0; attempt < 5; attempt++ { // a free port may be taken before redis binds it
		port, err := freePort()
		if err != nil {
			lastErr = err
			continue
		}
		addr := "127.0.0.1:" + strconv.Itoa(port)
		var args []string
		if conf != "" {
			args = append(args, conf)
		}
		args = append(args, "--port", strconv.Itoa(port), "--bind", "127.0.0.1",
			"--save", "", "--appendonly", "no", "--dir", dir,
			"--daemonize", "no", "--loglevel", "warning")
		args = append(args, extra...)
		cmd := exec.Command(bin, args...)
		cmd.Dir = dir
		out := &SyncBuffer{}
		cmd.Stdout, cmd.Stderr = out, out
		dieWithParent(cmd)
		if err := cmd.Start(); err != nil {
			lastErr = err
			break
		}
		exited := make(chan struct{})
		go func() { _ = cmd.Wait(); close(exited) }()
		if lastErr = waitReady(addr, exited, out); lastErr == nil {
			return &server{addr: addr, proc: cmd.Process, exited: exited, dir: dir, ownDir: ownDir}, nil
		}
		_ = cmd.Process.Kill()
		<-exited
	}
	if ownDir {
		_ = os.RemoveAll(dir)
	}
	return nil, fmt.Errorf("start redis-server: %w", lastErr)
}

// waitReady polls addr until it answers PING, the process exits, or 5 seconds pass.
func waitReady(addr string, exited <-chan struct{}, out *SyncBuffer) error {
	deadline := time.Now().Add(5 * time.Second)
	for {
		reply, err := pingReply(addr)
		if err == nil && (strings.HasPrefix(reply, "+PONG") || strings.HasPrefix(reply, "-NOAUTH")) {
			return nil // up (a server with a password refuses PING, and that is fine here)
		}
		if err == nil {
			err = fmt.Errorf("unexpected reply %q", reply)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("redis-server on %s not ready: %w", addr, err)
		}
		select {
		case <-exited:
			return fmt.Errorf("redis-server exited: %s", strings.TrimSpace(out.String()))
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// SyncBuffer is a buffer several goroutines may write to: a server's output, a test's logs.
type SyncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (b *SyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *SyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
