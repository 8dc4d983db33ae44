package telegram

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sportello/sportello/bot"
	"github.com/sportello/sportello/bot/telegram/telegramtest"
)

func TestBadTokenFailsClearly(t *testing.T) {
	h := newHarness(t, nil)
	h.cfg.Token = "123456:not-the-token"
	_, err := New(context.Background(), h.cfg, h.store, h.router, catalog, nil)
	if err == nil || !strings.Contains(err.Error(), "rejected the bot token") || !strings.Contains(err.Error(), "TELEGRAM_TOKEN") {
		t.Fatalf("bad token: %v", err)
	}
	if strings.Contains(err.Error(), "not-the-token") {
		t.Fatalf("the token leaks into the error: %v", err)
	}
	h.cfg.Token = h.srv.Token()
	h.cfg.APIURL = "http://127.0.0.1:1"
	if _, err := New(context.Background(), h.cfg, h.store, h.router, catalog, nil); err == nil || !strings.Contains(err.Error(), "cannot check the bot token") {
		t.Fatalf("unreachable API: %v", err)
	}
}

func TestTextAnswerWithButtonsAndCommands(t *testing.T) {
	h := newHarness(t, nil)
	ch := h.start()
	if ch.BotUsername() != h.srv.Bot().Username {
		t.Fatalf("bot username %q", ch.BotUsername())
	}
	u := h.srv.NewUser("it")
	m := h.srv.SendText(u, "ciao")
	got := h.srv.WaitSent(u.ID, 1)
	if got[0].Text != "echo: ciao" || got[0].ParseMode != "HTML" || !got[0].NoPreview {
		t.Fatalf("reply %+v", got[0])
	}
	if b := got[0].Buttons(); len(b) != 1 || b[0].Text != "Again" || b[0].CallbackData != "again" {
		t.Fatalf("buttons %+v", b)
	}
	in := h.echo.inbound(chatKey(u.ID))[0]
	if in.Channel != "telegram" || in.User != chatKey(u.ID) || in.LangHint != "it" || in.MessageID != "1" || in.Group || in.At.IsZero() {
		t.Fatalf("inbound %+v (message %d)", in, m.MessageID)
	}
	// The command menu, by default and per language.
	// The channel sets them one language after the other at start-up.
	missing := func() (out []string) {
		for _, l := range catalog.Languages() {
			if code := telegramLanguage(l); code != "" && len(h.srv.Commands("default", code)) != 6 {
				out = append(out, code)
			}
		}
		return out
	}
	h.srv.WaitFor(10*time.Second, func() bool { return len(missing()) == 0 })
	cmds := h.srv.Commands("default", "")
	if len(cmds) != 6 || cmds[0].Command != "start" || cmds[0].Description != catalog.T("en", "command.start", nil) {
		t.Fatalf("default commands %+v", cmds)
	}
	if m := missing(); len(m) > 0 {
		t.Errorf("no commands for %v", m)
	}
	h.noRejections()
}

func TestDeepLinkStartPassesDesk(t *testing.T) {
	h := newHarness(t, nil)
	h.start()
	u := h.srv.NewUser("en")
	h.srv.Start(u, "ravenna")
	if got := h.texts(u.ID, 1); got[0] != "echo: /start ravenna" {
		t.Fatalf("deep link: %q", got)
	}
	// The same command with the bot's name, as clients send it from a menu.
	h.srv.SendText(u, "/help@"+h.srv.Bot().Username)
	if got := h.texts(u.ID, 2); got[1] != "echo: /help" {
		t.Fatalf("command with @bot: %q", got)
	}
}

func TestEveryUpdateKind(t *testing.T) {
	h := newHarness(t, nil)
	h.start()
	u := h.srv.NewUser("ar")
	n := 0
	expect := func(want string) {
		t.Helper()
		n++
		if got := h.texts(u.ID, n); got[n-1] != want {
			t.Fatalf("reply %d: %q, want %q", n, got[n-1], want)
		}
	}
	media := []struct {
		kind string
		want bot.Media
	}{
		{telegramtest.Photo, bot.MediaPhoto}, {telegramtest.Document, bot.MediaDocument}, {telegramtest.Voice, bot.MediaVoice},
		{telegramtest.Video, bot.MediaVideo}, {telegramtest.VideoNote, bot.MediaVideo}, {telegramtest.Sticker, bot.MediaSticker},
		{telegramtest.Location, bot.MediaLocation}, {telegramtest.Venue, bot.MediaLocation}, {telegramtest.Contact, bot.MediaContact},
		{telegramtest.Animation, bot.MediaOther}, {telegramtest.Audio, bot.MediaOther}, {telegramtest.Poll, bot.MediaOther},
		{telegramtest.Dice, bot.MediaOther},
	}
	for _, m := range media {
		h.srv.Post(telegramtest.Input{From: u, Media: m.kind})
		expect("media " + string(m.want))
	}
	h.srv.Post(telegramtest.Input{From: u, Media: telegramtest.Photo, Caption: "il mio permesso"})
	expect("media photo il mio permesso")

	// An edited message is answered as a new question, and a second edit again.
	msg := h.srv.SendText(u, "quanto costa")
	expect("echo: quanto costa")
	h.srv.Edit(msg, "quanto costa il rinnovo")
	expect("echo: quanto costa il rinnovo")
	h.srv.Edit(msg, "quanto costa il permesso")
	expect("echo: quanto costa il permesso")
	ins := h.echo.inbound(chatKey(u.ID))
	last := ins[len(ins)-1]
	if !last.Edited || !strings.HasPrefix(last.MessageID, strconv.Itoa(msg.MessageID)+"e") || last.MessageID == ins[len(ins)-2].MessageID {
		t.Fatalf("edited inbound %+v / %+v", last, ins[len(ins)-2])
	}

	// A button press: answered at once, handled with the action.
	sent := h.srv.Sent(u.ID)
	q := h.srv.Press(u, u.ID, sent[len(sent)-1].MessageID, "Again")
	expect("pressed again")
	if _, ok := h.srv.Answered(q); !ok {
		t.Fatal("callback query not answered")
	}
	if in := h.echo.inbound(chatKey(u.ID)); in[len(in)-1].Action != "again" || in[len(in)-1].Text != "" {
		t.Fatalf("callback inbound %+v", in[len(in)-1])
	}

	// Service messages and bots are not answered.
	h.srv.Inject("message", `{"message":{"message_id":900,"date":1,"chat":{"id":`+chatKey(u.ID)+`,"type":"private"},"from":{"id":`+chatKey(u.ID)+`,"is_bot":false,"first_name":"A"},"pinned_message":{"message_id":1,"date":1,"chat":{"id":`+chatKey(u.ID)+`,"type":"private"}}}}`)
	h.srv.SendText(u, "after")
	expect("echo: after")
	h.noRejections()
}

func TestEditInPlaceAndCallbackAnswers(t *testing.T) {
	h := newHarness(t, nil)
	h.start()
	u := h.srv.NewUser("en")
	h.srv.SendText(u, "menu")
	menu := h.srv.WaitSent(u.ID, 1)[0]
	if menu.Text != "Menu page 1" || menu.Entities[0].Type != "bold" {
		t.Fatalf("menu %+v", menu)
	}
	q1 := h.srv.Press(u, u.ID, menu.MessageID, "Next")
	got := h.srv.WaitSent(u.ID, 2)
	if got[1].Method != "editMessageText" || got[1].MessageID != menu.MessageID || got[1].Text != "Menu page 2" {
		t.Fatalf("edit %+v", got[1])
	}
	q2 := h.srv.Press(u, u.ID, menu.MessageID, "Back")
	h.srv.WaitSent(u.ID, 3)
	if h.srv.BotMessages(u.ID) != 1 {
		t.Fatalf("menus piled up: %d bot messages", h.srv.BotMessages(u.ID))
	}
	for _, q := range []string{q1, q2} {
		if _, ok := h.srv.Answered(q); !ok {
			t.Fatalf("query %s not answered", q)
		}
	}
	// A forged payload longer than callback_data allows is still answered (the router drops it).
	q3 := h.srv.PressData(u, u.ID, menu.MessageID, "x")
	h.srv.WaitSent(u.ID, 4)
	if _, ok := h.srv.Answered(q3); !ok {
		t.Fatal("forged query not answered")
	}
	h.noRejections()
}

func TestGroupOnlyWhenAddressed(t *testing.T) {
	h := newHarness(t, nil)
	ch := h.start()
	g := h.srv.NewGroup("Mediatori Ravenna", telegramtest.Supergroup)
	u := h.srv.NewUser("fr")
	post := func(text string, replyTo int) telegramtest.Message {
		return h.srv.Post(telegramtest.Input{From: u, Chat: g, Text: text, ReplyTo: replyTo})
	}
	post("bonjour à tous", 0)        // chatter: ignored
	post("/help@other_bot", 0)       // another bot's command: ignored
	post("@someone_else regarde", 0) // another mention: ignored
	q := post("@"+ch.BotUsername()+" combien coûte le renouvellement ?", 0)
	got := h.srv.WaitSent(g.ID, 1)
	if got[0].Text != "echo: combien coûte le renouvellement ?" || got[0].ReplyTo != q.MessageID {
		t.Fatalf("mention: %+v", got[0])
	}
	post("/menu@"+ch.BotUsername(), 0)
	post("merci", got[0].MessageID) // a reply to the bot
	post("/help", 0)
	texts := h.texts(g.ID, 4)
	if texts[1] != "echo: /menu" || texts[2] != "echo: merci" || texts[3] != "echo: /help" {
		t.Fatalf("group replies %q", texts)
	}
	h.expectExactly(g.ID, 4)
	for _, in := range h.echo.inbound(chatKey(g.ID)) {
		if !in.Group || !in.Addressed || in.User != chatKey(u.ID) {
			t.Fatalf("group inbound %+v", in)
		}
	}
	h.noRejections()
}

func TestTypingWhileSlow(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	h.start()
	u := h.srv.NewUser("en")
	h.srv.SendText(u, "quick")
	h.srv.WaitSent(u.ID, 1)
	if a := h.srv.Actions(u.ID); len(a) != 0 {
		t.Fatalf("typing for a fast answer: %v", a)
	}
	h.srv.SendText(u, "slow question")
	h.srv.WaitSent(u.ID, 2)
	if a := h.srv.Actions(u.ID); !slices.Equal(a, []string{"typing"}) {
		t.Fatalf("actions %v", a)
	}
}

func TestChatOrderFiftyUpdatesFiveChats(t *testing.T) {
	for _, name := range []string{"bolt", "redis"} {
		t.Run(name, func(t *testing.T) {
			var store bot.Store
			if name == "redis" {
				store = redisStore(t)
			}
			h := newHarness(t, store)
			h.echo.delay = 3 * time.Millisecond
			h.start()
			var users []telegramtest.User
			for range 5 {
				users = append(users, h.srv.NewUser("en"))
			}
			for i := range 10 {
				for _, u := range users {
					h.srv.SendText(u, "m"+string(rune('a'+i)))
				}
			}
			for _, u := range users {
				got := h.texts(u.ID, 10)
				for i, text := range got {
					if want := "echo: m" + string(rune('a'+i)); text != want {
						t.Fatalf("chat %d out of order: %q", u.ID, got)
					}
				}
			}
			if n := h.echo.calls.Load(); n != 50 {
				t.Fatalf("%d messages handled, want 50", n)
			}
			h.noRejections()
		})
	}
}

func TestTranscriptAndSessionUseTelegramAddress(t *testing.T) {
	h := newHarness(t, nil)
	h.start()
	u := h.srv.NewUser("en")
	h.srv.SendText(u, "hello")
	h.srv.WaitSent(u.ID, 1)
	var tr []bot.TranscriptEntry
	var err error
	h.srv.WaitFor(2*time.Second, func() bool {
		tr, err = h.router.Transcript(context.Background(), bot.Address{Channel: Name, Conversation: chatKey(u.ID)})
		return len(tr) == 2
	})
	if err != nil || len(tr) != 2 || tr[0].Text != "hello" || tr[1].Text != "echo: hello" {
		t.Fatalf("transcript %+v %v", tr, err)
	}
}
