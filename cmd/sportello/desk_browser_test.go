package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/sportello/sportello/bot/desk"
	"github.com/sportello/sportello/bot/desk/desktest"
	"github.com/sportello/sportello/bot/telegram/telegramtest"
)

// TestDeskInBrowser is the handoff end to end, as `sportello serve` runs it, in headless
// Chromium (Debian's chromium; under CI a missing browser fails the test): a staff member signs
// in to the console → a user on (fake) Telegram writes something the bot must not decide → the
// ticket appears in the queue live → staff claim it and reply → the user receives the reply in
// the Telegram chat → the user answers → staff see it live → staff close it → the user is back
// with the bot. Then the appointment calendar: staff publish slots in the page, the user books
// one with Telegram buttons, staff confirm it and the user is told. Every page is checked at
// 1280 px and 390 px (no sideways scrolling, every control labelled). Once with the embedded
// store, once with Redis (the handoff part).
func TestDeskInBrowser(t *testing.T) {
	desktest.Chromium(t)
	for _, store := range []string{"bolt", "redis"} {
		t.Run(store, func(t *testing.T) { deskInBrowser(t, store) })
	}
}

func deskInBrowser(t *testing.T, store string) {
	m, tg := openTelegramMain(t, store)
	ctx := context.Background()
	if err := m.Desk.AddAccount(ctx, desk.Account{Name: "mario", Role: desk.RoleStaff, Desks: []string{"ravenna"}, Lang: "en"}, desktest.Password, false); err != nil {
		t.Fatal(err)
	}
	runTestMain(t, m)
	base := "http://" + m.Addr() + "/console"
	bctx := desktest.Browser(t, 1280, 900, 50*time.Second)
	step := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		desktest.Steps(t, bctx, store+" "+what, actions...)
	}
	check := func(name string) { t.Helper(); desktest.CheckPage(t, bctx, store+"-"+name) }

	c := newTelegramChat(t, m, tg, "it")
	user := c.user
	it := c.text
	sawBot := func(text string) { t.Helper(); c.saw(text) }
	press := c.press

	// Staff sign in; the queue is live.
	step("sign in",
		chromedp.Navigate(base+"/login"),
		chromedp.SendKeys(chromedp.ID("name"), "mario"),
		chromedp.SendKeys(chromedp.ID("password"), desktest.Password),
		chromedp.Click(chromedp.ID("login-submit")),
		chromedp.WaitVisible(chromedp.ID("queue")),
		chromedp.WaitVisible(chromedp.CSS("#live-state.on")),
	)
	check("queue")

	// A user writes on Telegram about an expulsion order: staff must decide.
	began := time.Now()
	tg.SendText(user, "mi hanno dato un decreto di espulsione, cosa faccio?")
	tg.WaitSent(user.ID, 1) // the bot hands off at once
	step("the ticket appears live", chromedp.WaitVisible(chromedp.CSS("#queue li[data-id] a")))
	t.Logf("Telegram message → ticket in the open queue page: %v", time.Since(began).Round(time.Millisecond))
	id, err := chromedp.Run(bctx, chromedp.Evaluate[string](`document.querySelector("#queue li[data-id]").dataset.id`))
	if err != nil {
		t.Fatal(err)
	}
	step("claim",
		chromedp.Click(chromedp.CSS(`#queue li[data-id="`+id+`"] a`)),
		chromedp.WaitVisible(chromedp.ID("messages")),
		desktest.Poll(`document.querySelector(".before").textContent.includes("decreto di espulsione")`),
		chromedp.Click(chromedp.ID("claim")),
		chromedp.WaitVisible(chromedp.CSS("#status.s-claimed")),
	)
	check("ticket")
	step("type the reply", chromedp.SendKeys(chromedp.ID("reply-text"), "Buongiorno, di quando è il decreto?"))
	began = time.Now()
	step("send the reply", chromedp.Click(chromedp.ID("send")), chromedp.WaitVisible(chromedp.CSS(".delivery.d-delivered")))
	// As the user reads it, in their language: "Desk staff: …" without the markup.
	sawBot(it("desk.staff_reply", map[string]any{"Text": "Buongiorno, di quando è il decreto?"}))
	t.Logf("staff click on Send → reply in the Telegram chat: %v", time.Since(began).Round(time.Millisecond))

	// The user answers on Telegram; staff see it without reloading, and the bot stays quiet.
	step("stream connected", chromedp.Sleep(300*time.Millisecond))
	sent := tg.SentCount(user.ID)
	began = time.Now()
	tg.SendText(user, "è del 3 gennaio")
	step("answer appears live", desktest.Poll(`[...document.querySelectorAll("#messages li.m-user p")].some(p => p.textContent.includes("3 gennaio"))`))
	t.Logf("Telegram answer → shown live on the staff page: %v", time.Since(began).Round(time.Millisecond))
	if n := tg.SentCount(user.ID); n != sent {
		t.Fatalf("the bot answered during the handoff: %q", telegramtest.Texts(tg.Sent(user.ID))[sent:])
	}

	step("close",
		chromedp.SetValue(chromedp.ID("outcome"), "resolved"),
		chromedp.Click(chromedp.ID("close")),
		chromedp.WaitVisible(chromedp.CSS(".closed-info")),
	)
	sawBot(it("handoff.closed", nil))
	// Back with the bot: a question gets an answer from the knowledge base.
	tg.SendText(user, "quanto costa il rinnovo del permesso di soggiorno?")
	sawBot("bollettino")

	if store == "redis" {
		// The appointment journey below paces several Telegram messages (about a second each);
		// it runs once, with the embedded store. bot/desk tests appointments on both stores.
		step("phone", chromedp.EmulateViewport(390, 844), chromedp.Navigate(base+"/tickets/"+id), chromedp.WaitVisible(chromedp.ID("messages")))
		check("ticket-390")
		return
	}
	// Appointments: staff publish slots in the calendar page (an opening day at least three
	// days ahead, 09:00–10:00 in Ravenna, every 30 minutes, in person).
	rome, _ := time.LoadLocation("Europe/Rome")
	day := time.Now().In(rome).AddDate(0, 0, 3)
	for day.Weekday() == time.Saturday || day.Weekday() == time.Sunday {
		day = day.AddDate(0, 0, 1)
	}
	date := day.Format("2006-01-02")
	step("publish slots",
		chromedp.Navigate(base+"/appointments?desk=ravenna&from="+date),
		chromedp.WaitVisible(chromedp.CSS(`input[name="date"]`)),
		chromedp.SetValue(chromedp.CSS(`input[name="date"]`), date),
		chromedp.SetValue(chromedp.CSS(`input[name="to"]`), "10:00"),
		chromedp.Click(chromedp.CSS(".publish button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS(".flash")),
		chromedp.WaitVisible(chromedp.CSS("li.slot.free")),
	)
	// The user books the first one with Telegram buttons.
	before := tg.SentCount(user.ID)
	tg.SendText(user, "/menu")
	tg.WaitSent(user.ID, before+1)
	press(m.Texts.T("it", "menu.appointment", nil))
	press(m.Texts.T("it", "appointment.topic_permit", nil))
	press(m.Texts.T("it", "appointment.ready_yes", nil))
	// The slot as the Italian user reads it: "gio 26/11/2026, ore 09:00".
	weekday := "desk.day." + strings.ToLower(day.Weekday().String()[:3])
	slot := it("desk.appt.when", map[string]any{"Weekday": it(weekday, nil), "Date": m.Texts.Date("it", day), "Time": "09:00"})
	press(slot)
	sawBot(slot)
	// Staff see the booking in the calendar and confirm it; the user is told.
	step("confirm",
		chromedp.Navigate(base+"/appointments?desk=ravenna&from="+date),
		chromedp.WaitVisible(chromedp.CSS(`form[action$="/confirm"] button`)),
	)
	check("appointments")
	n := tg.SentCount(user.ID)
	step("confirm click", chromedp.Click(chromedp.CSS(`form[action$="/confirm"] button`)), chromedp.WaitVisible(chromedp.CSS(".flash.ok")))
	if !tg.WaitFor(10*time.Second, func() bool { return tg.SentCount(user.ID) > n }) {
		t.Fatal("the user was not told about the confirmation")
	}
	if got := tg.Sent(user.ID)[n].Text; !strings.Contains(got, m.Texts.Date("it", day)) {
		t.Fatalf("confirmation notice: %q", got)
	}

	// The same pages on a phone.
	step("phone", chromedp.EmulateViewport(390, 844), chromedp.Navigate(base+"/tickets/"+id), chromedp.WaitVisible(chromedp.ID("messages")))
	check("ticket-390")
	step("phone queue", chromedp.Navigate(base+"/?status=closed"), chromedp.WaitVisible(chromedp.CSS(`#queue li[data-id="`+id+`"]`)))
	check("queue-390")
	step("phone calendar", chromedp.Navigate(base+"/appointments?desk=ravenna&from="+date), chromedp.WaitVisible(chromedp.CSS("li.slot")))
	check("appointments-390")
}
