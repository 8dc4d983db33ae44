package redis

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"

	goredis "github.com/redis/go-redis/v9"
)

// ParseURL turns a REDIS_URL into go-redis options for a [goredis.UniversalClient].
// It accepts:
//
//	redis://[[user]:password@]host[:port][/db][?options]      standalone server
//	rediss://[[user]:password@]host[:port][/db][?options]     standalone server over TLS
//	unix://[[user]:password@]/path/to/redis.sock[?db=N&...]   standalone server on a Unix socket
//	redis+sentinel://[[user]:password@]host1[:port],host2[:port]/mastername[/db][?options]
//	rediss+sentinel://...                                     the same over TLS
//	redis+cluster://[[user]:password@]host1[:port],host2[:port][?options]
//	rediss+cluster://...                                      the same over TLS
//
// The default port is 6379, and 26379 for Sentinel addresses. In the Sentinel form the user and
// password authenticate to the master and its replicas; the sentinels' own credentials, if they
// need any, go in the sentinel_username and sentinel_password options. A Cluster has no database
// number. The options are go-redis's URL options for every form (dial_timeout, read_timeout,
// write_timeout, pool_size, max_retries, client_name, protocol, skip_verify, …); an unknown option
// is an error. Nothing is printed about the URL, so a password in it stays out of logs.
func ParseURL(rawURL string) (*goredis.UniversalOptions, error) {
	scheme, rest, ok := strings.Cut(rawURL, "://")
	if !ok {
		return nil, fmt.Errorf("redis url: missing scheme (want redis://, rediss://, redis+sentinel:// or redis+cluster://)")
	}
	switch strings.ToLower(scheme) {
	case "redis", "rediss", "unix":
		o, err := goredis.ParseURL(rawURL)
		if err != nil {
			return nil, fmt.Errorf("redis url: %w", redact(err))
		}
		return fromOptions(o), nil
	case "redis+sentinel", "rediss+sentinel":
		return parseMulti(rest, strings.HasPrefix(strings.ToLower(scheme), "rediss"), true)
	case "redis+cluster", "rediss+cluster":
		return parseMulti(rest, strings.HasPrefix(strings.ToLower(scheme), "rediss"), false)
	default:
		return nil, fmt.Errorf("redis url: unsupported scheme %q", scheme)
	}
}

// parseMulti parses what follows "redis+sentinel://" or "redis+cluster://". The authority
// holds several comma-separated addresses, which net/url does not accept, so it is split
// here; the rest is handed to go-redis's own parser so all forms share the same options.
func parseMulti(rest string, useTLS, sentinel bool) (*goredis.UniversalOptions, error) {
	kind := "cluster"
	defaultPort := "6379"
	if sentinel {
		kind = "sentinel"
		defaultPort = "26379"
	}
	authority, tail := rest, ""
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		authority, tail = rest[:i], rest[i:]
	}
	userinfo, hosts := "", authority
	if i := strings.LastIndex(authority, "@"); i >= 0 {
		userinfo, hosts = authority[:i+1], authority[i+1:]
	}
	var addrs []string
	for _, h := range strings.Split(hosts, ",") {
		h = strings.TrimSpace(h)
		if h == "" {
			continue
		}
		addr, err := withPort(h, defaultPort)
		if err != nil {
			return nil, fmt.Errorf("redis url: %s address %q: %w", kind, h, err)
		}
		addrs = append(addrs, addr)
	}
	if len(addrs) == 0 {
		return nil, fmt.Errorf("redis url: %s needs at least one host", kind)
	}

	// Split the path (master name and database) from the query.
	path, query := tail, ""
	if i := strings.IndexAny(tail, "?#"); i >= 0 {
		path, query = tail[:i], tail[i:]
	}
	var segs []string
	for _, s := range strings.Split(path, "/") {
		if s != "" {
			segs = append(segs, s)
		}
	}
	master, db := "", ""
	if sentinel {
		switch len(segs) {
		case 1:
			master = segs[0]
		case 2:
			master, db = segs[0], segs[1]
		default:
			return nil, fmt.Errorf("redis url: sentinel wants /mastername[/db], got %q", path)
		}
		m, err := url.PathUnescape(master)
		if err != nil || m == "" {
			return nil, fmt.Errorf("redis url: invalid sentinel master name %q", master)
		}
		master = m
		if _, err := strconv.Atoi(db); db != "" && err != nil {
			return nil, fmt.Errorf("redis url: invalid database number %q", db)
		}
	} else if len(segs) > 0 {
		return nil, fmt.Errorf("redis url: a cluster has no database or path, got %q", path)
	}

	// Pull out the options go-redis does not know, then let it parse everything else.
	var sentinelUser, sentinelPass string
	if sentinel && query != "" {
		q, err := url.ParseQuery(strings.TrimPrefix(strings.SplitN(query, "#", 2)[0], "?"))
		if err != nil {
			return nil, fmt.Errorf("redis url: %w", err)
		}
		sentinelUser, sentinelPass = q.Get("sentinel_username"), q.Get("sentinel_password")
		q.Del("sentinel_username")
		q.Del("sentinel_password")
		query = ""
		if len(q) > 0 {
			query = "?" + q.Encode()
		}
	}
	synthetic := "redis://"
	if useTLS {
		synthetic = "rediss://"
	}
	synthetic += userinfo + addrs[0] + "/" + db + query
	o, err := goredis.ParseURL(synthetic)
	if err != nil {
		return nil, fmt.Errorf("redis url: %w", redact(err))
	}
	if o.TLSConfig != nil {
		// One ServerName cannot fit several hosts: leave it empty so that the TLS
		// dialer takes it from each address.
		o.TLSConfig.ServerName = ""
	}
	u := fromOptions(o)
	u.Addrs = addrs
	if sentinel {
		u.MasterName = master
		u.SentinelUsername = sentinelUser
		u.SentinelPassword = sentinelPass
	} else {
		u.IsClusterMode = true
	}
	return u, nil
}

// redact drops the URL (and so any password in it) from a net/url parse error.
func redact(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s: %w", ue.Op, ue.Err)
	}
	return err
}

func withPort(h, defaultPort string) (string, error) {
	if host, port, err := net.SplitHostPort(h); err == nil {
		if host == "" {
			return "", fmt.Errorf("missing host")
		}
		if _, err := strconv.ParseUint(port, 10, 16); err != nil {
			return "", fmt.Errorf("invalid port %q", port)
		}
		return net.JoinHostPort(host, port), nil
	}
	host := strings.TrimSuffix(strings.TrimPrefix(h, "["), "]")
	if host == "" || strings.ContainsAny(host, "/@ ") {
		return "", fmt.Errorf("invalid host")
	}
	if strings.Contains(host, ":") && !strings.HasPrefix(h, "[") {
		return "", fmt.Errorf("invalid port")
	}
	return net.JoinHostPort(host, defaultPort), nil
}

// fromOptions copies the settings go-redis's ParseURL can produce into UniversalOptions.
func fromOptions(o *goredis.Options) *goredis.UniversalOptions {
	u := &goredis.UniversalOptions{
		Addrs:                   []string{o.Addr},
		ClientName:              o.ClientName,
		DB:                      o.DB,
		Protocol:                o.Protocol,
		Username:                o.Username,
		Password:                o.Password,
		MaxRetries:              o.MaxRetries,
		MinRetryBackoff:         o.MinRetryBackoff,
		MaxRetryBackoff:         o.MaxRetryBackoff,
		DialTimeout:             o.DialTimeout,
		ReadTimeout:             o.ReadTimeout,
		WriteTimeout:            o.WriteTimeout,
		PoolFIFO:                o.PoolFIFO,
		PoolSize:                o.PoolSize,
		PoolTimeout:             o.PoolTimeout,
		MinIdleConns:            o.MinIdleConns,
		MaxIdleConns:            o.MaxIdleConns,
		MaxActiveConns:          o.MaxActiveConns,
		MaxConcurrentDials:      o.MaxConcurrentDials,
		PipelinePoolSize:        o.PipelinePoolSize,
		PipelineReadBufferSize:  o.PipelineReadBufferSize,
		PipelineWriteBufferSize: o.PipelineWriteBufferSize,
		ConnMaxIdleTime:         o.ConnMaxIdleTime,
		ConnMaxLifetime:         o.ConnMaxLifetime,
		ConnMaxLifetimeJitter:   o.ConnMaxLifetimeJitter,
		TLSConfig:               o.TLSConfig,
	}
	if o.Network == "unix" {
		// UniversalOptions has no Network field: dial the socket explicitly.
		u.Dialer = func(ctx context.Context, _, addr string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", addr)
		}
	}
	return u
}
