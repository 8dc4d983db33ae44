package telegram

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sportello/sportello/bot"
	"github.com/sportello/sportello/bot/store/storetest"
	"github.com/sportello/sportello/bot/telegram/telegramtest"
)

func redisStore(t *testing.T) bot.Store { return storetest.NewRedis(t) }

func countStatus(calls []telegramtest.Call, status int) int {
	n := 0
	for _, c := range calls {
		if c.Status == status {
			n++
		}
	}
	return n
}

func TestRetryAfterHonoured(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	h.start()
	u := h.srv.NewUser("en")
	h.srv.FailNext("sendMessage", 1, telegramtest.RetryAfter(1))
	start := time.Now()
	h.srv.SendText(u, "hi")
	h.expectExactly(u.ID, 1)
	calls := h.srv.Calls("sendMessage")
	if len(calls) != 2 || calls[0].Status != 429 || calls[1].Status != 200 {
		t.Fatalf("calls %+v", calls)
	}
	if gap := calls[1].At.Sub(calls[0].At); gap < time.Second {
		t.Fatalf("retried %v after a 429 with retry_after 1 (started %v ago)", gap, time.Since(start))
	}
}

func TestServerErrorsAndDroppedConnectionsRetried(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	h.start()
	u := h.srv.NewUser("en")
	h.srv.FailNext("sendMessage", 2, telegramtest.ServerError(502))
	h.srv.SendText(u, "one")
	h.expectExactly(u.ID, 1)
	h.srv.FailNext("sendMessage", 1, telegramtest.Drop())
	h.srv.SendText(u, "two")
	if got := telegramtest.Texts(h.expectExactly(u.ID, 2)); got[1] != "echo: two" {
		t.Fatalf("after a dropped connection: %q", got)
	}
	// Polling survives a dropped connection and a 5xx on getUpdates.
	h.srv.FailNext("getUpdates", 1, telegramtest.Drop())
	h.srv.FailNext("getUpdates", 1, telegramtest.ServerError(500))
	h.srv.SendText(u, "three")
	h.expectExactly(u.ID, 3)
	// A slow answer is waited for.
	h.srv.FailNext("sendMessage", 1, telegramtest.Slow(300*time.Millisecond))
	h.srv.SendText(u, "four")
	h.expectExactly(u.ID, 4)
}

func TestBlockedUserNotRetriedNorWrittenAgain(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	h.echo.delay = 200 * time.Millisecond
	ch := h.start()
	u := h.srv.NewUser("en")
	h.srv.SendText(u, "hello")
	h.srv.WaitFor(2*time.Second, func() bool { return h.echo.calls.Load() == 1 })
	h.srv.Block(u) // while the answer is being prepared: the send gets 403
	if !h.srv.WaitFor(5*time.Second, func() bool { return countStatus(h.srv.Calls("sendMessage"), 403) == 1 }) {
		t.Fatalf("no 403: %+v", h.srv.Calls("sendMessage"))
	}
	time.Sleep(500 * time.Millisecond)
	if n := len(h.srv.Calls("sendMessage")); n != 1 {
		t.Fatalf("a 403 was retried: %+v", h.srv.Calls("sendMessage"))
	}
	ctx := context.Background()
	if blocked, _ := ch.Blocked(ctx, u.ID); !blocked {
		t.Fatal("user not marked blocked")
	}
	// A staff reply days later is not even attempted.
	err := h.router.Notify(ctx, bot.Address{Channel: Name, Conversation: chatKey(u.ID)}, func(*bot.Session) []bot.Reply {
		return []bot.Reply{{Text: "your appointment", Staff: true}}
	})
	var se *bot.SendError
	if !errors.As(err, &se) || se.Failure != bot.Permanent || se.Reason != "blocked" {
		t.Fatalf("notify a blocked user: %v", err)
	}
	if n := len(h.srv.Calls("sendMessage")); n != 1 {
		t.Fatalf("wrote to a blocked user: %d calls", n)
	}
	// Unblocking resumes.
	h.srv.Unblock(u)
	if !h.srv.WaitFor(5*time.Second, func() bool { b, _ := ch.Blocked(ctx, u.ID); return !b }) {
		t.Fatal("unblock not seen")
	}
	h.srv.SendText(u, "back")
	if got := h.texts(u.ID, 1); got[0] != "echo: back" {
		t.Fatalf("after unblocking: %q", got)
	}
}

func TestChatNotFoundIsPermanent(t *testing.T) {
	h := newHarness(t, nil)
	ch := h.open()
	err := ch.Send(context.Background(), bot.Address{Channel: Name, Conversation: "424242"}, []bot.Reply{{Text: "hi"}})
	var se *bot.SendError
	if !errors.As(err, &se) || se.Failure != bot.Permanent || se.Reason != "chat not found" {
		t.Fatalf("unknown chat: %v", err)
	}
	err = ch.Send(context.Background(), bot.Address{Channel: Name, Conversation: "424242"}, []bot.Reply{{Text: "hi"}})
	if !errors.As(err, &se) || se.Reason != "blocked" || len(h.srv.Calls("sendMessage")) != 1 {
		t.Fatalf("a chat that does not exist was tried again: %v", err)
	}
}

func TestClassifiedErrorsThroughTheClient(t *testing.T) {
	h := newHarness(t, nil)
	ch := h.open()
	u := h.srv.NewUser("en")
	h.srv.SendText(u, "hi") // the chat exists now
	to := bot.Address{Channel: Name, Conversation: chatKey(u.ID)}
	cases := []struct {
		fault telegramtest.Fault
		want  bot.SendFailure
		after time.Duration
	}{
		{telegramtest.RetryAfter(7), bot.Throttled, 7 * time.Second},
		{telegramtest.ServerError(500), bot.Retryable, 0},
		{telegramtest.ServerError(502), bot.Retryable, 0},
		{telegramtest.Drop(), bot.Retryable, 0},
	}
	for _, c := range cases {
		h.srv.FailNext("sendMessage", 1, c.fault)
		failure, after := bot.Classify(ch.Send(context.Background(), to, []bot.Reply{{Text: "x"}}))
		if failure != c.want || after != c.after {
			t.Errorf("%+v: %v %v, want %v %v", c.fault, failure, after, c.want, c.after)
		}
	}
}

func TestOutboxKeepsTelegramLimits(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	h.srv.SetLimits(telegramtest.TelegramLimits)
	h.cfg.Limits = DefaultLimits
	h.start()
	u := h.srv.NewUser("en")
	h.srv.SendText(u, "many 6")
	got := h.srv.WaitSent(u.ID, 6)
	for i, m := range got {
		if m.Text != "part "+string(rune('1'+i)) {
			t.Fatalf("order: %q", telegramtest.Texts(got))
		}
	}
	if span := got[5].At.Sub(got[0].At); span < 2500*time.Millisecond {
		t.Fatalf("6 messages to one chat in %v: faster than 1/s after a burst of 3", span)
	}
	h.noRejections()
	if n := countStatus(h.srv.Calls("sendMessage"), 429); n != 0 {
		t.Fatalf("%d × 429", n)
	}
}

func TestLimiterWindows(t *testing.T) {
	t.Parallel()
	// Within any second, burst + rate must stay within Telegram's 30; within any minute, a
	// group's within 20.
	l := DefaultLimits
	if float64(l.Burst)+l.PerSecond > 30 || float64(l.GroupBurst)+l.GroupPerMinute > 20 || l.ChatBurst > 3 {
		t.Fatalf("limits exceed Telegram's: %+v", l)
	}
	lim := &limiter{l: Limits{PerSecond: 1000, Burst: 1000, GroupPerMinute: 60, GroupBurst: 2, ChatPerSecond: 1000, ChatBurst: 1000}, chats: map[int64]*bucket{}}
	ctx := context.Background()
	start := time.Now()
	for range 3 {
		if err := lim.wait(ctx, -100); err != nil {
			t.Fatal(err)
		}
	}
	if d := time.Since(start); d < 900*time.Millisecond || d > 2*time.Second {
		t.Fatalf("3 group messages at 1/s with a burst of 2 took %v", d)
	}
	lim.pause(5, 300*time.Millisecond)
	start = time.Now()
	_ = lim.wait(ctx, 5)
	if d := time.Since(start); d < 250*time.Millisecond {
		t.Fatalf("a paused chat was not held back (%v)", d)
	}
}

func TestStaffReplySurvivesRestart(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	ch := h.open()
	u := h.srv.NewUser("en")
	h.srv.SendText(u, "hi")
	to := bot.Address{Channel: Name, Conversation: chatKey(u.ID)}
	h.srv.FailNext("sendMessage", 100, telegramtest.ServerError(502)) // Telegram is down
	err := h.router.Notify(context.Background(), to, func(*bot.Session) []bot.Reply {
		return []bot.Reply{{Text: "Your appointment is on **Monday** at 9:00.", Staff: true}}
	})
	if failure, _ := bot.Classify(err); err == nil || failure != bot.Retryable {
		t.Fatalf("send while Telegram is down: %v", err)
	}
	entries, _ := h.store.IndexRange(context.Background(), ch.pendingIndex(), -1e18, 1e18, 0)
	if len(entries) != 1 {
		t.Fatalf("staff reply not persisted: %+v", entries)
	}
	h.srv.ClearFaults()
	h.start()                                           // "after the restart"
	got := telegramtest.Texts(h.expectExactly(u.ID, 2)) // with the answer to "hi"
	if n := slices.Index(got, "Your appointment is on Monday at 9:00."); n < 0 || slices.Contains(got[n+1:], got[n]) {
		t.Fatalf("resent %q", got)
	}
	if !h.srv.WaitFor(2*time.Second, func() bool {
		e, _ := h.store.IndexRange(context.Background(), ch.pendingIndex(), -1e18, 1e18, 0)
		return len(e) == 0
	}) {
		t.Fatal("delivered staff reply still pending")
	}
}

func TestEscapingNeverRefused(t *testing.T) {
	h := newHarness(t, nil)
	h.start()
	u := h.srv.NewUser("en")
	nasty := []string{
		`<b>bold?</b> & "quotes" </a> <a href="x">`,
		`1 < 2 && 3 > 2 &amp; &lt;`,
		`**not closed [link](javascript:alert(1)) [x](https://e.org/"onmouseover=)`,
		`\*escaped\* _under_ ||spoiler|| ` + "`code`",
		"مرحبا <script> 😀 &#0;",
	}
	for i, text := range nasty {
		h.srv.SendText(u, text)
		got := h.srv.WaitSent(u.ID, i+1)
		if want := "echo: " + strings.TrimSpace(text); got[i].Text != want {
			t.Errorf("user text came back as %q, want %q", got[i].Text, want)
		}
	}
	h.noRejections()
}
