// Package console is the staff console: a small server-rendered web application (no build
// step, no CDN, embedded files) where desk staff sign in, work the queue of handoff tickets
// with live updates (Server-Sent Events woken by the store's pub/sub, so they work across
// replicas), reply to users in their chat, keep internal notes, close tickets with an outcome
// and manage the appointment calendar.
//
// Security: argon2id password hashes (bot/desk), session cookies that are HttpOnly,
// SameSite=Strict and Secure behind TLS, a CSRF token on every POST, login throttling per
// name and per client, roles and desk-scoped access checked on every request, and a strict
// Content-Security-Policy. User text reaches the page only through html/template escaping
// or the DOM's textContent.
package console

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"html/template"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/sportello/sportello/bot"
	"github.com/sportello/sportello/bot/desk"
)

//go:embed templates/*.html
var templateFiles embed.FS

//go:embed static
var staticFiles embed.FS

// Texts is what the console needs from the locale catalog (locales.Catalog implements it).
type Texts interface {
	T(lang, id string, data map[string]any) string
	Has(lang, id string) bool
	RTL(lang string) bool
	Date(lang string, t time.Time) string
}

// Config is what a Console is built from.
type Config struct {
	Desk  *desk.Service
	Store bot.Store
	Texts Texts
	Log   *slog.Logger
	// Prefix is where the console is mounted (default "/console").
	Prefix string
	// SessionIdle ends a session after this long without a request (default 8h); sessions
	// last at most SessionMax (default 24h).
	SessionIdle, SessionMax time.Duration
	// Heartbeat is how often an idle event stream sends a keep-alive (default 20s).
	Heartbeat time.Duration
}

// Console is the staff console's http.Handler.
type Console struct {
	cfg    Config
	desk   *desk.Service
	store  bot.Store
	texts  Texts
	log    *slog.Logger
	pages  map[string]*template.Template
	mux    *http.ServeMux
	canned []Canned

	stopOnce sync.Once
	stop     chan struct{}
}

// New builds the console.
func New(cfg Config) (*Console, error) {
	if cfg.Desk == nil || cfg.Store == nil || cfg.Texts == nil {
		return nil, errors.New("console: Desk, Store and Texts are required")
	}
	if cfg.Prefix == "" {
		cfg.Prefix = "/console"
	}
	cfg.Prefix = strings.TrimSuffix(cfg.Prefix, "/")
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.SessionIdle <= 0 {
		cfg.SessionIdle = 8 * time.Hour
	}
	if cfg.SessionMax <= 0 {
		cfg.SessionMax = 24 * time.Hour
	}
	if cfg.Heartbeat <= 0 {
		cfg.Heartbeat = 20 * time.Second
	}
	c := &Console{cfg: cfg, desk: cfg.Desk, store: cfg.Store, texts: cfg.Texts, log: cfg.Log, stop: make(chan struct{})}
	var err error
	if c.canned, err = LoadCanned(); err != nil {
		return nil, err
	}
	if err := c.parseTemplates(); err != nil {
		return nil, err
	}
	c.routes()
	return c, nil
}

// Shutdown ends the open event streams (http.Server.Shutdown waits for them otherwise).
func (c *Console) Shutdown() { c.stopOnce.Do(func() { close(c.stop) }) }

func (c *Console) routes() {
	p := c.cfg.Prefix
	m := http.NewServeMux()
	static, _ := fs.Sub(staticFiles, "static")
	m.Handle("GET "+p+"/static/", http.StripPrefix(p+"/static/", cacheStatic(http.FileServerFS(static))))
	m.HandleFunc("GET "+p+"/login", c.loginPage)
	m.HandleFunc("POST "+p+"/login", c.login)
	m.HandleFunc("POST "+p+"/logout", c.auth(c.logout))
	m.HandleFunc("GET "+p+"/{$}", c.auth(c.queuePage))
	m.HandleFunc("GET "+p+"/tickets/{id}", c.auth(c.ticketPage))
	m.HandleFunc("POST "+p+"/tickets/{id}/claim", c.auth(c.claim))
	m.HandleFunc("POST "+p+"/tickets/{id}/reply", c.auth(c.reply))
	m.HandleFunc("POST "+p+"/tickets/{id}/note", c.auth(c.note))
	m.HandleFunc("POST "+p+"/tickets/{id}/close", c.auth(c.closeTicket))
	m.HandleFunc("GET "+p+"/appointments", c.auth(c.appointmentsPage))
	m.HandleFunc("POST "+p+"/appointments/slots", c.auth(c.publishSlots))
	m.HandleFunc("POST "+p+"/slots/{id}/remove", c.auth(c.removeSlot))
	m.HandleFunc("POST "+p+"/appointments/{id}/{action}", c.auth(c.appointmentAction))
	m.HandleFunc("POST "+p+"/desks/{desk}/feed", c.auth(c.rotateFeed))
	m.HandleFunc("GET "+p+"/desks/{desk}/calendar.ics", c.feed)
	m.HandleFunc("GET "+p+"/api/queue", c.auth(c.apiQueue))
	m.HandleFunc("GET "+p+"/api/tickets/{id}", c.auth(c.apiTicket))
	m.HandleFunc("GET "+p+"/events", c.auth(c.events))
	m.HandleFunc(p+"/", func(w http.ResponseWriter, r *http.Request) { c.fail(w, r, nil, http.StatusNotFound) })
	m.HandleFunc(p, func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, p+"/", http.StatusSeeOther) })
	c.mux = m
}

// ServeHTTP implements http.Handler with the console's security headers.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin") // "no-referrer" would make browsers send "Origin: null" on our own POSTs
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	if !strings.HasPrefix(r.URL.Path, c.cfg.Prefix+"/static/") {
		h.Set("Cache-Control", "no-store")
	}
	c.mux.ServeHTTP(w, r)
}

func cacheStatic(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-cache")
		h.ServeHTTP(w, r)
	})
}

// ---- sessions ----

type session struct {
	Account string    `json:"account"`
	CSRF    string    `json:"csrf"`
	Created time.Time `json:"created"`
	Seen    time.Time `json:"seen"`
}

// request is one authenticated request's context.
type request struct {
	ctx  context.Context
	who  *desk.Account
	sess *session
	key  string // store key of the session
	lang string
}

func randomToken() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

func sessionKey(token string) string {
	sum := sha256.Sum256([]byte(token))
	return "console:session:" + hex.EncodeToString(sum[:])
}

// secure reports whether the browser reached us over TLS (directly or through a proxy).
func secure(r *http.Request) bool {
	return r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
}

func cookieName(r *http.Request, base string) string {
	if secure(r) {
		return "__Host-" + base
	}
	return base
}

func (c *Console) setCookie(w http.ResponseWriter, r *http.Request, base, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: cookieName(r, base), Value: value, Path: "/", MaxAge: maxAge,
		HttpOnly: true, Secure: secure(r), SameSite: http.SameSiteStrictMode})
}

func (c *Console) cookie(r *http.Request, base string) string {
	ck, err := r.Cookie(cookieName(r, base))
	if err != nil {
		return ""
	}
	return ck.Value
}

const sessionCookie = "sportello_staff"

type handler func(w http.ResponseWriter, r *http.Request, rq *request)

// auth runs h for a signed-in account whose session is alive; POSTs must carry the session's
// CSRF token and come from this origin.
func (c *Console) auth(h handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		rq, err := c.session(r)
		if err != nil {
			c.log.Warn("console session", "err", err)
			c.fail(w, r, nil, http.StatusInternalServerError)
			return
		}
		if rq == nil {
			if r.Method == http.MethodGet && !c.isAPI(r) {
				http.Redirect(w, r, c.cfg.Prefix+"/login", http.StatusSeeOther)
				return
			}
			c.fail(w, r, nil, http.StatusUnauthorized)
			return
		}
		if r.Method == http.MethodPost && !c.csrfOK(r, rq.sess.CSRF) {
			c.fail(w, r, rq, http.StatusForbidden)
			return
		}
		h(w, r, rq)
	}
}

func (c *Console) isAPI(r *http.Request) bool {
	return strings.HasPrefix(r.URL.Path, c.cfg.Prefix+"/api/") || r.URL.Path == c.cfg.Prefix+"/events"
}

// session returns the signed-in request context, or nil.
func (c *Console) session(r *http.Request) (*request, error) {
	token := c.cookie(r, sessionCookie)
	if len(token) != 64 {
		return nil, nil
	}
	key := sessionKey(token)
	raw, err := c.store.Get(r.Context(), key)
	if errors.Is(err, bot.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var s session
	if json.Unmarshal(raw, &s) != nil {
		return nil, nil
	}
	now := c.desk.Now()
	if now.Sub(s.Created) > c.cfg.SessionMax || now.Sub(s.Seen) > c.cfg.SessionIdle {
		_ = c.store.Delete(r.Context(), key)
		return nil, nil
	}
	who, err := c.desk.Account(r.Context(), s.Account)
	if errors.Is(err, desk.ErrNotFound) || (who != nil && who.Disabled) {
		_ = c.store.Delete(r.Context(), key)
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if now.Sub(s.Seen) > time.Minute {
		s.Seen = now
		if raw, err := json.Marshal(&s); err == nil {
			_ = c.store.Put(r.Context(), key, raw, c.cfg.SessionIdle)
		}
	}
	lang := who.Lang
	if lang == "" {
		lang = "en"
	}
	return &request{ctx: r.Context(), who: who, sess: &s, key: key, lang: lang}, nil
}

// csrfOK checks a POST's token (form field "csrf" or header X-CSRF-Token) and its origin.
func (c *Console) csrfOK(r *http.Request, want string) bool {
	if !sameOrigin(r) {
		return false
	}
	got := r.Header.Get("X-CSRF-Token")
	if got == "" {
		r.Body = http.MaxBytesReader(nil, r.Body, 64<<10)
		got = r.PostFormValue("csrf")
	}
	return want != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// sameOrigin rejects requests a browser marks as coming from another site (Fetch Metadata),
// or whose Origin is another one.
func sameOrigin(r *http.Request) bool {
	site := r.Header.Get("Sec-Fetch-Site")
	if site != "" && site != "same-origin" && site != "none" {
		return false
	}
	origin := r.Header.Get("Origin")
	switch origin {
	case "":
		return true // not a browser, or an old one: the CSRF token decides
	case "null":
		return site == "same-origin" // privacy settings hide the origin; Fetch Metadata vouches for it
	}
	host := origin
	if i := strings.Index(host, "://"); i >= 0 {
		host = host[i+3:]
	}
	return strings.EqualFold(host, r.Host)
}

// clientIP is the address login throttling counts: the peer, or the address a local reverse
// proxy put last in X-Forwarded-For.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	if ip, err := netip.ParseAddr(host); err == nil && (ip.IsLoopback() || ip.IsPrivate()) {
		if xff := r.Header.Get("X-Forwarded-For"); xff != "" {
			parts := strings.Split(xff, ",")
			if last := strings.TrimSpace(parts[len(parts)-1]); last != "" {
				if _, err := netip.ParseAddr(last); err == nil {
					return last
				}
			}
		}
	}
	return host
}

// ---- login ----

const loginCookie = "sportello_login"

func (c *Console) loginPage(w http.ResponseWriter, r *http.Request) {
	if rq, _ := c.session(r); rq != nil {
		http.Redirect(w, r, c.cfg.Prefix+"/", http.StatusSeeOther)
		return
	}
	c.showLogin(w, r, "", http.StatusOK)
}

func (c *Console) showLogin(w http.ResponseWriter, r *http.Request, problem string, status int) {
	token := randomToken()
	c.setCookie(w, r, loginCookie, token, 3600)
	lang := "en"
	c.render(w, r, status, "login", &page{Lang: lang, Title: c.texts.T(lang, "desk.console.login_title", nil), CSRF: token,
		Flash: problem, Prefix: c.cfg.Prefix, Dir: "ltr", t: c.tr(lang)})
}

func (c *Console) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	want := c.cookie(r, loginCookie)
	if want == "" || !sameOrigin(r) || subtle.ConstantTimeCompare([]byte(r.PostFormValue("csrf")), []byte(want)) != 1 {
		c.fail(w, r, nil, http.StatusForbidden)
		return
	}
	ctx := r.Context()
	name := strings.ToLower(strings.TrimSpace(r.PostFormValue("name")))
	if len(name) > 64 {
		name = name[:64]
	}
	ip := clientIP(r)
	if throttled, err := c.desk.LoginThrottled(ctx, name, ip); err != nil {
		c.fail(w, r, nil, http.StatusInternalServerError)
		return
	} else if throttled {
		c.log.Warn("console login throttled", "client", bot.Pseudonym(ip))
		w.Header().Set("Retry-After", "900")
		c.showLogin(w, r, c.texts.T("en", "desk.console.login_throttled", nil), http.StatusTooManyRequests)
		return
	}
	who, err := c.desk.Authenticate(ctx, name, r.PostFormValue("password"))
	if err != nil {
		c.desk.LoginFailed(ctx, name, ip)
		c.log.Info("console login failed", "client", bot.Pseudonym(ip))
		c.showLogin(w, r, c.texts.T("en", "desk.console.login_failed", nil), http.StatusUnauthorized)
		return
	}
	c.desk.LoginSucceeded(ctx, name)
	token := randomToken()
	now := c.desk.Now()
	raw, _ := json.Marshal(&session{Account: who.Name, CSRF: randomToken(), Created: now, Seen: now})
	if err := c.store.Put(ctx, sessionKey(token), raw, c.cfg.SessionIdle); err != nil {
		c.fail(w, r, nil, http.StatusInternalServerError)
		return
	}
	c.setCookie(w, r, loginCookie, "", -1)
	c.setCookie(w, r, sessionCookie, token, 0)
	c.log.Info("console login", "account", who.Name)
	http.Redirect(w, r, c.cfg.Prefix+"/", http.StatusSeeOther)
}

func (c *Console) logout(w http.ResponseWriter, r *http.Request, rq *request) {
	_ = c.store.Delete(r.Context(), rq.key)
	c.setCookie(w, r, sessionCookie, "", -1)
	http.Redirect(w, r, c.cfg.Prefix+"/login", http.StatusSeeOther)
}

// ---- errors ----

var statusIDs = map[int]string{
	http.StatusBadRequest:          "desk.console.error_invalid",
	http.StatusUnauthorized:        "desk.console.error_login",
	http.StatusForbidden:           "desk.console.error_forbidden",
	http.StatusNotFound:            "desk.console.error_not_found",
	http.StatusConflict:            "desk.console.error_conflict",
	http.StatusInternalServerError: "desk.console.error_generic",
}

// fail answers with an error page (or JSON for the API).
func (c *Console) fail(w http.ResponseWriter, r *http.Request, rq *request, status int) {
	lang := "en"
	if rq != nil {
		lang = rq.lang
	}
	msg := c.texts.T(lang, statusIDs[status], nil)
	if statusIDs[status] == "" {
		msg = http.StatusText(status)
	}
	if c.isAPI(r) || r.Method != http.MethodGet {
		if c.isAPI(r) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
			return
		}
	}
	p := &page{Lang: lang, Title: msg, Prefix: c.cfg.Prefix, Dir: "ltr", t: c.tr(lang)}
	if rq != nil {
		p.Who, p.CSRF = rq.who, rq.sess.CSRF
	}
	c.render(w, r, status, "error", p)
}

// errStatus maps desk errors to HTTP statuses.
func errStatus(err error) int {
	switch {
	case errors.Is(err, desk.ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, desk.ErrForbidden):
		return http.StatusForbidden
	case errors.Is(err, desk.ErrInvalid):
		return http.StatusBadRequest
	case errors.Is(err, desk.ErrClosed), errors.Is(err, desk.ErrClaimed), errors.Is(err, desk.ErrTaken):
		return http.StatusConflict
	}
	return http.StatusInternalServerError
}
