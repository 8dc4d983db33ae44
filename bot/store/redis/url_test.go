package redis

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseURL(t *testing.T) {
	tests := []struct {
		url        string
		addrs      []string
		db         int
		user, pass string
		master     string
		sentUser   string
		sentPass   string
		cluster    bool
		tls        bool
		dial       time.Duration
	}{
		{url: "redis://localhost:6379", addrs: []string{"localhost:6379"}},
		{url: "redis://127.0.0.1:6380/2", addrs: []string{"127.0.0.1:6380"}, db: 2},
		{url: "redis://:s3cret@redis.internal/1", addrs: []string{"redis.internal:6379"}, db: 1, pass: "s3cret"},
		{url: "redis://app:pw@redis:6379/0?dial_timeout=3s", addrs: []string{"redis:6379"}, user: "app", pass: "pw", dial: 3 * time.Second},
		{url: "rediss://cache.example.com:6380", addrs: []string{"cache.example.com:6380"}, tls: true},
		{url: "redis://[::1]:7000/3", addrs: []string{"[::1]:7000"}, db: 3},

		{url: "redis+sentinel://s1:26379,s2:26380,s3/mymaster", addrs: []string{"s1:26379", "s2:26380", "s3:26379"}, master: "mymaster"},
		{url: "redis+sentinel://:pw@s1:26379,s2:26379/mymaster/4", addrs: []string{"s1:26379", "s2:26379"}, master: "mymaster", db: 4, pass: "pw"},
		{url: "redis+sentinel://s1/mymaster?sentinel_password=spw&sentinel_username=su&dial_timeout=2s", addrs: []string{"s1:26379"}, master: "mymaster", sentUser: "su", sentPass: "spw", dial: 2 * time.Second},
		{url: "rediss+sentinel://s1:26379/m", addrs: []string{"s1:26379"}, master: "m", tls: true},
		{url: "redis+sentinel://[::1]:26379,[::2]/m", addrs: []string{"[::1]:26379", "[::2]:26379"}, master: "m"},

		{url: "redis+cluster://n1:7000,n2:7001,n3:7002", addrs: []string{"n1:7000", "n2:7001", "n3:7002"}, cluster: true},
		{url: "redis+cluster://n1:7000", addrs: []string{"n1:7000"}, cluster: true},
		{url: "redis+cluster://user:pw@n1,n2/?read_timeout=1s", addrs: []string{"n1:6379", "n2:6379"}, user: "user", pass: "pw", cluster: true},
		{url: "rediss+cluster://n1:7000,n2:7000", addrs: []string{"n1:7000", "n2:7000"}, cluster: true, tls: true},
	}
	for _, tc := range tests {
		t.Run(tc.url, func(t *testing.T) {
			o, err := ParseURL(tc.url)
			if err != nil {
				t.Fatalf("ParseURL: %v", err)
			}
			if !slices.Equal(o.Addrs, tc.addrs) {
				t.Errorf("Addrs = %q, want %q", o.Addrs, tc.addrs)
			}
			if o.DB != tc.db {
				t.Errorf("DB = %d, want %d", o.DB, tc.db)
			}
			if o.Username != tc.user || o.Password != tc.pass {
				t.Errorf("credentials = %q/%q, want %q/%q", o.Username, o.Password, tc.user, tc.pass)
			}
			if o.MasterName != tc.master {
				t.Errorf("MasterName = %q, want %q", o.MasterName, tc.master)
			}
			if o.SentinelUsername != tc.sentUser || o.SentinelPassword != tc.sentPass {
				t.Errorf("sentinel credentials = %q/%q, want %q/%q", o.SentinelUsername, o.SentinelPassword, tc.sentUser, tc.sentPass)
			}
			if o.IsClusterMode != tc.cluster {
				t.Errorf("IsClusterMode = %v, want %v", o.IsClusterMode, tc.cluster)
			}
			if (o.TLSConfig != nil) != tc.tls {
				t.Errorf("TLS = %v, want %v", o.TLSConfig != nil, tc.tls)
			}
			if tc.tls && len(tc.addrs) > 1 && o.TLSConfig.ServerName != "" {
				t.Errorf("TLS ServerName = %q for several hosts, want it taken from each address", o.TLSConfig.ServerName)
			}
			if o.DialTimeout != tc.dial {
				t.Errorf("DialTimeout = %v, want %v", o.DialTimeout, tc.dial)
			}
		})
	}
}

func TestParseURLErrors(t *testing.T) {
	for _, u := range []string{
		"",
		"localhost:6379",
		"http://localhost",
		"redis://localhost/notanumber",
		"redis://localhost?bogus=1",
		"redis+sentinel://s1,s2",                 // no master name
		"redis+sentinel:///mymaster",             // no hosts
		"redis+sentinel://s1/m/x",                // bad db
		"redis+sentinel://s1/m/1/extra",          // too much path
		"redis+sentinel://s1:notaport/m",         // bad port
		"redis+sentinel://s1/m?bogus=1",          // unknown option
		"redis+cluster://n1:7000,n2:7000/2",      // a cluster has no db
		"redis+cluster://",                       // no hosts
		"redis+cluster://n1:99999",               // port out of range
		"redis+cluster://n1?sentinel_password=x", // sentinel options are for sentinel
	} {
		if o, err := ParseURL(u); err == nil {
			t.Errorf("ParseURL(%q) = %+v, want an error", u, o)
		}
	}
}

func TestParseURLKeepsPasswordOutOfErrors(t *testing.T) {
	for _, u := range []string{
		"redis://:hunter2@host:bad/0",
		"redis://:hunter2@host/x",
		"redis+sentinel://:hunter2@s1:bad/m",
		"redis+sentinel://:hunter2@s1/m?x=%zz",
		"rediss+cluster://:hunter2@a:1,b:2/?bogus=1",
		"redis+cluster://:hunter2@a:1,b:2/?dial_timeout=x",
	} {
		_, err := ParseURL(u)
		if err == nil {
			t.Errorf("ParseURL(%q): want an error", u)
			continue
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("error %q shows the password", err)
		}
	}
}
