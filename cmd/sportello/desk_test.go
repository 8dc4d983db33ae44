package main

import (
	"bufio"
	"bytes"
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sportello/sportello/bot/desk"
	"github.com/sportello/sportello/bot/desk/desktest"
)

// TestStaffCommand creates, lists, re-keys and removes console accounts with `sportello staff`.
func TestStaffCommand(t *testing.T) {
	env := map[string]string{"SPORTELLO_DATA": t.TempDir()}
	getenv := func(k string) string { return env[k] }
	staffRun := func(stdin string, args ...string) (string, error) {
		var out, errOut bytes.Buffer
		err := run(context.Background(), append([]string{"staff"}, args...), getenv, strings.NewReader(stdin), &out, &errOut)
		return out.String() + errOut.String(), err
	}
	if out, err := staffRun("a long enough password\n", "add", "--name", "Mario", "--desk", "ravenna,genova", "--role", "staff", "--lang", "it", "--password-stdin"); err != nil || !strings.Contains(out, "added mario (staff, desks: ravenna,genova)") {
		t.Fatalf("add: %v %s", err, out)
	}
	for name, args := range map[string][]string{
		"unknown desk":   {"add", "--name", "x1", "--desk", "milano", "--password-stdin"},
		"unknown role":   {"add", "--name", "x2", "--desk", "ravenna", "--role", "boss", "--password-stdin"},
		"no desk":        {"add", "--name", "x3", "--role", "staff", "--password-stdin"},
		"short password": {"add", "--name", "x4", "--desk", "ravenna", "--password-stdin"},
		"twice":          {"add", "--name", "mario", "--desk", "ravenna", "--password-stdin"},
		"no password":    {"add", "--name", "x5", "--desk", "ravenna"},
	} {
		stdin := "a long enough password\n"
		if name == "short password" {
			stdin = "short\n"
		}
		if out, err := staffRun(stdin, args...); err == nil {
			t.Errorf("%s: accepted: %s", name, out)
		}
	}
	out, err := staffRun("", "add", "--name", "admin", "--role", "admin", "--generate-password")
	pw := regexp.MustCompile(`password: (\S+)`).FindStringSubmatch(out)
	if err != nil || pw == nil {
		t.Fatalf("generated password: %v %s", err, out)
	}
	if out, err := staffRun("", "list"); err != nil || !regexp.MustCompile(`mario\s+staff\s+ravenna,genova\s+it`).MatchString(out) || !strings.Contains(out, "admin") {
		t.Fatalf("list: %v\n%s", err, out)
	}
	if _, err := staffRun("another long password\n", "passwd", "--name", "mario", "--password-stdin"); err != nil {
		t.Fatal(err)
	}
	// The accounts are in the store `serve` opens.
	m := openTestMain(t, env)
	ctx := context.Background()
	if _, err := m.Desk.Authenticate(ctx, "mario", "another long password"); err != nil {
		t.Fatalf("new password: %v", err)
	}
	if _, err := m.Desk.Authenticate(ctx, "mario", "a long enough password"); err == nil {
		t.Fatal("old password still works")
	}
	if _, err := m.Desk.Authenticate(ctx, "admin", pw[1]); err != nil {
		t.Fatalf("generated password: %v", err)
	}
	m.Close()
	if _, err := staffRun("", "remove", "--name", "mario"); err != nil {
		t.Fatal(err)
	}
	if out, _ := staffRun("", "list"); strings.Contains(out, "mario") {
		t.Fatalf("removed account listed:\n%s", out)
	}
}

// TestConsoleThroughServe runs `serve` with the embedded store and with Redis: a web chat user
// asks for a person, staff sign in to /console, see the ticket (live stream included), answer
// and close it.
func TestConsoleThroughServe(t *testing.T) {
	for _, store := range []string{"bolt", "redis"} {
		t.Run(store, func(t *testing.T) {
			m := openStoreMain(t, store, nil)
			ctx := context.Background()
			if err := m.Desk.AddAccount(ctx, desk.Account{Name: "mario", Role: desk.RoleStaff, Desks: []string{"ravenna"}}, "a long enough password", false); err != nil {
				t.Fatal(err)
			}
			stop := runTestMain(t, m) // an open console stream must not hold up the shutdown
			base := "http://" + m.Addr()

			staff := desktest.NewConsoleClient(t, base)
			staff.Login("mario", "a long enough password")
			events := consoleEvents(t, staff)

			user := &cookieJar{}
			post(t, user, base+"/api/messages", `{"text":"I want to talk to a person"}`)
			select {
			case ev := <-events:
				if !strings.Contains(ev, `"kind":"opened"`) {
					t.Fatalf("event: %s", ev)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("no live event for the new ticket")
			}
			_, queue := staff.Get("/console/api/queue")
			id := regexp.MustCompile(`"id":"(T[0-9A-Z]+)"`).FindStringSubmatch(queue)
			if id == nil {
				t.Fatalf("queue: %s", queue)
			}
			resp, _ := staff.Post("/console/tickets/"+id[1]+"/reply", url.Values{"text": {"Hello, how can I help?"}})
			if loc := resp.Header.Get("Location"); !strings.Contains(loc, "flash=sent") {
				t.Fatalf("reply: %s %s", resp.Status, loc)
			}
			// The web chat user finds the reply in the conversation.
			if h := getWith(t, user, base+"/api/history?after=0"); !strings.Contains(h, "Hello, how can I help?") || !strings.Contains(h, `"from":"staff"`) {
				t.Fatalf("web chat history after the reply: %s", h)
			}
			resp, _ = staff.Post("/console/tickets/"+id[1]+"/close", url.Values{"outcome": {"resolved"}})
			if loc := resp.Header.Get("Location"); !strings.Contains(loc, "flash=closed") {
				t.Fatalf("close: %s %s", resp.Status, loc)
			}
			if resp := post(t, user, base+"/api/messages", `{"text":"how much does the renewal cost?"}`); !strings.Contains(resp, "permit-fees") {
				t.Fatalf("the user is not back with the bot: %s", resp)
			}
			stop()
		})
	}
}

// consoleEvents opens the console's event stream as c's staff member and returns its data lines.
func consoleEvents(t *testing.T, c *desktest.ConsoleClient) <-chan string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, c.Base+"/console/events", nil)
	resp, err := (&http.Client{Jar: c.HTTP.Jar}).Do(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("events: %v", err)
	}
	t.Cleanup(func() { cancel(); resp.Body.Close() })
	out := make(chan string, 16)
	go func() {
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if line, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
				out <- line
			}
		}
	}()
	return out
}
