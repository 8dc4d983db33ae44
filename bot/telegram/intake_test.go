package telegram

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-telegram/bot/models"

	"github.com/sportello/sportello/bot"
	"github.com/sportello/sportello/bot/telegram/telegramtest"
)

func intakeLen(t *testing.T, store bot.Store, c *Channel) int {
	t.Helper()
	e, err := store.IndexRange(context.Background(), c.intakeKey(), math.Inf(-1), math.Inf(1), 0)
	if err != nil {
		t.Fatal(err)
	}
	return len(e)
}

func TestRecordedThenStoppedIsHandledOnceAfterRestart(t *testing.T) {
	for _, name := range []string{"bolt", "redis"} {
		t.Run(name, func(t *testing.T) {
			var store bot.Store
			if name == "redis" {
				store = redisStore(t)
			}
			h := newHarness(t, store)
			h.setup = func(c *Channel) { c.holdConsume.Store(true) }
			ch := h.start()
			u := h.srv.NewUser("en")
			h.srv.SendText(u, "one")
			h.srv.SendText(u, "two")
			// Recorded and confirmed to Telegram, but not handled.
			if !h.srv.WaitFor(5*time.Second, func() bool { return intakeLen(t, h.store, ch) == 2 && h.srv.Pending() == 0 }) {
				t.Fatalf("not recorded: intake %d, pending at Telegram %d", intakeLen(t, h.store, ch), h.srv.Pending())
			}
			h.stopRun()
			if h.echo.calls.Load() != 0 || h.srv.SentCount(u.ID) != 0 {
				t.Fatal("handled while held")
			}
			h.setup = nil
			h.start()
			got := telegramtest.Texts(h.expectExactly(u.ID, 2))
			if got[0] != "echo: one" || got[1] != "echo: two" || h.echo.calls.Load() != 2 {
				t.Fatalf("after restart: %q (%d handled)", got, h.echo.calls.Load())
			}
			if !h.srv.WaitFor(2*time.Second, func() bool { return intakeLen(t, h.store, h.ch) == 0 }) {
				t.Fatalf("%d updates left in the intake", intakeLen(t, h.store, h.ch))
			}
		})
	}
}

func TestUnconfirmedUpdatesAreFetchedAgain(t *testing.T) {
	t.Parallel()
	// The store fails while recording: the offset does not move, Telegram keeps the updates,
	// and they are handled once the store is back.
	h := newHarness(t, nil)
	flaky := &flakyStore{Store: h.store}
	h.store = flaky
	h.router = newRouter(flaky, h.echo, h.router.Log)
	flaky.failIndexAdd.Store(2)
	h.start()
	u := h.srv.NewUser("en")
	h.srv.SendText(u, "hello")
	if got := h.texts(u.ID, 1); got[0] != "echo: hello" {
		t.Fatalf("%q", got)
	}
	if flaky.failIndexAdd.Load() > 0 {
		t.Fatal("the store never failed")
	}
	h.expectExactly(u.ID, 1)
}

func TestDuplicateUpdateHandledOnce(t *testing.T) {
	h := newHarness(t, nil)
	h.start()
	u := h.srv.NewUser("en")
	m := h.srv.SendText(u, "hello")
	h.srv.WaitSent(u.ID, 1)
	h.srv.Redeliver(m.UpdateID) // Telegram did not see the confirmation
	h.srv.Redeliver(m.UpdateID)
	h.srv.SendText(u, "next")
	got := telegramtest.Texts(h.expectExactly(u.ID, 2))
	if got[1] != "echo: next" || h.echo.calls.Load() != 2 {
		t.Fatalf("%q, %d handled", got, h.echo.calls.Load())
	}
}

func TestDuplicateAcrossReplicasHandledOnce(t *testing.T) {
	// Two replicas on one Redis receive the same update (a webhook redelivery reaching the
	// other replica): it is handled once.
	store := redisStore(t)
	h := newHarness(t, store)
	a := h.open()
	b := h.open()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	doneA, doneB := make(chan error), make(chan error)
	go func() { doneA <- a.Run(ctx) }()
	go func() { doneB <- b.Run(ctx) }()
	defer func() { cancel(); <-doneA; <-doneB }()
	u := h.srv.NewUser("en")
	h.srv.SendText(u, "hi") // the chat
	h.srv.WaitSent(u.ID, 1)
	raw := `{"update_id":999000001,"message":{"message_id":77,"date":1,"chat":{"id":` + chatKey(u.ID) + `,"type":"private"},"from":{"id":` + chatKey(u.ID) + `,"is_bot":false,"first_name":"A"},"text":"twice"}}`
	for _, c := range []*Channel{a, b, a} {
		if _, err := c.record(ctx, []json.RawMessage{json.RawMessage(raw)}); err != nil {
			t.Fatal(err)
		}
	}
	got := telegramtest.Texts(h.expectExactly(u.ID, 2))
	if got[1] != "echo: twice" {
		t.Fatalf("%q", got)
	}
}

func TestWebhookModeSecretAndDurableAnswer(t *testing.T) {
	h := newHarness(t, nil)
	flaky := &flakyStore{Store: h.store}
	h.store = flaky
	h.router = newRouter(flaky, h.echo, h.router.Log)
	var handler atomic.Value
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		handler.Load().(http.Handler).ServeHTTP(w, r)
	}))
	defer hook.Close()
	h.cfg.WebhookURL = hook.URL + "/telegram/webhook"
	h.cfg.WebhookSecret = "desk-secret_1"
	ch := h.start()
	handler.Store(ch.WebhookHandler())
	if !h.srv.WaitFor(5*time.Second, func() bool { return h.srv.WebhookInfo().URL == h.cfg.WebhookURL }) {
		t.Fatalf("webhook not set: %+v", h.srv.WebhookInfo())
	}
	if ch.Config().Mode != ModeWebhook {
		t.Fatalf("mode %q", ch.Config().Mode)
	}

	// A forged update without the secret: 401, not recorded.
	req, _ := http.NewRequest(http.MethodPost, hook.URL+"/telegram/webhook", strings.NewReader(`{"update_id":1,"message":{"message_id":1,"date":1,"chat":{"id":5,"type":"private"},"from":{"id":5,"is_bot":false,"first_name":"x"},"text":"/forget"}}`))
	req.Header.Set("X-Telegram-Bot-Api-Secret-Token", "wrong")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("wrong secret: %d", resp.StatusCode)
	}

	// The store is down: Telegram gets 500 and retries; nothing is lost.
	flaky.failIndexAdd.Store(2)
	u := h.srv.NewUser("de")
	h.srv.SendText(u, "Hallo")
	if got := h.texts(u.ID, 1); got[0] != "echo: Hallo" {
		t.Fatalf("%q", got)
	}
	var statuses []int
	for _, d := range h.srv.Deliveries() {
		statuses = append(statuses, d.Status)
	}
	if len(statuses) != 3 || statuses[0] != 500 || statuses[1] != 500 || statuses[2] != 200 {
		t.Fatalf("webhook answers %v", statuses)
	}
	h.expectExactly(u.ID, 1)
	if h.echo.calls.Load() != 1 {
		t.Fatalf("handled %d times", h.echo.calls.Load())
	}
	h.noRejections()
}

func TestPoisonUpdatesAnsweredRecordedSkipped(t *testing.T) {
	h := newHarness(t, nil)
	var failing atomic.Int32
	h.setup = func(c *Channel) {
		c.beforeHandle = func(u *models.Update) error {
			if u.Message != nil && u.Message.Text == "poison" {
				panic("adapter bug")
			}
			if u.Message != nil && u.Message.Text == "store down" {
				failing.Add(1)
				return errors.New("store unavailable")
			}
			return nil
		}
	}
	ch := h.start()
	u := h.srv.NewUser("it")
	generic := catalog.T("it", "error.generic", nil)

	h.srv.SendText(u, "poison")
	h.srv.SendText(u, "after")
	if got := h.texts(u.ID, 2); got[0] != generic || got[1] != "echo: after" {
		t.Fatalf("panic: %q", got)
	}
	h.srv.SendText(u, "store down")
	h.srv.SendText(u, "later")
	if got := h.texts(u.ID, 4); got[2] != generic || got[3] != "echo: later" || failing.Load() != maxAttempts {
		t.Fatalf("failing handler: %q after %d attempts", got, failing.Load())
	}
	// An update the client library cannot decode.
	h.srv.Inject("message", `{"message":{"message_id":"not-a-number","date":1,"chat":{"id":`+chatKey(u.ID)+`,"type":"private"},"from":{"id":`+chatKey(u.ID)+`,"is_bot":false,"first_name":"A","language_code":"it"},"text":"x"}}`)
	h.srv.SendText(u, "still here")
	if got := h.texts(u.ID, 6); got[4] != generic || got[5] != "echo: still here" {
		t.Fatalf("undecodable: %q", got)
	}
	// A panic in the flow engine is the router's: answered, and the chat goes on.
	h.srv.SendText(u, "explode")
	h.srv.SendText(u, "fine")
	if got := h.texts(u.ID, 8); got[6] != generic || got[7] != "echo: fine" {
		t.Fatalf("responder panic: %q", got)
	}
	poisoned, err := ch.Poisoned(context.Background())
	if err != nil || len(poisoned) != 3 || poisoned[0].Reason != "panic" || poisoned[2].Reason != "undecodable" {
		t.Fatalf("poison log %+v %v", poisoned, err)
	}
	if strings.Contains(h.logs.String(), "poison\"") || strings.Contains(h.logs.String(), chatKey(u.ID)) {
		t.Fatal("message text or chat id in the logs")
	}
	if !h.srv.WaitFor(2*time.Second, func() bool { return intakeLen(t, h.store, ch) == 0 }) {
		t.Fatalf("%d updates stuck", intakeLen(t, h.store, ch))
	}
}

func TestLargeUpdateStoredBesideTheIndex(t *testing.T) {
	h := newHarness(t, nil)
	h.start()
	u := h.srv.NewUser("en")
	long := strings.Repeat("ب", 3990) // ~8 KB of UTF-8, over the inline limit with the envelope
	h.srv.SendText(u, long)
	if got := h.texts(u.ID, 1); got[0] != "echo: "+long {
		t.Fatalf("long update: %d chars", len(got[0]))
	}
}

// flakyStore fails the intake's write (an index add, alone or in a batch) a number of times.
type flakyStore struct {
	bot.Store
	failIndexAdd atomic.Int32
}

func (f *flakyStore) fails(key string) bool {
	return strings.HasSuffix(key, ":intake") && f.failIndexAdd.Add(-1) >= 0
}

func (f *flakyStore) IndexAdd(ctx context.Context, key, member string, score float64) error {
	if f.fails(key) {
		return errors.New("store unavailable")
	}
	return f.Store.IndexAdd(ctx, key, member, score)
}

func (f *flakyStore) Batch(ctx context.Context, ops ...bot.Op) error {
	for _, op := range ops {
		if op.Kind == bot.OpIndexAdd && f.fails(op.Key) {
			return errors.New("store unavailable")
		}
	}
	return f.Store.Batch(ctx, ops...)
}
