package desktest

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

// ConsoleClient is a staff member's browser without JavaScript: it keeps the session cookie
// and the CSRF token of the last page it read, and does not follow redirects.
type ConsoleClient struct {
	t    testing.TB
	Base string       // e.g. "http://127.0.0.1:1234"
	HTTP *http.Client // with the cookie jar
	CSRF string       // the token of the last page with a form
}

// NewConsoleClient returns a client for the console served at base.
func NewConsoleClient(t testing.TB, base string) *ConsoleClient {
	jar, _ := cookiejar.New(nil)
	return &ConsoleClient{t: t, Base: base, HTTP: &http.Client{Jar: jar, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// Do sends req and returns the response with its body read.
func (c *ConsoleClient) Do(req *http.Request) (*http.Response, string) {
	c.t.Helper()
	resp, err := c.HTTP.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if m := csrfField.FindSubmatch(b); m != nil {
		c.CSRF = string(m[1])
	}
	return resp, string(b)
}

// Get reads a page.
func (c *ConsoleClient) Get(path string) (*http.Response, string) {
	c.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, c.Base+path, nil)
	return c.Do(req)
}

// Post sends a form with extra headers (name, value, …); the page's CSRF token is added
// unless form sets "csrf" itself.
func (c *ConsoleClient) Post(path string, form url.Values, header ...string) (*http.Response, string) {
	c.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	if _, ok := form["csrf"]; !ok {
		form.Set("csrf", c.CSRF)
	}
	req, _ := http.NewRequest(http.MethodPost, c.Base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return c.Do(req)
}

// Login signs in and reads the queue page (for the session's CSRF token).
func (c *ConsoleClient) Login(name, password string) {
	c.t.Helper()
	c.Get("/console/login")
	resp, body := c.Post("/console/login", url.Values{"name": {name}, "password": {password}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/console/" {
		c.t.Fatalf("login %s: %s %s", name, resp.Status, body)
	}
	c.Get("/console/")
}
