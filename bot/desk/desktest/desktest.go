// Package desktest builds a whole Sportello core for desk tests — the real router, flow
// engine, locales, knowledge base and desk service on a real store — with a recording chat
// channel standing in for Telegram.
package desktest

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sportello/sportello/bot"
	"github.com/sportello/sportello/bot/desk"
	"github.com/sportello/sportello/bot/store/storetest"
	"github.com/sportello/sportello/flows"
	"github.com/sportello/sportello/knowledge"
	"github.com/sportello/sportello/locales"
)

// Start is a Tuesday, 10:00 in Ravenna (office hours).
var Start = time.Date(2025, 1, 7, 9, 0, 0, 0, time.UTC)

// Offices are the three desks of the shipped configuration.
func Offices(t testing.TB) []desk.Office {
	t.Helper()
	mk := func(id, name, tz, lang, contact string, weekly map[string][]string, within time.Duration, capacity int) desk.Office {
		o, err := desk.NewOffice(bot.DeskInfo{ID: id, Name: name, Lang: lang, Contact: contact, Jurisdictions: []string{"it-" + id, "it"}},
			tz, weekly, within, capacity)
		if err != nil {
			t.Fatal(err)
		}
		return o
	}
	morning := []string{"09:00-13:00"}
	return []desk.Office{
		mk("ravenna", "Ravenna", "Europe/Rome", "it", "Via Alfredo Oriani 44, Ravenna",
			map[string][]string{"mon": morning, "tue": {"09:00-13:00", "14:30-17:00"}, "wed": morning, "thu": morning, "fri": morning}, 48*time.Hour, 2),
		mk("genova", "Genova", "Europe/Rome", "it", "Via G. D'Annunzio 80, Genova",
			map[string][]string{"mon": morning, "wed": morning, "fri": morning}, 72*time.Hour, 2),
		mk("jena", "Jena", "Europe/Berlin", "de", "Löbdergraben 12, Jena",
			map[string][]string{"mon": {"09:00-12:00"}, "tue": {"09:00-12:00"}}, 48*time.Hour, 3),
	}
}

// Chat is a recording channel: it keeps every reply per conversation. Fail makes Send fail.
type Chat struct {
	mu      sync.Mutex
	name    string
	sent    map[string][]bot.Reply
	fail    error
	waiters []chan struct{}
}

// NewChat returns a recording channel with a name.
func NewChat(name string) *Chat { return &Chat{name: name, sent: map[string][]bot.Reply{}} }

func (c *Chat) Name() string { return c.name }

func (c *Chat) Send(_ context.Context, to bot.Address, replies []bot.Reply) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fail != nil {
		return c.fail
	}
	c.sent[to.Conversation] = append(c.sent[to.Conversation], replies...)
	for _, w := range c.waiters {
		close(w)
	}
	c.waiters = nil
	return nil
}

// Fail makes every send fail with err (nil: succeed again).
func (c *Chat) Fail(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.fail = err
}

// Sent returns the replies a conversation received so far.
func (c *Chat) Sent(conv string) []bot.Reply {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]bot.Reply(nil), c.sent[conv]...)
}

// WaitFor waits until a reply to conv contains text, or fails the test after timeout.
func (c *Chat) WaitFor(t testing.TB, conv, text string, timeout time.Duration) bot.Reply {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		c.mu.Lock()
		for _, r := range c.sent[conv] {
			if strings.Contains(r.Text, text) {
				c.mu.Unlock()
				return r
			}
		}
		w := make(chan struct{})
		c.waiters = append(c.waiters, w)
		c.mu.Unlock()
		left := time.Until(deadline)
		if left <= 0 {
			t.Fatalf("%s never received %q; got:\n%s", conv, text, Dump(c.Sent(conv)))
		}
		select {
		case <-w:
		case <-time.After(left):
		}
	}
}

// Languages are the languages Sportello ships (UI text falls back to English until each
// locale file has the desk's strings).
var Languages = []string{"it", "en", "ar", "uk", "fr", "es", "de", "bg", "bn", "ur", "ru", "zh"}

// Env is a running core: router, engine and desk on one store.
type Env struct {
	Store  bot.Store
	Clock  *storetest.Clock
	Texts  *locales.Catalog
	Router *bot.Router
	Engine *flows.Engine
	Desk   *desk.Service
	Chat   *Chat
	Rules  *flows.Rules
}

var (
	kbOnce sync.Once
	kb     *knowledge.Base
	kbErr  error
)

// KB is the shipped knowledge base, opened once per test binary.
func KB(t testing.TB) *knowledge.Base {
	kbOnce.Do(func() { kb, kbErr = knowledge.Open(knowledge.Content, "") })
	if kbErr != nil {
		t.Fatal(kbErr)
	}
	return kb
}

// New wires a core on store; clock drives the router and the desk (and the store, if bolt).
// change may adjust the desk configuration.
func New(t testing.TB, store bot.Store, clock *storetest.Clock, change ...func(*desk.Config)) *Env {
	t.Helper()
	texts, err := locales.Load()
	if err != nil {
		t.Fatal(err)
	}
	offices := Offices(t)
	desks := map[string]bot.DeskInfo{}
	for _, o := range offices {
		desks[o.ID] = o.DeskInfo
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	languages := bot.NewLanguages(Languages, locales.Source, func(d string) string { return desks[d].Lang })
	fl, err := flows.LoadFlows()
	if err != nil {
		t.Fatal(err)
	}
	rules, err := flows.LoadRules()
	if err != nil {
		t.Fatal(err)
	}
	router := &bot.Router{
		Store: store, Sessions: bot.Sessions{Store: store, IdleTTL: 72 * time.Hour},
		Locker: bot.Locker{Store: store, TTL: 30 * time.Second}, Languages: languages, Texts: texts,
		Clock: clock, Log: log, DedupeTTL: time.Hour, TranscriptTTL: 720 * time.Hour,
	}
	cfg := desk.Config{Store: store, Clock: clock, Relay: router, Texts: texts, Offices: offices, Log: log, Retention: 90 * 24 * time.Hour}
	for _, ch := range change {
		ch(&cfg)
	}
	svc, err := desk.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	engine := &flows.Engine{Flows: fl, Rules: rules, KB: KB(t), Texts: texts, Languages: languages, Desks: desks,
		DefaultDesk: "ravenna", Desk: svc, Booker: svc, Forget: router.Forget, Clock: clock}
	router.Responder = engine
	chat := NewChat("test")
	router.Register(chat)
	return &Env{Store: store, Clock: clock, Texts: texts, Router: router, Engine: engine, Desk: svc, Chat: chat, Rules: rules}
}

// Stores runs fn once on a bolt store (with a fake clock) and once on Redis.
func Stores(t *testing.T, fn func(t *testing.T, e *Env)) {
	for _, kind := range []string{"bolt", "redis"} {
		t.Run(kind, func(t *testing.T) {
			clock := storetest.NewClock(Start)
			var st bot.Store
			if kind == "bolt" {
				st = storetest.NewBolt(t, clock)
			} else {
				st = storetest.NewRedis(t)
			}
			fn(t, New(t, st, clock))
		})
	}
}

// Addr is the address of a test conversation.
func Addr(conv string) bot.Address { return bot.Address{Channel: "test", Conversation: conv} }

var msgSeq struct {
	sync.Mutex
	n int
}

// Say sends text from conv (with the phone language hint) and returns the replies of the turn.
func (e *Env) Say(t testing.TB, conv, lang, text string) []bot.Reply {
	t.Helper()
	return e.send(t, bot.Inbound{Address: Addr(conv), User: conv, LangHint: lang, Text: text})
}

// Press presses the button whose label contains label among the last turn's replies.
func (e *Env) Press(t testing.TB, conv string, last []bot.Reply, label string) []bot.Reply {
	t.Helper()
	return e.Action(t, conv, FindButton(t, last, label))
}

// Action sends a button action from conv.
func (e *Env) Action(t testing.TB, conv, action string) []bot.Reply {
	t.Helper()
	return e.send(t, bot.Inbound{Address: Addr(conv), User: conv, Action: action})
}

func (e *Env) send(t testing.TB, in bot.Inbound) []bot.Reply {
	t.Helper()
	msgSeq.Lock()
	msgSeq.n++
	in.MessageID = fmt.Sprint(msgSeq.n)
	msgSeq.Unlock()
	before := len(e.Chat.Sent(in.Conversation))
	if err := e.Router.Handle(context.Background(), in); err != nil {
		t.Fatalf("handle %q: %v", in.Text+in.Action, err)
	}
	return e.Chat.Sent(in.Conversation)[before:]
}

// Session reads a conversation's session.
func (e *Env) Session(t testing.TB, conv string) *bot.Session {
	t.Helper()
	s, err := e.Router.Sessions.Load(context.Background(), Addr(conv), e.Clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Staff creates an account.
func (e *Env) Staff(t testing.TB, name string, role desk.Role, desks ...string) *desk.Account {
	t.Helper()
	ctx := context.Background()
	if err := e.Desk.AddAccount(ctx, desk.Account{Name: name, Role: role, Desks: desks, Lang: "en"}, Password, false); err != nil {
		t.Fatal(err)
	}
	a, err := e.Desk.Account(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// Password is every test account's password.
const Password = "correct horse battery"

// FindButton returns the action of the button whose label contains label.
func FindButton(t testing.TB, replies []bot.Reply, label string) string {
	t.Helper()
	for _, r := range replies {
		for _, row := range r.Buttons {
			for _, b := range row {
				if strings.Contains(b.Label, label) {
					return b.Action
				}
			}
		}
	}
	t.Fatalf("no button %q in:\n%s", label, Dump(replies))
	return ""
}

// Contains reports whether a reply's text contains s.
func Contains(replies []bot.Reply, s string) bool {
	for _, r := range replies {
		if strings.Contains(r.Text, s) {
			return true
		}
	}
	return false
}

// Dump writes replies for failure messages.
func Dump(replies []bot.Reply) string {
	var b strings.Builder
	for _, r := range replies {
		fmt.Fprintf(&b, "  [%s handoff=%s staff=%v] %q\n", r.Lang, r.Handoff, r.Staff, r.Text)
		for _, row := range r.Buttons {
			for _, btn := range row {
				fmt.Fprintf(&b, "    (%s -> %s)\n", btn.Label, btn.Action)
			}
		}
	}
	return b.String()
}
