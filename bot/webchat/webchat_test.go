package webchat

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/sportello/sportello/bot"
	"github.com/sportello/sportello/bot/store/storetest"
	"github.com/sportello/sportello/locales"
)

// echo is the test Responder: /start offers buttons, a pressed button is confirmed, and any
// other text is echoed back (so tests can see whether user text ever turns into markup).
type echo struct{}

func (echo) Respond(_ context.Context, s *bot.Session, in bot.Inbound) ([]bot.Reply, error) {
	switch {
	case in.Action == "pick:a":
		return []bot.Reply{{Text: "you picked A", Lang: s.Lang}}, nil
	case in.Action != "":
		return []bot.Reply{{Text: "stale button", Lang: s.Lang}}, nil
	case strings.HasPrefix(in.Text, "/start"):
		return []bot.Reply{{Text: "**Welcome** to the desk", Lang: s.Lang, Buttons: [][]bot.Button{{
			{Label: "Option A", Action: "pick:a"},
			{Label: "Official site", URL: "https://example.org/permits"},
			{Label: "evil", URL: "javascript:alert(1)"},
		}}}}, nil
	default:
		return []bot.Reply{{Text: "echo: " + in.Text, Lang: s.Lang, Article: "test-article"}}, nil
	}
}

// catalog is the real catalog, plus a minimal Arabic file while the translations are not in yet.
func catalog(t *testing.T) *locales.Catalog {
	t.Helper()
	cat, err := locales.Load()
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(cat.Languages(), "ar") {
		return cat
	}
	fsys := fstest.MapFS{}
	names, _ := filepath.Glob("../../locales/*.yaml")
	for _, name := range names {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		fsys[filepath.Base(name)] = &fstest.MapFile{Data: b}
	}
	fsys["ar.yaml"] = &fstest.MapFile{Data: []byte(`language.name: "العربية"
language.dir: "rtl"
web.send: "إرسال"
web.error.bad_request: "عذرًا، تعذّرت قراءة هذا الطلب."
`)}
	cat, err = locales.LoadFS(fsys)
	if err != nil {
		t.Fatal(err)
	}
	return cat
}

type env struct {
	t      *testing.T
	store  bot.Store
	router *bot.Router
	cat    *locales.Catalog
	ch     *Channel
	srv    *httptest.Server
}

func stores(t *testing.T, run func(t *testing.T, store bot.Store)) {
	t.Run("bolt", func(t *testing.T) { run(t, storetest.NewBolt(t, nil)) })
	t.Run("redis", func(t *testing.T) { run(t, storetest.NewRedis(t)) })
}

func newEnv(t *testing.T, store bot.Store, opts Options) *env {
	t.Helper()
	if store == nil {
		store = storetest.NewBolt(t, nil)
	}
	cat := catalog(t)
	r := &bot.Router{
		Store:         store,
		Sessions:      bot.Sessions{Store: store, IdleTTL: time.Hour},
		Locker:        bot.Locker{Store: store, TTL: 5 * time.Second},
		Responder:     echo{},
		Languages:     bot.NewLanguages(cat.Languages(), "en", nil),
		Texts:         cat,
		Clock:         bot.SystemClock{},
		Log:           slog.New(slog.DiscardHandler),
		DedupeTTL:     time.Hour,
		TranscriptTTL: time.Hour,
	}
	if opts.Heartbeat == 0 {
		opts.Heartbeat = 100 * time.Millisecond
	}
	ch := New(store, r, cat, opts)
	srv := httptest.NewServer(ch.Handler())
	t.Cleanup(func() {
		ch.Close()
		srv.Close()
	})
	return &env{t: t, store: store, router: r, cat: cat, ch: ch, srv: srv}
}

// client is one browser: its own cookie jar.
type client struct {
	e    *env
	http *http.Client
}

func (e *env) client() *client {
	jar, _ := cookiejar.New(nil)
	return &client{e: e, http: &http.Client{Jar: jar, Timeout: 20 * time.Second}}
}

func (c *client) do(req *http.Request) (*http.Response, []byte) {
	c.e.t.Helper()
	resp, err := c.http.Do(req)
	if err != nil {
		c.e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.e.t.Fatal(err)
	}
	return resp, b
}

func (c *client) get(path string, header ...string) (*http.Response, []byte) {
	c.e.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, c.e.srv.URL+path, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return c.do(req)
}

func (c *client) post(body, key string, header ...string) (*http.Response, []byte) {
	c.e.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, c.e.srv.URL+"/api/messages", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return c.do(req)
}

func (c *client) postOK(body, key string) Page {
	c.e.t.Helper()
	resp, b := c.post(body, key)
	if resp.StatusCode != http.StatusOK {
		c.e.t.Fatalf("POST %s: %s %s", body, resp.Status, b)
	}
	return decodePage(c.e.t, b)
}

func (c *client) history(after int64) Page {
	c.e.t.Helper()
	resp, b := c.get("/api/history?after=" + strconv.FormatInt(after, 10))
	if resp.StatusCode != http.StatusOK {
		c.e.t.Fatalf("history: %s %s", resp.Status, b)
	}
	return decodePage(c.e.t, b)
}

// conversation is the id in the client's cookie.
func (c *client) conversation() string {
	c.e.t.Helper()
	u, _ := http.NewRequest(http.MethodGet, c.e.srv.URL, nil)
	for _, ck := range c.http.Jar.Cookies(u.URL) {
		if ck.Name == CookieName {
			conv, _, _ := strings.Cut(ck.Value, ".")
			return conv
		}
	}
	c.e.t.Fatal("no conversation cookie")
	return ""
}

func decodePage(t *testing.T, b []byte) Page {
	t.Helper()
	var p Page
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatalf("decode %q: %v", b, err)
	}
	return p
}

func texts(p Page) []string {
	var out []string
	for _, e := range p.Entries {
		out = append(out, e.From+": "+bot.PlainText(e.Spans))
	}
	return out
}

func wantTexts(t *testing.T, p Page, want ...string) {
	t.Helper()
	if got := texts(p); !slices.Equal(got, want) {
		t.Fatalf("entries = %q, want %q", got, want)
	}
}

// ---- the page ----

func TestPageCookieAndLanguage(t *testing.T) {
	e := newEnv(t, nil, Options{DeskName: `Ravenna <script>alert(1)</script>`})
	c := e.client()
	resp, body := c.get("/", "Accept-Language", "de-CH;q=0.1, xx, en-GB;q=0.9")
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET /: %s %s", resp.Status, resp.Header.Get("Content-Type"))
	}
	page := string(body)
	for _, want := range []string{
		`<html lang="en" dir="ltr">`,
		`<main class="app"`, `<h1 id="title">`,
		`id="messages"`, `role="log"`, `aria-live="polite"`,
		`<form id="composer"`, `<textarea id="input"`, `<button id="send"`, `<select id="language"`,
		`aria-label="` + e.cat.T("en", "web.send", nil) + `"`,
		`Ravenna &lt;script&gt;alert(1)&lt;/script&gt;`,
		`<option value="ar" lang="ar" dir="rtl">العربية</option>`,
		`<script type="application/json" id="boot">`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Contains(page, "<script>alert(1)") {
		t.Error("desk name reached the page unescaped")
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") {
		t.Errorf("CSP = %q", csp)
	}
	if resp.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Error("no nosniff")
	}

	var ck *http.Cookie
	for _, x := range resp.Cookies() {
		if x.Name == CookieName {
			ck = x
		}
	}
	if ck == nil {
		t.Fatal("no conversation cookie on first visit")
	}
	if !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.Path != "/" || ck.MaxAge <= 0 || ck.Secure {
		t.Errorf("cookie attributes: %+v", ck)
	}
	conv, sum, ok := strings.Cut(ck.Value, ".")
	raw, err := b64.DecodeString(conv)
	if !ok || err != nil || len(raw) != 16 || sum == "" {
		t.Fatalf("cookie value %q: want base64url(128 bits).mac", ck.Value)
	}
	// The next visit keeps the conversation.
	resp, _ = c.get("/")
	for _, x := range resp.Cookies() {
		if x.Name == CookieName && x.Value != ck.Value {
			t.Errorf("second visit changed the conversation: %q -> %q", ck.Value, x.Value)
		}
	}
	if got := c.conversation(); got != conv {
		t.Errorf("conversation %q, want %q", got, conv)
	}
	// Behind TLS the cookie is Secure.
	resp, _ = e.client().get("/", "X-Forwarded-Proto", "https")
	if cs := resp.Cookies(); len(cs) == 0 || !cs[0].Secure {
		t.Errorf("cookie over https not Secure: %v", cs)
	}

	// Arabic browser: the page is right to left.
	_, body = e.client().get("/", "Accept-Language", "ar-EG,ar;q=0.9,en;q=0.5")
	if !strings.Contains(string(body), `<html lang="ar" dir="rtl">`) {
		t.Errorf("Arabic page: %.200s", body)
	}
	// The language cookie (set by the page) wins over Accept-Language.
	req, _ := http.NewRequest(http.MethodGet, e.srv.URL+"/", nil)
	req.Header.Set("Accept-Language", "en")
	req.AddCookie(&http.Cookie{Name: LangCookie, Value: "ar"})
	_, body = e.client().do(req)
	if !strings.Contains(string(body), `<html lang="ar" dir="rtl">`) {
		t.Errorf("language cookie ignored: %.200s", body)
	}
	// Unknown paths are not the page.
	if resp, _ := c.get("/nope"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("/nope: %s", resp.Status)
	}
}

func TestStatic(t *testing.T) {
	e := newEnv(t, nil, Options{})
	c := e.client()
	for path, ctype := range map[string]string{"/static/app.js": "javascript", "/static/app.css": "text/css", "/static/icon.svg": "image/svg+xml"} {
		resp, body := c.get(path + "?v=" + version)
		if resp.StatusCode != http.StatusOK || !strings.Contains(resp.Header.Get("Content-Type"), ctype) || len(body) == 0 {
			t.Errorf("%s: %s %q", path, resp.Status, resp.Header.Get("Content-Type"))
		}
		if !strings.Contains(resp.Header.Get("Cache-Control"), "immutable") {
			t.Errorf("%s with the current version: Cache-Control %q", path, resp.Header.Get("Cache-Control"))
		}
		resp, _ = c.get(path, "If-None-Match", resp.Header.Get("ETag"))
		if resp.StatusCode != http.StatusNotModified {
			t.Errorf("%s revalidation: %s", path, resp.Status)
		}
	}
	for _, path := range []string{"/static/index.html", "/static/", "/static/../webchat.go", "/static/nope.js"} {
		if resp, _ := c.get(path); resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s: %s, want 404", path, resp.Status)
		}
	}
}

// ---- messages ----

func TestPostReplies(t *testing.T) {
	stores(t, func(t *testing.T, store bot.Store) {
		e := newEnv(t, store, Options{})
		c := e.client()
		// No prior visit: the POST itself gets the cookie (as `serve`'s end-to-end test does).
		p := c.postOK(`{"text":"hello there"}`, "")
		wantTexts(t, p, "user: hello there", "bot: echo: hello there")
		if p.Last != 2 || p.Entries[0].Seq != 1 || p.Entries[1].Seq != 2 {
			t.Fatalf("sequence: last %d, entries %+v", p.Last, p.Entries)
		}
		reply := p.Entries[1]
		if reply.Article != "test-article" || reply.Lang != "en" || reply.Dir != "ltr" || reply.Staff || reply.At.IsZero() {
			t.Errorf("reply entry: %+v", reply)
		}
		// The cursor: only what is new.
		p = c.postOK(`{"text":"second","after":2}`, "")
		wantTexts(t, p, "user: second", "bot: echo: second")
		if p.Entries[0].Seq != 3 {
			t.Errorf("seq %d, want 3", p.Entries[0].Seq)
		}
		// The router kept the transcript of the same conversation.
		tr, err := e.router.Transcript(context.Background(), Address(c.conversation()))
		if err != nil || len(tr) != 4 {
			t.Errorf("transcript: %v, %v", tr, err)
		}
		// Arabic text: the user's entry is right to left, and the language the page picked
		// reaches the router as the user's choice.
		p = c.postOK(`{"text":"مرحبا","lang":"ar","after":4}`, "")
		if p.Entries[0].Dir != "rtl" || p.Entries[1].Lang != "ar" || p.Entries[1].Dir != "rtl" {
			t.Errorf("Arabic entries: %+v", p.Entries)
		}
	})
}

func TestStartAndButtons(t *testing.T) {
	e := newEnv(t, nil, Options{})
	c := e.client()
	p := c.postOK(`{"start":true}`, "k-start-1")
	wantTexts(t, p, "bot: Welcome to the desk")
	w := p.Entries[0]
	if len(w.Spans) != 2 || !w.Spans[0].Bold || w.Spans[0].Text != "Welcome" {
		t.Errorf("spans: %+v", w.Spans)
	}
	if len(w.Buttons) != 1 || len(w.Buttons[0]) != 2 || w.Buttons[0][1].URL != "https://example.org/permits" {
		t.Errorf("buttons (the javascript: one must be gone): %+v", w.Buttons)
	}
	// A second greeting (a reload) is not sent once the conversation has entries.
	p = c.postOK(`{"start":true,"after":1}`, "k-start-2")
	wantTexts(t, p)
	// A pressed button shows its label as the user's message.
	p = c.postOK(`{"action":"pick:a","after":1}`, "k-press")
	wantTexts(t, p, "user: Option A", "bot: you picked A")
	// A forged action shows nothing as the user's message and gets the bot's answer.
	p = c.postOK(`{"action":"forged","after":3}`, "")
	wantTexts(t, p, "bot: stale button")
}

func TestIdempotentRetry(t *testing.T) {
	stores(t, func(t *testing.T, store bot.Store) {
		e := newEnv(t, store, Options{})
		c := e.client()
		p := c.postOK(`{"text":"renewal cost?"}`, "retry-key-1")
		wantTexts(t, p, "user: renewal cost?", "bot: echo: renewal cost?")
		// The browser did not see the answer and sends again with the same key.
		p = c.postOK(`{"text":"renewal cost?"}`, "retry-key-1")
		wantTexts(t, p, "user: renewal cost?", "bot: echo: renewal cost?")
		p = c.postOK(`{"text":"renewal cost?","after":2}`, "retry-key-1")
		wantTexts(t, p)
		wantTexts(t, c.history(0), "user: renewal cost?", "bot: echo: renewal cost?")
		// Another conversation may use the same key.
		other := e.client()
		wantTexts(t, other.postOK(`{"text":"hi"}`, "retry-key-1"), "user: hi", "bot: echo: hi")
		// Keys are checked.
		for _, key := range []string{strings.Repeat("k", 65), "has space", "bad\u00e9"} {
			if resp, b := c.post(`{"text":"x"}`, key); resp.StatusCode != http.StatusBadRequest {
				t.Errorf("key %q: %s %s", key, resp.Status, b)
			}
		}
		if resp, _ := c.post(`{"text":"64 is fine"}`, strings.Repeat("k", 64)); resp.StatusCode != http.StatusOK {
			t.Errorf("64-character key: %s", resp.Status)
		}
	})
}

func TestForgedConversation(t *testing.T) {
	e := newEnv(t, nil, Options{})
	victim := e.client()
	victim.postOK(`{"text":"my private question"}`, "")
	conv := victim.conversation()

	// A conversation id in the body is ignored: the attacker gets a conversation of their own.
	attacker := e.client()
	p := attacker.postOK(fmt.Sprintf(`{"text":"hello","conversation":%q,"address":{"channel":"web","conversation":%q}}`, conv, conv), "")
	wantTexts(t, p, "user: hello", "bot: echo: hello")
	if attacker.conversation() == conv {
		t.Fatal("the body chose the conversation")
	}
	// A cookie naming the victim's conversation without the right MAC is not accepted.
	for _, value := range []string{
		conv,
		conv + ".",
		conv + "." + mac([]byte("another key, another server......"), conv),
		conv + "." + strings.Repeat("A", 22),
		"../" + conv,
	} {
		req, _ := http.NewRequest(http.MethodGet, e.srv.URL+"/api/history", nil)
		req.AddCookie(&http.Cookie{Name: CookieName, Value: value})
		resp, b := (&client{e: e, http: &http.Client{}}).do(req)
		p := decodePage(t, b)
		if len(p.Entries) != 0 {
			t.Errorf("forged cookie %q read the victim's conversation: %q", value, texts(p))
		}
		var fresh string
		for _, x := range resp.Cookies() {
			if x.Name == CookieName {
				fresh, _, _ = strings.Cut(x.Value, ".")
			}
		}
		if fresh == "" || fresh == conv {
			t.Errorf("forged cookie %q: new conversation %q", value, fresh)
		}
		req, _ = http.NewRequest(http.MethodPost, e.srv.URL+"/api/messages", strings.NewReader(`{"text":"injected"}`))
		req.Header.Set("Content-Type", "application/json")
		req.AddCookie(&http.Cookie{Name: CookieName, Value: value})
		(&client{e: e, http: &http.Client{}}).do(req)
	}
	wantTexts(t, victim.history(0), "user: my private question", "bot: echo: my private question")

	// Cookies made by another replica (same store, so the same key) are accepted.
	other := New(e.store, e.router, e.cat, Options{})
	srv2 := httptest.NewServer(other.Handler())
	defer srv2.Close()
	req, _ := http.NewRequest(http.MethodGet, srv2.URL+"/api/history", nil)
	for _, ck := range victim.http.Jar.Cookies(mustURL(e.srv.URL)) {
		req.AddCookie(ck)
	}
	_, b := victim.do(req)
	wantTexts(t, decodePage(t, b), "user: my private question", "bot: echo: my private question")
}

func TestBadRequests(t *testing.T) {
	e := newEnv(t, nil, Options{})
	c := e.client()
	errorText := func(b []byte) string {
		var m map[string]string
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("error body %q: %v", b, err)
		}
		return m["error"]
	}
	tooLarge := e.cat.T("en", "web.error.too_large", map[string]any{"Max": bot.MaxTextRunes})
	badRequest := e.cat.T("en", "web.error.bad_request", nil)

	big := `{"text":"` + strings.Repeat("a", MaxBody+10) + `"}`
	if resp, b := c.post(big, ""); resp.StatusCode != http.StatusRequestEntityTooLarge || errorText(b) != tooLarge {
		t.Errorf("oversized: %s %s", resp.Status, b)
	}
	for _, body := range []string{`{`, `not json`, `{"text":1}`, `{"text":"a"} {"text":"b"}`, `[]`, ``, `{"text":"x","after":-1}`} {
		if resp, b := c.post(body, ""); resp.StatusCode != http.StatusBadRequest || errorText(b) != badRequest {
			t.Errorf("body %q: %s %s", body, resp.Status, b)
		}
	}
	// The error is in the browser's language.
	if resp, b := c.post(`{`, "", "Accept-Language", "ar"); resp.StatusCode != http.StatusBadRequest ||
		errorText(b) != e.cat.T("ar", "web.error.bad_request", nil) || resp.Header.Get("Content-Language") != "ar" {
		t.Errorf("Arabic error: %s %s", resp.Status, b)
	}
	// Not JSON, or from another site.
	if resp, _ := c.post(`text=hi`, "", "Content-Type", "application/x-www-form-urlencoded"); resp.StatusCode != http.StatusUnsupportedMediaType {
		t.Errorf("form post: %s", resp.Status)
	}
	if resp, _ := c.post(`{"text":"hi"}`, "", "Sec-Fetch-Site", "cross-site"); resp.StatusCode != http.StatusForbidden {
		t.Errorf("cross-site post: %s", resp.Status)
	}
	if resp, _ := c.get("/api/messages"); resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET /api/messages: %s", resp.Status)
	}
	for _, q := range []string{"-1", "x", "1e3"} {
		if resp, _ := c.get("/api/history?after=" + q); resp.StatusCode != http.StatusBadRequest {
			t.Errorf("history after=%s: %s", q, resp.Status)
		}
	}
	// None of this reached the conversation.
	wantTexts(t, c.history(0))
	// Empty and over-long texts are the router's to answer, in words.
	p := c.postOK(`{"text":"   "}`, "")
	wantTexts(t, p, "bot: "+e.cat.T("en", "error.empty", nil))
	long := strings.Repeat("ab ", 3000)
	p = c.postOK(`{"text":"`+long+`","after":1}`, "")
	if len(p.Entries) != 2 || !strings.HasSuffix(bot.PlainText(p.Entries[0].Spans), "…") ||
		bot.PlainText(p.Entries[1].Spans) != e.cat.T("en", "error.too_long", map[string]any{"Max": bot.MaxTextRunes}) {
		t.Errorf("long text: %q", texts(p))
	}
}

// ---- reading: history and events ----

func TestHistory(t *testing.T) {
	e := newEnv(t, nil, Options{HistoryMax: 5})
	c := e.client()
	wantTexts(t, c.history(0))
	c.postOK(`{"text":"one"}`, "")
	c.postOK(`{"text":"two"}`, "")
	wantTexts(t, c.history(0), "user: one", "bot: echo: one", "user: two", "bot: echo: two")
	wantTexts(t, c.history(3), "bot: echo: two")
	if p := c.history(4); len(p.Entries) != 0 || p.Last != 4 || p.Reset {
		t.Errorf("history after the last: %+v", p)
	}
	// A cursor beyond the conversation (it was erased or expired): everything, with reset.
	if p := c.history(99); !p.Reset || len(p.Entries) != 4 {
		t.Errorf("history after 99: %+v", p)
	}
	// The list is capped; numbering goes on.
	c.postOK(`{"text":"three"}`, "")
	p := c.history(0)
	wantTexts(t, p, "bot: echo: one", "user: two", "bot: echo: two", "user: three", "bot: echo: three")
	if p.Entries[0].Seq != 2 || p.Last != 6 {
		t.Errorf("capped list: %+v", p)
	}
	// The web chat's own list expires with a TTL.
	if _, err := e.store.Get(context.Background(), seqKey(c.conversation())); err != nil {
		t.Error(err)
	}
}

// sse reads a Server-Sent Events stream.
type sse struct {
	t      *testing.T
	resp   *http.Response
	events chan sseEvent
	cancel context.CancelFunc
}

type sseEvent struct {
	id, event, data string
	comment         bool
}

func (c *client) events(lastEventID string, query string) *sse {
	c.e.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, c.e.srv.URL+"/api/events"+query, nil)
	if lastEventID != "" {
		req.Header.Set("Last-Event-ID", lastEventID)
	}
	hc := &http.Client{Jar: c.http.Jar}
	resp, err := hc.Do(req)
	if err != nil {
		cancel()
		c.e.t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		cancel()
		c.e.t.Fatalf("events: %s %s", resp.Status, resp.Header.Get("Content-Type"))
	}
	s := &sse{t: c.e.t, resp: resp, events: make(chan sseEvent, 100), cancel: cancel}
	go func() {
		defer close(s.events)
		sc := bufio.NewScanner(resp.Body)
		var ev sseEvent
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if ev != (sseEvent{}) {
					s.events <- ev
				}
				ev = sseEvent{}
			case strings.HasPrefix(line, ":"):
				ev.comment = true
			case strings.HasPrefix(line, "id: "):
				ev.id = strings.TrimPrefix(line, "id: ")
			case strings.HasPrefix(line, "event: "):
				ev.event = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				ev.data = strings.TrimPrefix(line, "data: ")
			}
		}
	}()
	c.e.t.Cleanup(s.close)
	return s
}

func (s *sse) close() {
	s.cancel()
	s.resp.Body.Close()
}

// next returns the next event that is not a comment.
func (s *sse) next() sseEvent {
	s.t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case ev, ok := <-s.events:
			if !ok {
				s.t.Fatal("event stream ended")
			}
			if !ev.comment || ev.data != "" || ev.event != "" {
				return ev
			}
		case <-timeout:
			s.t.Fatal("no event within 10 s")
		}
	}
}

func (s *sse) entry() Entry {
	s.t.Helper()
	ev := s.next()
	var e Entry
	if ev.event != "" || json.Unmarshal([]byte(ev.data), &e) != nil || ev.id != strconv.FormatInt(e.Seq, 10) {
		s.t.Fatalf("not an entry event: %+v", ev)
	}
	return e
}

func TestEventsDeliverLaterRepliesAndResume(t *testing.T) {
	stores(t, func(t *testing.T, store bot.Store) {
		e := newEnv(t, store, Options{})
		c := e.client()
		c.get("/") // the page sets the cookie
		c.postOK(`{"text":"I need an appointment"}`, "")

		stream := c.events("", "?after=1")
		if got := stream.entry(); got.Seq != 2 || bot.PlainText(got.Spans) != "echo: I need an appointment" {
			t.Fatalf("first event: %+v", got)
		}
		// Days later, staff answer through the router; the open page sees it at once.
		to := Address(c.conversation())
		err := e.router.Notify(context.Background(), to, func(s *bot.Session) []bot.Reply {
			return []bot.Reply{{Text: "**Desk staff:** see you on Monday", Staff: true, Lang: "en", Handoff: "T1"}}
		})
		if err != nil {
			t.Fatal(err)
		}
		staff := stream.entry()
		if staff.Seq != 3 || !staff.Staff || staff.From != FromStaff || bot.PlainText(staff.Spans) != "Desk staff: see you on Monday" {
			t.Fatalf("staff event: %+v", staff)
		}
		// A message from another tab of the same conversation also arrives.
		c.postOK(`{"text":"thanks"}`, "")
		if got := stream.entry(); got.Seq != 4 || got.From != FromUser {
			t.Fatalf("user event: %+v", got)
		}
		if got := stream.entry(); got.Seq != 5 {
			t.Fatalf("reply event: %+v", got)
		}
		// Heartbeats keep the stream open.
		deadline := time.After(5 * time.Second)
	beat:
		for {
			select {
			case ev := <-stream.events:
				if ev.comment && ev.data == "" {
					break beat
				}
			case <-deadline:
				t.Fatal("no heartbeat")
			}
		}
		stream.close()

		// The browser reconnects with Last-Event-ID and gets only what it missed.
		if err := e.ch.Send(context.Background(), to, []bot.Reply{{Text: "while you were away", Staff: true}}); err != nil {
			t.Fatal(err)
		}
		resumed := c.events("4", "?after=1")
		if got := resumed.entry(); got.Seq != 5 {
			t.Fatalf("resumed with %+v, want seq 5", got)
		}
		if got := resumed.entry(); got.Seq != 6 || bot.PlainText(got.Spans) != "while you were away" {
			t.Fatalf("resumed with %+v, want seq 6", got)
		}
		// Another browser sees nothing of this conversation.
		stranger := e.client().events("", "")
		select {
		case ev := <-stranger.events:
			if !ev.comment {
				t.Fatalf("a stranger received %+v", ev)
			}
		case <-time.After(300 * time.Millisecond):
		}
	})
}

func TestForgetResetsTheStream(t *testing.T) {
	e := newEnv(t, nil, Options{})
	c := e.client()
	c.postOK(`{"text":"delete me"}`, "")
	stream := c.events("2", "")
	to := Address(c.conversation())
	if err := e.ch.Forget(context.Background(), to); err != nil {
		t.Fatal(err)
	}
	if ev := stream.next(); ev.event != "reset" || ev.id != "0" {
		t.Fatalf("after Forget: %+v", ev)
	}
	wantTexts(t, c.history(0))
	// The conversation goes on from a clean list.
	if err := e.ch.Send(context.Background(), to, []bot.Reply{{Text: "Done: I deleted everything."}}); err != nil {
		t.Fatal(err)
	}
	if got := stream.entry(); got.Seq != 1 {
		t.Fatalf("after reset: %+v", got)
	}
}

func TestEventsEndOnClose(t *testing.T) {
	e := newEnv(t, nil, Options{Heartbeat: time.Hour})
	stream := e.client().events("", "")
	e.ch.Close()
	select {
	case _, ok := <-stream.events:
		for ok {
			_, ok = <-stream.events
		}
	case <-time.After(5 * time.Second):
		t.Fatal("stream still open after Close")
	}
}

// ---- the channel ----

func TestSendRejectsOtherAddresses(t *testing.T) {
	e := newEnv(t, nil, Options{})
	for _, to := range []bot.Address{{Channel: "telegram", Conversation: "123"}, {Channel: Name, Conversation: "../x"}, {Channel: Name}} {
		err := e.ch.Send(context.Background(), to, []bot.Reply{{Text: "x"}})
		var se *bot.SendError
		if !errors.As(err, &se) || se.Failure != bot.Permanent {
			t.Errorf("Send to %v: %v", to, err)
		}
	}
}

// Replies sent while users write: every entry gets its own number, in list order.
func TestConcurrentSequence(t *testing.T) {
	stores(t, func(t *testing.T, store bot.Store) {
		e := newEnv(t, store, Options{})
		c := e.client()
		c.postOK(`{"text":"start"}`, "")
		to := Address(c.conversation())
		var wg sync.WaitGroup
		for i := range 8 {
			wg.Add(2)
			go func() {
				defer wg.Done()
				if err := e.ch.Send(context.Background(), to, []bot.Reply{{Text: fmt.Sprintf("staff %d", i), Staff: true}}); err != nil {
					t.Error(err)
				}
			}()
			go func() {
				defer wg.Done()
				req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/api/messages", strings.NewReader(fmt.Sprintf(`{"text":"user %d"}`, i)))
				req.Header.Set("Content-Type", "application/json")
				resp, err := c.http.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					t.Error(resp.Status)
				}
			}()
		}
		wg.Wait()
		p := c.history(0)
		if len(p.Entries) != 2+8+16 {
			t.Fatalf("%d entries: %q", len(p.Entries), texts(p))
		}
		for i, en := range p.Entries {
			if en.Seq != int64(i+1) {
				t.Fatalf("entry %d has seq %d", i, en.Seq)
			}
		}
	})
}

// ---- strings and safety ----

func TestUIStrings(t *testing.T) {
	e := newEnv(t, nil, Options{})
	c := e.client()
	get := func(q string, header ...string) UI {
		resp, b := c.get("/api/ui"+q, header...)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("ui%s: %s", q, resp.Status)
		}
		var u UI
		if err := json.Unmarshal(b, &u); err != nil {
			t.Fatal(err)
		}
		return u
	}
	ar := get("?lang=ar")
	if ar.Lang != "ar" || ar.Dir != "rtl" || ar.Strings["send"] != e.cat.T("ar", "web.send", nil) {
		t.Errorf("ar: %+v", ar)
	}
	en := get("?lang=en")
	if en.Dir != "ltr" {
		t.Errorf("en dir %q", en.Dir)
	}
	for name, id := range uiIDs {
		if s := en.Strings[name]; s == "" || s == id || strings.Contains(s, "{{") {
			t.Errorf("en string %s (%s) = %q", name, id, s)
		}
	}
	var arOption *LanguageOption
	for i, l := range en.Languages {
		if l.Code == "ar" {
			arOption = &en.Languages[i]
		}
		if l.Name == "" || l.Name == "language.name" {
			t.Errorf("language %s has no name", l.Code)
		}
	}
	if arOption == nil || arOption.Name != "العربية" || arOption.Dir != "rtl" {
		t.Errorf("Arabic in the menu: %+v", arOption)
	}
	if u := get("?lang=xx", "Accept-Language", "ar;q=0.5, zz"); u.Lang != "ar" {
		t.Errorf("unknown lang falls back to Accept-Language: %q", u.Lang)
	}
	if u := get("", "Accept-Language", "*"); u.Lang != "en" {
		t.Errorf("default language %q", u.Lang)
	}
}

func TestParseAcceptLanguage(t *testing.T) {
	for h, want := range map[string][]string{
		"":                                   nil,
		"fr-CH, fr;q=0.9, en;q=0.8, *;q=0.5": {"fr-CH", "fr", "en"},
		"en;q=0.1, ar":                       {"ar", "en"},
		"bn-Latn;q=0, ur;q=abc, uk":          {"uk"},
	} {
		if got := parseAcceptLanguage(h); !slices.Equal(got, want) {
			t.Errorf("%q: %q, want %q", h, got, want)
		}
	}
}

func TestNoServerTextAsHTML(t *testing.T) {
	e := newEnv(t, nil, Options{})
	c := e.client()
	attack := `<img src=x onerror=alert(1)> [click](javascript:alert(1)) **<b>bold</b>**`
	p := c.postOK(`{"text":`+strconv.Quote(attack)+`}`, "")
	// The user's own text is one literal span, never markup.
	if u := p.Entries[0]; len(u.Spans) != 1 || u.Spans[0].Text != attack || u.Spans[0].URL != "" || u.Spans[0].Bold {
		t.Errorf("user entry: %+v", u)
	}
	for _, sp := range p.Entries[1].Spans {
		if sp.URL != "" {
			t.Errorf("a javascript: link became a span: %+v", sp)
		}
	}
	// JSON escapes the markup characters on the wire.
	resp, raw := c.get("/api/history")
	if strings.Contains(string(raw), "<img") || resp.Header.Get("Content-Type") != "application/json; charset=utf-8" {
		t.Errorf("history carries raw HTML or a wrong type: %s", raw)
	}
	_, page := c.get("/")
	if strings.Contains(string(page), "onerror") {
		t.Error("conversation text in the page")
	}
	// The page's script builds the DOM from text only.
	js, err := staticFiles.ReadFile("static/app.js")
	if err != nil {
		t.Fatal(err)
	}
	banned := regexp.MustCompile(`innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function|\.html\(|createContextualFragment|srcdoc|setAttribute\(\s*['"]on`)
	for i, line := range strings.Split(string(js), "\n") {
		if banned.MatchString(line) {
			t.Errorf("app.js:%d uses an HTML sink: %s", i+1, strings.TrimSpace(line))
		}
	}
	if !strings.Contains(string(js), "textContent") || !strings.Contains(string(js), "rel = 'noopener noreferrer'") {
		t.Error("app.js does not render with textContent / noopener links")
	}
	// Plain ES2017: no optional chaining or nullish coalescing.
	if regexp.MustCompile(`\?\.[a-zA-Z_(\[]|\?\?`).Match(js) {
		t.Error("app.js uses syntax newer than ES2017")
	}
	// The stylesheet uses logical properties, so RTL mirrors.
	css, _ := staticFiles.ReadFile("static/app.css")
	if m := regexp.MustCompile(`(?m)^\s*(margin|padding|border)-(left|right)\b|text-align:\s*(left|right)|float:\s*(left|right)`).Find(css); m != nil {
		t.Errorf("app.css uses a physical direction: %s", m)
	}
}

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}
