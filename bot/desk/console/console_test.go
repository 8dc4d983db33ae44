package console_test

import (
	"bufio"
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sportello/sportello/bot"
	"github.com/sportello/sportello/bot/desk"
	"github.com/sportello/sportello/bot/desk/console"
	"github.com/sportello/sportello/bot/desk/desktest"
	"github.com/sportello/sportello/bot/store/storetest"
)

var ctx = context.Background()

type env struct {
	*desktest.Env
	console *console.Console
	srv     *httptest.Server
}

func newEnv(t *testing.T, e *desktest.Env) *env {
	t.Helper()
	c, err := console.New(console.Config{Desk: e.Desk, Store: e.Store, Texts: e.Texts, Heartbeat: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/console/", c)
	mux.Handle("/console", c)
	srv := httptest.NewServer(mux)
	t.Cleanup(func() { c.Shutdown(); srv.Close() })
	return &env{Env: e, console: c, srv: srv}
}

func boltEnv(t *testing.T) *env {
	clock := storetest.NewClock(desktest.Start)
	return newEnv(t, desktest.New(t, storetest.NewBolt(t, clock), clock))
}

type client = desktest.ConsoleClient

func (e *env) client(t *testing.T) *client { return desktest.NewConsoleClient(t, e.srv.URL) }

func (e *env) login(t *testing.T, name string) *client {
	t.Helper()
	c := e.client(t)
	c.Login(name, desktest.Password)
	return c
}

func wantStatus(t *testing.T, what string, resp *http.Response, status int) {
	t.Helper()
	if resp.StatusCode != status {
		t.Errorf("%s: %s, want %d", what, resp.Status, status)
	}
}

func TestNoAccessWithoutLogin(t *testing.T) {
	e := boltEnv(t)
	o, _ := e.Desk.Open(ctx, bot.HandoffRequest{Address: desktest.Addr("x"), Desk: "ravenna", Lang: "it", Reason: "user"})
	c := e.client(t)
	for _, p := range []string{"/console/", "/console/tickets/" + o.Ticket, "/console/appointments"} {
		resp, _ := c.Get(p)
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/console/login" {
			t.Errorf("GET %s without login: %s → %s", p, resp.Status, resp.Header.Get("Location"))
		}
	}
	for _, p := range []string{"/console/api/queue", "/console/api/tickets/" + o.Ticket, "/console/events"} {
		resp, body := c.Get(p)
		wantStatus(t, "GET "+p, resp, http.StatusUnauthorized)
		if strings.Contains(body, o.Ticket) {
			t.Errorf("%s leaks the ticket", p)
		}
	}
	for _, p := range []string{"/tickets/" + o.Ticket + "/reply", "/tickets/" + o.Ticket + "/claim", "/tickets/" + o.Ticket + "/close", "/appointments/slots"} {
		resp, _ := c.Post("/console"+p, url.Values{"text": {"hi"}, "csrf": {"x"}})
		wantStatus(t, "POST "+p, resp, http.StatusUnauthorized)
	}
	resp, _ := c.Get("/console/desks/ravenna/calendar.ics")
	wantStatus(t, "feed without token", resp, http.StatusNotFound)
	resp, _ = c.Get("/console/static/console.css")
	wantStatus(t, "static", resp, http.StatusOK)
	tk, _ := e.Desk.Ticket(ctx, o.Ticket)
	if len(tk.Messages) != 1 {
		t.Fatalf("something reached the ticket: %+v", tk.Messages)
	}
}

func TestCSRF(t *testing.T) {
	e := boltEnv(t)
	e.Staff(t, "mario", desk.RoleStaff, "ravenna")
	r := e.Say(t, "u1", "it", "/human")
	id := r[0].Handoff

	// The login form has its own token.
	c := e.client(t)
	c.Get("/console/login")
	resp, _ := c.Post("/console/login", url.Values{"name": {"mario"}, "password": {desktest.Password}, "csrf": {"forged"}})
	wantStatus(t, "login with a forged token", resp, http.StatusForbidden)
	fresh := e.client(t)
	resp, _ = fresh.Post("/console/login", url.Values{"name": {"mario"}, "password": {desktest.Password}, "csrf": {""}})
	wantStatus(t, "login without the login cookie", resp, http.StatusForbidden)

	c = e.login(t, "mario")
	path := "/console/tickets/" + id + "/reply"
	resp, _ = c.Post(path, url.Values{"text": {"no token"}, "csrf": {""}})
	wantStatus(t, "missing token", resp, http.StatusForbidden)
	resp, _ = c.Post(path, url.Values{"text": {"forged"}, "csrf": {strings.Repeat("a", 64)}})
	wantStatus(t, "forged token", resp, http.StatusForbidden)
	resp, _ = c.Post(path, url.Values{"text": {"cross origin"}}, "Origin", "https://evil.example")
	wantStatus(t, "right token, other origin", resp, http.StatusForbidden)
	resp, _ = c.Post(path, url.Values{"text": {"cross site"}}, "Sec-Fetch-Site", "cross-site")
	wantStatus(t, "right token, cross-site fetch", resp, http.StatusForbidden)
	// Another session's token does not work either.
	other := e.login(t, "mario")
	resp, _ = c.Post(path, url.Values{"text": {"other session"}, "csrf": {other.CSRF}})
	wantStatus(t, "another session's token", resp, http.StatusForbidden)
	for _, m := range e.Chat.Sent("u1") {
		if m.Staff {
			t.Fatalf("a refused POST reached the user: %q", m.Text)
		}
	}
	resp, _ = c.Post(path, url.Values{"text": {"Buongiorno!"}}, "Origin", e.srv.URL)
	if resp.StatusCode != http.StatusSeeOther || !strings.Contains(resp.Header.Get("Location"), "flash=sent") {
		t.Fatalf("valid reply: %s %s", resp.Status, resp.Header.Get("Location"))
	}
	e.Chat.WaitFor(t, "u1", "Buongiorno!", time.Second)
}

// TestDeskScopes: staff of Ravenna never see Genova's tickets — not in the queue, the ticket
// page, the API, the actions or the live events.
func TestDeskScopes(t *testing.T) {
	e := boltEnv(t)
	e.Staff(t, "rav", desk.RoleStaff, "ravenna")
	e.Staff(t, "gen", desk.RoleStaff, "genova")
	g, _ := e.Desk.Open(ctx, bot.HandoffRequest{Address: desktest.Addr("g1"), Desk: "genova", Lang: "ar", Reason: "rule:asylum", Priority: bot.PriorityHigh})
	r, _ := e.Desk.Open(ctx, bot.HandoffRequest{Address: desktest.Addr("r1"), Desk: "ravenna", Lang: "uk", Reason: "user"})
	rav := e.login(t, "rav")

	if _, body := rav.Get("/console/"); strings.Contains(body, g.Ticket) || !strings.Contains(body, r.Ticket) {
		t.Errorf("ravenna queue: has genova %v, has ravenna %v", strings.Contains(body, g.Ticket), strings.Contains(body, r.Ticket))
	}
	if _, body := rav.Get("/console/api/queue"); strings.Contains(body, g.Ticket) || strings.Contains(body, "Genova") {
		t.Errorf("ravenna API queue shows genova: %s", body)
	}
	resp, _ := rav.Get("/console/?desk=genova")
	wantStatus(t, "queue filtered to genova", resp, http.StatusForbidden)
	resp, _ = rav.Get("/console/api/queue?desk=genova")
	wantStatus(t, "API queue filtered to genova", resp, http.StatusForbidden)
	resp, body := rav.Get("/console/tickets/" + g.Ticket)
	wantStatus(t, "genova ticket page", resp, http.StatusNotFound)
	if strings.Contains(body, "asylum") {
		t.Error("the not-found page leaks the ticket")
	}
	resp, _ = rav.Get("/console/api/tickets/" + g.Ticket)
	wantStatus(t, "genova ticket API", resp, http.StatusNotFound)
	for _, action := range []string{"claim", "reply", "note", "close"} {
		resp, _ := rav.Post("/console/tickets/"+g.Ticket+"/"+action, url.Values{"text": {"x"}, "outcome": {"resolved"}, "force": {"1"}})
		wantStatus(t, action+" on genova's ticket", resp, http.StatusNotFound)
	}
	resp, _ = rav.Get("/console/appointments?desk=genova")
	wantStatus(t, "genova calendar", resp, http.StatusNotFound)
	resp, _ = rav.Post("/console/appointments/slots", url.Values{"desk": {"genova"}, "date": {"2025-01-08"}, "from": {"09:00"}, "to": {"10:00"}, "length": {"30"}, "mode": {"phone"}})
	wantStatus(t, "publish genova slots", resp, http.StatusForbidden)
	tk, _ := e.Desk.Ticket(ctx, g.Ticket)
	if tk.Status != desk.Waiting || len(tk.Messages) != 1 {
		t.Fatalf("genova's ticket was touched: %+v %+v", tk, tk.Messages)
	}

	// Live events: Ravenna's stream carries Ravenna's changes only.
	stream := openStream(t, rav)
	gen, _ := e.Desk.Account(ctx, "gen")
	if err := e.Desk.Note(ctx, gen, g.Ticket, "genova only"); err != nil {
		t.Fatal(err)
	}
	ravAcc, _ := e.Desk.Account(ctx, "rav")
	if err := e.Desk.Note(ctx, ravAcc, r.Ticket, "ravenna"); err != nil {
		t.Fatal(err)
	}
	ev := stream.next(t, 5*time.Second)
	if !strings.Contains(ev, r.Ticket) || strings.Contains(ev, g.Ticket) {
		t.Fatalf("first event on ravenna's stream: %s", ev)
	}
}

func TestLoginThrottling(t *testing.T) {
	e := boltEnv(t)
	e.Staff(t, "mario", desk.RoleStaff, "ravenna")
	e.Staff(t, "anna", desk.RoleStaff, "ravenna")
	c := e.client(t)
	for i := range desk.LoginLimits.PerName {
		c.Get("/console/login")
		resp, _ := c.Post("/console/login", url.Values{"name": {"mario"}, "password": {"wrong password " + string(rune('a'+i))}})
		wantStatus(t, "wrong password", resp, http.StatusUnauthorized)
	}
	c.Get("/console/login")
	resp, body := c.Post("/console/login", url.Values{"name": {"mario"}, "password": {desktest.Password}})
	wantStatus(t, "right password after too many failures", resp, http.StatusTooManyRequests)
	if !strings.Contains(body, "Too many failed attempts") || resp.Header.Get("Retry-After") == "" {
		t.Errorf("throttled page: %s", body)
	}
	e.login(t, "anna") // other accounts are not locked out
	e.Clock.Advance(16 * time.Minute)
	e.login(t, "mario")
}

func TestCookiesAndHeaders(t *testing.T) {
	e := boltEnv(t)
	e.Staff(t, "mario", desk.RoleStaff, "ravenna")
	c := e.client(t)
	c.Get("/console/login")
	resp, _ := c.Post("/console/login", url.Values{"name": {"mario"}, "password": {desktest.Password}})
	ck := resp.Header.Values("Set-Cookie")
	session := ""
	for _, v := range ck {
		if strings.HasPrefix(v, "sportello_staff=") {
			session = v
		}
	}
	if !strings.Contains(session, "HttpOnly") || !strings.Contains(session, "SameSite=Strict") || strings.Contains(session, "Secure") {
		t.Errorf("session cookie over http: %q", session)
	}
	resp, _ = c.Get("/console/")
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("CSP: %q", csp)
	}
	if resp.Header.Get("X-Content-Type-Options") != "nosniff" || resp.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("headers: %v", resp.Header)
	}
	// Behind a TLS-terminating proxy the cookie is Secure and __Host- prefixed.
	tls := e.client(t)
	req, _ := http.NewRequest(http.MethodGet, tls.Base+"/console/login", nil)
	req.Header.Set("X-Forwarded-Proto", "https")
	resp, _ = tls.Do(req)
	if v := resp.Header.Get("Set-Cookie"); !strings.HasPrefix(v, "__Host-sportello_login=") || !strings.Contains(v, "Secure") || !strings.Contains(v, "Path=/") {
		t.Errorf("login cookie behind TLS: %q", v)
	}
	// Signing out ends the session for good.
	c.Get("/console/")
	c.Post("/console/logout", nil)
	resp, _ = c.Get("/console/")
	wantStatus(t, "after sign-out", resp, http.StatusSeeOther)
}

func TestRolesAndPages(t *testing.T) {
	e := boltEnv(t)
	e.Staff(t, "mod", desk.RoleModerator, "ravenna")
	e.Staff(t, "mario", desk.RoleStaff, "ravenna")
	mod := e.login(t, "mod")
	_, body := mod.Get("/console/appointments")
	if strings.Contains(body, "Publish appointment slots") || strings.Contains(body, "calendar.ics") {
		t.Error("a moderator sees the slot form or the feed")
	}
	resp, _ := mod.Post("/console/appointments/slots", url.Values{"desk": {"ravenna"}, "date": {"2025-01-08"}, "from": {"09:00"}, "to": {"10:00"}, "length": {"30"}, "mode": {"phone"}})
	wantStatus(t, "moderator publishing", resp, http.StatusForbidden)

	mario := e.login(t, "mario")
	resp, _ = mario.Post("/console/appointments/slots", url.Values{"desk": {"ravenna"}, "date": {"2025-01-08"}, "from": {"09:00"}, "to": {"10:00"}, "length": {"30"}, "mode": {"phone"}})
	if loc := resp.Header.Get("Location"); !strings.Contains(loc, "flash=published") || !strings.Contains(loc, "n=2") {
		t.Fatalf("publish: %s %s", resp.Status, loc)
	}
	_, body = mario.Get("/console/appointments?desk=ravenna&from=2025-01-08")
	if !strings.Contains(body, "09:00–09:30") || !strings.Contains(body, "by phone") {
		t.Fatalf("calendar page:\n%s", body)
	}
	m := regexp.MustCompile(`value="(http://[^"]+calendar\.ics\?token=[0-9a-f]+)"`).FindStringSubmatch(body)
	if m == nil {
		t.Fatal("no feed address")
	}
	resp, ics := mario.Get(strings.TrimPrefix(m[1], e.srv.URL))
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/calendar; charset=utf-8" || !strings.HasPrefix(ics, "BEGIN:VCALENDAR") {
		t.Fatalf("feed: %s %q", resp.Status, ics)
	}
}

// TestUserTextIsEscaped: what users write reaches staff as text, never as markup.
func TestUserTextIsEscaped(t *testing.T) {
	e := boltEnv(t)
	e.Staff(t, "mario", desk.RoleStaff, "ravenna")
	r := e.Say(t, "x1", "en", "/human")
	e.Say(t, "x1", "en", `<img src=x onerror=alert(1)> "quoted" & <script>alert(2)</script>`)
	c := e.login(t, "mario")
	_, body := c.Get("/console/tickets/" + r[0].Handoff)
	if strings.Contains(body, "<img src=x") || strings.Contains(body, "<script>alert") {
		t.Fatal("user text rendered as HTML")
	}
	if !strings.Contains(body, "&lt;img src=x onerror=alert(1)&gt;") {
		t.Fatal("user text missing")
	}
	_, api := c.Get("/console/api/tickets/" + r[0].Handoff)
	if strings.Contains(api, "<img") || !strings.Contains(api, `\u003cimg src=x`) {
		t.Fatalf("API: %s", api)
	}
	js, err := os.ReadFile("static/console.js")
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"} {
		if strings.Contains(string(js), bad) {
			t.Errorf("console.js uses %s", bad)
		}
	}
}

// stream reads a console event stream.
type stream struct {
	events chan string
}

func openStream(t *testing.T, c *client) *stream {
	t.Helper()
	sctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(sctx, http.MethodGet, c.Base+"/console/events", nil)
	resp, err := (&http.Client{Jar: c.HTTP.Jar}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("events: %s", resp.Status)
	}
	s := &stream{events: make(chan string, 64)}
	t.Cleanup(func() { cancel(); resp.Body.Close() })
	go func() {
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if line := sc.Text(); strings.HasPrefix(line, "data: ") {
				s.events <- strings.TrimPrefix(line, "data: ")
			}
		}
		close(s.events)
	}()
	return s
}

func (s *stream) next(t *testing.T, timeout time.Duration) string {
	t.Helper()
	select {
	case ev, ok := <-s.events:
		if !ok {
			t.Fatal("event stream ended")
		}
		return ev
	case <-time.After(timeout):
		t.Fatal("no event")
	}
	return ""
}

// TestCalendarActions: staff confirm, move and cancel a booking from the calendar page, and the
// user is told each time in the chat.
func TestCalendarActions(t *testing.T) {
	e := boltEnv(t)
	mario := e.Staff(t, "mario", desk.RoleStaff, "ravenna")
	if _, err := e.Desk.PublishSlots(ctx, mario, "ravenna", desk.SlotSpec{Date: time.Date(2025, 1, 8, 0, 0, 0, 0, time.UTC), From: "09:00", To: "10:00", Length: 30 * time.Minute, Mode: desk.InPerson}); err != nil {
		t.Fatal(err)
	}
	free, _ := e.Desk.FreeSlots(ctx, "ravenna", 0, "")
	a, err := e.Desk.BookSlot(ctx, desk.BookRequest{Address: desktest.Addr("c1"), Lang: "en", Desk: "ravenna", Topic: "citizenship", Documents: "ready"}, free[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	c := e.login(t, "mario")
	_, page := c.Get("/console/appointments?desk=ravenna&from=2025-01-08")
	for _, want := range []string{a.ID, "Citizenship", "booked, to confirm", "/appointments/" + a.ID + "/confirm", free[1].ID} {
		if !strings.Contains(page, want) {
			t.Fatalf("calendar lacks %q", want)
		}
	}
	act := func(action string, form url.Values, flash, told string) {
		t.Helper()
		if form == nil {
			form = url.Values{}
		}
		form.Set("from", "2025-01-08")
		resp, _ := c.Post("/console/appointments/"+a.ID+"/"+action, form)
		if loc := resp.Header.Get("Location"); !strings.Contains(loc, "flash="+flash) {
			t.Fatalf("%s: %s %s", action, resp.Status, loc)
		}
		e.Chat.WaitFor(t, "c1", told, time.Second)
	}
	act("confirm", nil, "confirmed", "The desk confirmed your appointment")
	act("move", url.Values{"slot": {free[1].ID}}, "moved", "The desk moved your appointment to **Wed 8 Jan 2025, 09:30**")
	act("cancel", nil, "cancelled", "The desk cancelled your appointment")
	resp, _ := c.Post("/console/appointments/"+a.ID+"/confirm", url.Values{})
	if loc := resp.Header.Get("Location"); !strings.Contains(loc, "flash=is_closed") {
		t.Fatalf("confirming a cancelled appointment: %s", loc)
	}
	// Slots: a free one can be withdrawn.
	resp, _ = c.Post("/console/slots/"+free[0].ID+"/remove", url.Values{"desk": {"ravenna"}})
	if loc := resp.Header.Get("Location"); !strings.Contains(loc, "flash=removed") {
		t.Fatalf("remove slot: %s", loc)
	}
}
