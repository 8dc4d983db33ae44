package telegram

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sportello/sportello/bot"
	"github.com/sportello/sportello/bot/store/storetest"
	"github.com/sportello/sportello/bot/telegram/telegramtest"
	"github.com/sportello/sportello/locales"
)

// echoResponder is a small stand-in for the flow engine: it echoes, offers buttons, edits a
// menu in place, and fails or panics on request. It records what it was asked and checks that
// no two messages of one conversation are ever handled at once.
type echoResponder struct {
	delay time.Duration
	calls atomic.Int64

	mu   sync.Mutex
	seen map[string][]bot.Inbound
	busy map[string]bool
}

func (e *echoResponder) Respond(_ context.Context, s *bot.Session, in bot.Inbound) ([]bot.Reply, error) {
	e.calls.Add(1)
	e.mu.Lock()
	if e.seen == nil {
		e.seen, e.busy = map[string][]bot.Inbound{}, map[string]bool{}
	}
	if e.busy[in.Conversation] {
		e.mu.Unlock()
		panic("two messages of one conversation handled at once")
	}
	e.busy[in.Conversation] = true
	e.seen[in.Conversation] = append(e.seen[in.Conversation], in)
	delay := e.delay
	e.mu.Unlock()
	defer func() {
		e.mu.Lock()
		e.busy[in.Conversation] = false
		e.mu.Unlock()
	}()
	if strings.HasPrefix(in.Text, "slow") {
		delay = 1300 * time.Millisecond
	}
	time.Sleep(delay)
	again := [][]bot.Button{{{Label: "Again", Action: "again"}}}
	switch {
	case in.Action == "menu:2":
		return []bot.Reply{{Text: "**Menu** page 2", Edit: true, Buttons: [][]bot.Button{{{Label: "Back", Action: "menu:1"}}}}}, nil
	case in.Action == "menu:1":
		return []bot.Reply{{Text: "**Menu** page 1", Edit: true, Buttons: [][]bot.Button{{{Label: "Next", Action: "menu:2"}}}}}, nil
	case in.Action != "":
		return []bot.Reply{{Text: "pressed " + in.Action}}, nil
	case in.Media != bot.MediaNone:
		return []bot.Reply{{Text: "media " + string(in.Media) + " " + in.Text}}, nil
	case in.Text == "menu":
		return []bot.Reply{{Text: "**Menu** page 1", Buttons: [][]bot.Button{{{Label: "Next", Action: "menu:2"}}}}}, nil
	case strings.HasPrefix(in.Text, "explode"):
		panic("boom")
	case strings.HasPrefix(in.Text, "fail"):
		return nil, errors.New("responder failure")
	case strings.HasPrefix(in.Text, "many"):
		n, _ := strconv.Atoi(strings.TrimPrefix(in.Text, "many "))
		var out []bot.Reply
		for i := range n {
			out = append(out, bot.Reply{Text: fmt.Sprintf("part %d", i+1)})
		}
		return out, nil
	case in.Text == "long":
		return []bot.Reply{{Text: longText(), Buttons: again}}, nil
	case strings.HasPrefix(in.Text, "staff"):
		return []bot.Reply{{Text: "from the desk: " + in.Text, Staff: true}}, nil
	}
	return []bot.Reply{{Text: "echo: " + in.Text, Buttons: again}}, nil
}

func (e *echoResponder) inbound(conv string) []bot.Inbound {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]bot.Inbound(nil), e.seen[conv]...)
}

// harness is a Telegram channel wired to a real router, a store and the fake Bot API.
type harness struct {
	t      *testing.T
	srv    *telegramtest.Server
	store  bot.Store
	router *bot.Router
	echo   *echoResponder
	ch     *Channel
	cfg    Config
	logs   *storetest.SyncBuffer
	stop   func()
	// hooks applied to every channel the harness makes
	setup func(c *Channel)
}

var catalog = func() *locales.Catalog {
	c, err := locales.Load()
	if err != nil {
		panic(err)
	}
	return c
}()

func newRouter(store bot.Store, r bot.Responder, log *slog.Logger) *bot.Router {
	return &bot.Router{
		Store:         store,
		Sessions:      bot.Sessions{Store: store, IdleTTL: time.Hour},
		Locker:        bot.Locker{Store: store, TTL: 10 * time.Second},
		Responder:     r,
		Languages:     bot.NewLanguages(catalog.Languages(), "en", nil),
		Texts:         catalog,
		Clock:         bot.SystemClock{},
		Log:           log,
		DedupeTTL:     time.Hour,
		TranscriptTTL: time.Hour,
	}
}

// newHarness makes a harness on the embedded store (or the given one), with the fake's and
// the outbox's rate limits off unless the test turns them on.
func newHarness(t *testing.T, store bot.Store) *harness {
	t.Helper()
	if store == nil {
		store = storetest.NewBolt(t, nil)
	}
	h := &harness{t: t, srv: telegramtest.New(t), store: store, echo: &echoResponder{}, logs: &storetest.SyncBuffer{}}
	h.srv.SetLimits(telegramtest.NoLimits)
	h.router = newRouter(store, h.echo, slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	h.cfg = Config{Token: h.srv.Token(), APIURL: h.srv.URL(), Limits: NoLimits, PollTimeout: 10 * time.Second, TypingDelay: time.Second}
	return h
}

// open creates a channel (without running it).
func (h *harness) open() *Channel {
	h.t.Helper()
	ch, err := New(context.Background(), h.cfg, h.store, h.router, catalog, slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if err != nil {
		h.t.Fatal(err)
	}
	ch.scanEvery = 200 * time.Millisecond
	ch.retryBackoff = func(int) time.Duration { return 20 * time.Millisecond }
	if h.setup != nil {
		h.setup(ch)
	}
	return ch
}

// start opens and runs a channel until the test ends (or stopRun).
func (h *harness) start() *Channel {
	h.t.Helper()
	h.ch = h.open()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	ch := h.ch
	go func() { done <- ch.Run(ctx) }()
	var once sync.Once
	h.stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					h.t.Errorf("Run: %v", err)
				}
			case <-time.After(20 * time.Second):
				h.t.Error("Run did not stop")
			}
		})
	}
	h.t.Cleanup(h.stop)
	return h.ch
}

func (h *harness) stopRun() { h.stop() }

// texts waits for n messages in a chat and returns their texts.
func (h *harness) texts(chatID int64, n int) []string {
	h.t.Helper()
	return telegramtest.Texts(h.srv.WaitSent(chatID, n))
}

// settle waits a little and checks that nothing more than n messages arrive in a chat.
func (h *harness) expectExactly(chatID int64, n int) []telegramtest.Sent {
	h.t.Helper()
	got := h.srv.WaitSent(chatID, n)
	time.Sleep(300 * time.Millisecond)
	if more := h.srv.Sent(chatID); len(more) != n {
		h.t.Fatalf("chat %d: want exactly %d messages, got %d: %q", chatID, n, len(more), telegramtest.Texts(more))
	}
	return got
}

func (h *harness) noRejections() {
	h.t.Helper()
	if r := h.srv.Rejected(); len(r) > 0 {
		h.t.Fatalf("the Bot API refused requests: %+v", r)
	}
}

func chatKey(id int64) string { return strconv.FormatInt(id, 10) }
