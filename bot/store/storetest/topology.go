package storetest

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// StartRedisCluster starts a private Redis Cluster of n masters (redis-server from PATH, no
// persistence), waits until it serves every slot, and returns its redis+cluster:// URL. The
// servers stop at cleanup. Without redis-server the test is skipped (fails when CI is set).
// Use NewRedisAt(t, url) for stores on it.
func StartRedisCluster(t testing.TB, n int) string {
	t.Helper()
	if n < 1 {
		t.Fatalf("StartRedisCluster: %d nodes", n)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	root := t.TempDir()
	addrs := make([]string, n)
	clients := make([]*goredis.Client, n)
	for i := range n {
		dir := filepath.Join(root, strconv.Itoa(i))
		if err := os.Mkdir(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		srv := spawnOrSkip(t, dir, "",
			"--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
			"--cluster-node-timeout", "5000")
		addrs[i] = srv.addr
		clients[i] = goredis.NewClient(&goredis.Options{Addr: srv.addr})
		defer clients[i].Close()
	}
	const slots = 16384
	for i, c := range clients {
		lo, hi := i*slots/n, (i+1)*slots/n-1
		if err := c.ClusterAddSlotsRange(ctx, lo, hi).Err(); err != nil {
			t.Fatalf("cluster addslotsrange %d-%d on %s: %v", lo, hi, addrs[i], err)
		}
	}
	for _, addr := range addrs[1:] {
		host, port, _ := net.SplitHostPort(addr)
		if err := clients[0].ClusterMeet(ctx, host, port).Err(); err != nil {
			t.Fatalf("cluster meet %s: %v", addr, err)
		}
	}
	for i, c := range clients {
		for {
			info, err := c.ClusterInfo(ctx).Result()
			if err == nil && strings.Contains(info, "cluster_state:ok") &&
				strings.Contains(info, "cluster_known_nodes:"+strconv.Itoa(n)+"\r\n") {
				break
			}
			if ctx.Err() != nil {
				t.Fatalf("cluster node %s not ready: %v\n%s", addrs[i], err, info)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	return "redis+cluster://" + strings.Join(addrs, ",")
}

// StartRedisSentinel starts a private Redis master protected by a password and one Sentinel
// monitoring it as "mymaster", and returns the redis+sentinel:// URL (database 1). The
// servers stop at cleanup. Without redis-server the test is skipped (fails when CI is set).
func StartRedisSentinel(t testing.TB) string {
	t.Helper()
	const password = "storetest-master-pw"
	root := t.TempDir()
	masterDir, sentinelDir := filepath.Join(root, "master"), filepath.Join(root, "sentinel")
	for _, d := range []string{masterDir, sentinelDir} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	master := spawnOrSkip(t, masterDir, "", "--requirepass", password)
	host, port, _ := net.SplitHostPort(master.addr)
	conf := filepath.Join(sentinelDir, "sentinel.conf") // Sentinel rewrites it: must be writable
	body := fmt.Sprintf("sentinel monitor mymaster %s %s 1\nsentinel auth-pass mymaster %s\n", host, port, password)
	if err := os.WriteFile(conf, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	sentinel := spawnOrSkip(t, sentinelDir, conf, "--sentinel")

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sc := goredis.NewSentinelClient(&goredis.Options{Addr: sentinel.addr})
	defer sc.Close()
	for {
		got, err := sc.GetMasterAddrByName(ctx, "mymaster").Result()
		if err == nil && len(got) == 2 && net.JoinHostPort(got[0], got[1]) == master.addr {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("sentinel does not report the master: %v, %v", got, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return "redis+sentinel://:" + password + "@" + sentinel.addr + "/mymaster/1"
}

// spawnOrSkip starts a redis-server for the test and stops it at cleanup.
func spawnOrSkip(t testing.TB, dir, conf string, extra ...string) *server {
	t.Helper()
	srv, err := spawn(dir, conf, extra...)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s (%v)", NoRedisMessage, err)
		}
		t.Skipf("redis-server not available: %v", err)
	}
	t.Cleanup(srv.stop)
	return srv
}
