package bot_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sportello/sportello/bot"
	"github.com/sportello/sportello/bot/store/storetest"
	"github.com/sportello/sportello/locales"
)

// sink is a channel that keeps what it was asked to send.
type sink struct {
	mu   sync.Mutex
	sent map[string][]bot.Reply
}

func (s *sink) Name() string { return "test" }

func (s *sink) Send(_ context.Context, to bot.Address, replies []bot.Reply) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sent == nil {
		s.sent = map[string][]bot.Reply{}
	}
	s.sent[to.Conversation] = append(s.sent[to.Conversation], replies...)
	return nil
}

func (s *sink) texts(conv string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, r := range s.sent[conv] {
		out = append(out, r.Text)
	}
	return out
}

// echo answers every message with its text, and checks that no two messages of one
// conversation are ever handled at the same time.
type echo struct {
	busy  sync.Map // conversation -> *int32
	calls atomic.Int64
	delay time.Duration
}

func (e *echo) Respond(_ context.Context, s *bot.Session, in bot.Inbound) ([]bot.Reply, error) {
	e.calls.Add(1)
	v, _ := e.busy.LoadOrStore(in.Conversation, new(int32))
	if !atomic.CompareAndSwapInt32(v.(*int32), 0, 1) {
		panic("two messages of one conversation handled at once")
	}
	defer atomic.StoreInt32(v.(*int32), 0)
	time.Sleep(e.delay)
	if strings.HasPrefix(in.Text, "explode") {
		panic("boom")
	}
	return []bot.Reply{{Text: in.Text + in.Action, Buttons: [][]bot.Button{{{Label: "x", Action: "c:x"}}}}}, nil
}

type harness struct {
	router *bot.Router
	sink   *sink
	echo   *echo
	logs   *bytes.Buffer
	clock  *storetest.Clock
}

func newRouter(t *testing.T, store bot.Store, clock *storetest.Clock) *harness {
	t.Helper()
	texts, err := locales.Load()
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{sink: &sink{}, echo: &echo{}, logs: &bytes.Buffer{}, clock: clock}
	h.router = &bot.Router{
		Store:         store,
		Sessions:      bot.Sessions{Store: store, IdleTTL: time.Hour},
		Locker:        bot.Locker{Store: store, TTL: 10 * time.Second},
		Responder:     h.echo,
		Languages:     bot.NewLanguages(texts.Languages(), "en", nil),
		Texts:         texts,
		Clock:         clock,
		Log:           slog.New(slog.NewJSONHandler(&lockedWriter{w: h.logs}, nil)),
		DedupeTTL:     time.Hour,
		TranscriptTTL: time.Hour,
		FloodLimit:    8,
		FloodWindow:   10 * time.Second,
	}
	h.router.Register(h.sink)
	return h
}

type lockedWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func msg(conv, id, text string) bot.Inbound {
	return bot.Inbound{Address: bot.Address{Channel: "test", Conversation: conv}, User: conv, MessageID: id, Text: text}
}

// stores runs a test against both stores.
func stores(t *testing.T, f func(t *testing.T, store bot.Store, clock *storetest.Clock)) {
	t.Run("bolt", func(t *testing.T) {
		clock := storetest.NewClock(time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC))
		f(t, storetest.NewBolt(t, clock), clock)
	})
	t.Run("redis", func(t *testing.T) {
		clock := storetest.NewClock(time.Now())
		f(t, storetest.NewRedis(t), clock)
	})
}

func TestDuplicateDeliveryHandledOnce(t *testing.T) {
	stores(t, func(t *testing.T, store bot.Store, clock *storetest.Clock) {
		h := newRouter(t, store, clock)
		ctx := context.Background()
		for range 3 {
			if err := h.router.Handle(ctx, msg("a", "42", "hello")); err != nil {
				t.Fatal(err)
			}
		}
		if got := h.sink.texts("a"); len(got) != 1 || got[0] != "hello" {
			t.Fatalf("a redelivered message was answered %d times: %q", len(got), got)
		}
	})
}

func TestConversationOrderAndIsolationUnderConcurrency(t *testing.T) {
	stores(t, func(t *testing.T, store bot.Store, clock *storetest.Clock) {
		// Two routers on one store stand for two replicas.
		a, b := newRouter(t, store, clock), newRouter(t, store, clock)
		b.sink, b.echo = a.sink, a.echo
		b.router.Register(a.sink)
		b.router.Responder = a.echo
		a.router.FloodLimit, b.router.FloodLimit = 0, 0
		ctx := context.Background()
		const convs, perConv = 5, 30
		var runs []func() error
		for i := range perConv {
			for c := range convs {
				r := a.router
				if i%2 == 1 {
					r = b.router
				}
				run, err := r.Enqueue(ctx, msg(fmt.Sprint("c", c), fmt.Sprint(i), fmt.Sprint(i)))
				if err != nil {
					t.Fatal(err)
				}
				runs = append(runs, run)
			}
		}
		// Every message runs in its own goroutine, started in reverse order.
		var wg sync.WaitGroup
		errs := make(chan error, len(runs))
		for i := len(runs) - 1; i >= 0; i-- {
			wg.Add(1)
			go func(run func() error) { defer wg.Done(); errs <- run() }(runs[i])
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		for c := range convs {
			got := a.sink.texts(fmt.Sprint("c", c))
			if len(got) != perConv {
				t.Fatalf("conversation c%d: %d replies, want %d", c, len(got), perConv)
			}
			// One router's messages keep their order; the two replicas' messages interleave
			// but never run at once (the echo responder panics if they do).
			last := map[int]int{0: -1, 1: -1}
			for _, s := range got {
				var n int
				fmt.Sscan(s, &n)
				if n <= last[n%2] {
					t.Fatalf("conversation c%d out of order: %q", c, got)
				}
				last[n%2] = n
			}
		}
		if strings.Contains(a.logs.String(), "panic") || strings.Contains(b.logs.String(), "panic") {
			t.Fatalf("two messages of one conversation ran at once:\n%s%s", a.logs, b.logs)
		}
	})
}

func TestPanicIsAnsweredInTheUsersLanguageAndLoggedWithoutText(t *testing.T) {
	stores(t, func(t *testing.T, store bot.Store, clock *storetest.Clock) {
		h := newRouter(t, store, clock)
		ctx := context.Background()
		in := msg("chat-4471", "1", "explode: my permit number is AB123456")
		in.Lang = "it"
		if err := h.router.Handle(ctx, in); err != nil {
			t.Fatal(err)
		}
		texts, _ := locales.Load()
		if got := h.sink.texts("chat-4471"); len(got) != 1 || got[0] != texts.T("it", "error.generic", nil) {
			t.Fatalf("after a panic the user got %q", got)
		}
		if err := h.router.Handle(ctx, msg("other", "1", "still fine")); err != nil {
			t.Fatal(err)
		}
		if got := h.sink.texts("other"); len(got) != 1 {
			t.Fatalf("another conversation after a panic got %q", got)
		}
		logs := h.logs.String()
		if !strings.Contains(logs, "panic while handling") {
			t.Fatalf("panic not logged: %s", logs)
		}
		if strings.Contains(logs, "AB123456") || strings.Contains(logs, "chat-4471") {
			t.Fatalf("the log holds message text or the chat id in clear: %s", logs)
		}
	})
}

func TestBadInputGetsAClearReply(t *testing.T) {
	stores(t, func(t *testing.T, store bot.Store, clock *storetest.Clock) {
		h := newRouter(t, store, clock)
		texts, _ := locales.Load()
		ctx := context.Background()
		cases := []struct {
			name, text, lang, want string
		}{
			{"empty", "", "ar", texts.T("ar", "error.empty", nil)},
			{"whitespace", " \t\n\u200b ", "uk", texts.T("uk", "error.empty", nil)},
			{"huge", strings.Repeat("permesso ", 2300), "it", texts.T("it", "error.too_long", map[string]any{"Max": bot.MaxTextRunes})},
			{"garbled", "\xff\xfe\xfd", "de", texts.T("de", "error.garbled", nil)},
			{"controls", "ciao\x00\x07 come \u202estai", "it", "ciao come stai"},
		}
		for i, c := range cases {
			in := msg("bad"+fmt.Sprint(i), "1", c.text)
			in.Lang = c.lang
			if err := h.router.Handle(ctx, in); err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			if got := h.sink.texts("bad" + fmt.Sprint(i)); len(got) != 1 || got[0] != c.want {
				t.Errorf("%s: got %q, want %q", c.name, got, c.want)
			}
		}
		if h.echo.calls.Load() != 1 {
			t.Errorf("the responder saw %d bad messages, want only the cleaned one", h.echo.calls.Load())
		}
	})
}

func TestFloodIsThrottledPolitelyPerConversation(t *testing.T) {
	stores(t, func(t *testing.T, store bot.Store, clock *storetest.Clock) {
		h := newRouter(t, store, clock)
		texts, _ := locales.Load()
		ctx := context.Background()
		for i := range 20 {
			in := msg("flood", fmt.Sprint(i), fmt.Sprint("m", i))
			in.Lang = "fr"
			if err := h.router.Handle(ctx, in); err != nil {
				t.Fatal(err)
			}
		}
		got := h.sink.texts("flood")
		if len(got) != 9 || got[8] != texts.T("fr", "error.slow_down", nil) {
			t.Fatalf("20 fast messages gave %d replies: %q", len(got), got)
		}
		if err := h.router.Handle(ctx, msg("calm", "1", "hi")); err != nil {
			t.Fatal(err)
		}
		if got := h.sink.texts("calm"); len(got) != 1 {
			t.Fatalf("another conversation was throttled too: %q", got)
		}
		clock.Advance(30 * time.Second)
		if err := h.router.Handle(ctx, msg("flood", "later", "again")); err != nil {
			t.Fatal(err)
		}
		if got := h.sink.texts("flood"); got[len(got)-1] != "again" {
			t.Fatalf("after the window the user is still throttled: %q", got)
		}
	})
}

func TestForgedOrOversizedButtonPayloadNeverReachesTheResponderIntact(t *testing.T) {
	stores(t, func(t *testing.T, store bot.Store, clock *storetest.Clock) {
		h := newRouter(t, store, clock)
		in := msg("btn", "1", "")
		in.Action = strings.Repeat("x", 200)
		if err := h.router.Handle(context.Background(), in); err != nil {
			t.Fatal(err)
		}
		if got := h.sink.texts("btn"); len(got) != 1 || strings.Contains(got[0], "xxxx") {
			t.Fatalf("an oversized payload was passed on: %q", got)
		}
	})
}

func TestNotifyReachesAnExpiredConversationAndTranscriptKeepsIt(t *testing.T) {
	stores(t, func(t *testing.T, store bot.Store, clock *storetest.Clock) {
		h := newRouter(t, store, clock)
		ctx := context.Background()
		to := bot.Address{Channel: "test", Conversation: "late"}
		err := h.router.Notify(ctx, to, func(s *bot.Session) []bot.Reply {
			s.Ticket = ""
			return []bot.Reply{{Text: "staff reply", Staff: true}}
		})
		if err != nil {
			t.Fatal(err)
		}
		if got := h.sink.texts("late"); len(got) != 1 || got[0] != "staff reply" {
			t.Fatalf("notify sent %q", got)
		}
		tr, err := h.router.Transcript(ctx, to)
		if err != nil || len(tr) != 1 || tr[0].From != "staff" {
			t.Fatalf("transcript %+v, %v", tr, err)
		}
		if err := h.router.Forget(ctx, to); err != nil {
			t.Fatal(err)
		}
		if tr, _ := h.router.Transcript(ctx, to); len(tr) != 0 {
			t.Fatalf("forget left the transcript: %+v", tr)
		}
	})
}
