package main

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sportello/sportello/bot"
	"github.com/sportello/sportello/bot/store/storetest"
	"github.com/sportello/sportello/bot/telegram/telegramtest"
)

// TestTelegramConversation is a whole conversation as a user has it on Telegram, through the
// real go-telegram/bot client, the fake Bot API server and `serve`'s wiring: the deep link
// /start ravenna → a free-text question in Arabic → the answer with its source as a link →
// the menu button → the cost calculator's steps → /human → the handoff acknowledged. Once with
// the embedded store, once with Redis.
func TestTelegramConversation(t *testing.T) {
	for _, store := range []string{"bolt", "redis"} {
		t.Run(store, func(t *testing.T) {
			m, tg := openTelegramMain(t, store)
			runTestMain(t, m)
			c := newTelegramChat(t, m, tg, "ar")
			ar := c.text

			c.tg.Start(c.user, "ravenna")
			c.saw(ar("welcome.text", map[string]any{"Desk": "Ravenna"}))
			c.saw(ar("menu.title", nil))

			c.say("كم لازم ادفع لتجديد الاقامة سنتين؟")
			answer := c.saw("80.46 €")
			if got := answer.Links()["Italiahello: how much to pay to renew the permit"]; !strings.HasPrefix(got, "https://italiahello.it/") {
				t.Errorf("the answer has no source link; links %v in %q", answer.Links(), answer.Text)
			}
			if !strings.Contains(answer.Text, ar("answer.source", nil)) {
				t.Errorf("the answer does not say %q: %q", ar("answer.source", nil), answer.Text)
			}

			c.press(ar("menu.back", nil))
			c.saw(ar("menu.title", nil))
			c.press(ar("menu.cost", nil))
			c.saw(ar("cost.ask_duration", nil))
			c.press(ar("cost.dur_2y", nil))
			c.saw("126.46 €")

			c.say("/human")
			// In or out of office hours (the test runs on the real clock), the user is told what
			// happens next and can cancel; the ticket is open.
			ack := c.tg.WaitSent(c.user.ID, c.seen+1)[c.seen]
			if len(ack.Buttons()) == 0 || ack.Buttons()[0].Text != ar("handoff.cancel_button", nil) {
				t.Errorf("handoff acknowledgement: %q %v", ack.Text, ack.Buttons())
			}
			// The session is saved as the handling ends, just after the reply went out.
			if !c.tg.WaitFor(5*time.Second, func() bool { return c.session().Ticket != "" }) {
				t.Errorf("no ticket after /human: %+v", c.session())
			}
			// While the ticket is open the bot stays quiet: staff answer.
			before := c.tg.SentCount(c.user.ID)
			c.tg.SendText(c.user, "شكرا")
			time.Sleep(200 * time.Millisecond)
			if n := c.tg.SentCount(c.user.ID); n != before {
				t.Errorf("the bot answered during the handoff: %q", telegramtest.Texts(c.tg.Sent(c.user.ID)[before:]))
			}
		})
	}
}

// openTelegramMain opens Sportello connected to a fake Telegram (without rate limits), on the
// embedded store or on Redis.
func openTelegramMain(t *testing.T, store string) (*Main, *telegramtest.Server) {
	tg := telegramtest.New(t)
	tg.SetLimits(telegramtest.NoLimits)
	env := map[string]string{"TELEGRAM_TOKEN": tg.Token(), "TELEGRAM_API_URL": tg.URL()}
	return openStoreMain(t, store, env), tg
}

// openStoreMain opens Sportello on the embedded store ("bolt") or on the test Redis ("redis").
func openStoreMain(t testing.TB, store string, env map[string]string) *Main {
	if store == "redis" {
		return openTestMain(t, env, storetest.NewRedis(t))
	}
	return openTestMain(t, env)
}

// runTestMain serves m on its ":0" port. stop (called at the end of the test if the test does
// not) ends it as SIGTERM does and fails the test unless it shuts down gracefully.
func runTestMain(t *testing.T, m *Main) (stop func()) {
	t.Helper()
	if err := m.Listen(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("run: %v", err)
				}
			case <-time.After(30 * time.Second):
				t.Error("no graceful shutdown")
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// telegramChat is one user's private chat with Sportello on the fake Telegram, as the user
// sees it.
type telegramChat struct {
	t    *testing.T
	m    *Main
	tg   *telegramtest.Server
	user telegramtest.User
	lang string
	seen int // messages of the chat already looked at by saw
}

func newTelegramChat(t *testing.T, m *Main, tg *telegramtest.Server, lang string) *telegramChat {
	return &telegramChat{t: t, m: m, tg: tg, user: tg.NewUser(lang), lang: lang}
}

// text is a UI string in the user's language as Telegram shows it (markup removed).
func (c *telegramChat) text(id string, data map[string]any) string {
	return bot.PlainText(bot.ParseMarkup(c.m.Texts.T(c.lang, id, data)))
}

// say sends a text message.
func (c *telegramChat) say(text string) { c.tg.SendText(c.user, text) }

// saw waits for a message (sent or edited) newer than the last one saw returned that
// contains text, and returns it.
func (c *telegramChat) saw(text string) telegramtest.Sent {
	c.t.Helper()
	var found telegramtest.Sent
	ok := c.tg.WaitFor(10*time.Second, func() bool {
		for i, s := range c.tg.Sent(c.user.ID) {
			if i >= c.seen && strings.Contains(s.Text, text) {
				found, c.seen = s, i+1
				return true
			}
		}
		return false
	})
	if !ok {
		c.t.Fatalf("the Telegram chat never showed %q; it shows %q", text, telegramtest.Texts(c.tg.Sent(c.user.ID)))
	}
	return found
}

// press presses the newest button whose label contains label, and waits for the bot to send
// or edit a message.
func (c *telegramChat) press(label string) {
	c.t.Helper()
	msgs := c.tg.Sent(c.user.ID)
	for i := len(msgs) - 1; i >= 0; i-- {
		for _, b := range msgs[i].Buttons() {
			if strings.Contains(b.Text, label) {
				c.tg.Press(c.user, c.user.ID, msgs[i].MessageID, b.Text)
				c.tg.WaitSent(c.user.ID, len(msgs)+1)
				return
			}
		}
	}
	c.t.Fatalf("no button %q in the Telegram chat", label)
}

// session is the user's session as the router keeps it.
func (c *telegramChat) session() *bot.Session {
	c.t.Helper()
	s, err := c.m.Router.Sessions.Load(context.Background(), bot.Address{Channel: "telegram", Conversation: strconv.FormatInt(c.user.ID, 10)}, c.m.Clock.Now())
	if err != nil {
		c.t.Fatal(err)
	}
	return s
}
