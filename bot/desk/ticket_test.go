package desk_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sportello/sportello/bot"
	"github.com/sportello/sportello/bot/desk"
	"github.com/sportello/sportello/bot/desk/desktest"
	"github.com/sportello/sportello/bot/store/bolt"
	"github.com/sportello/sportello/bot/store/storetest"
)

var ctx = context.Background()

// TestTicketLifecycle goes through a whole handoff: the user asks for a person, the bot goes
// quiet and relays, staff claim, reply (the reply reaches the user's chat), note and close,
// and the user is back with the bot.
func TestTicketLifecycle(t *testing.T) {
	desktest.Stores(t, func(t *testing.T, e *desktest.Env) {
		mario := e.Staff(t, "mario", desk.RoleStaff, "ravenna")
		e.Say(t, "u1", "it", "quanto costa il rinnovo del permesso?")
		replies := e.Say(t, "u1", "it", "/human")
		if !desktest.Contains(replies, e.Texts.T("it", "handoff.in_hours", map[string]any{"Minutes": 10})) || replies[0].Handoff == "" {
			t.Fatalf("handoff offer:\n%s", desktest.Dump(replies))
		}
		id := replies[0].Handoff
		if s := e.Session(t, "u1"); s.Ticket != id {
			t.Fatalf("session ticket %q, want %q", s.Ticket, id)
		}

		q, err := e.Desk.Queue(ctx, mario, desk.Filter{})
		if err != nil || len(q) != 1 || q[0].ID != id || q[0].Status != desk.Waiting || q[0].Reason != "flow:human" || q[0].Desk != "ravenna" {
			t.Fatalf("queue: %+v %v", q, err)
		}
		// While the ticket is open the bot stays quiet and the messages go to staff.
		if got := e.Say(t, "u1", "it", "ho il permesso scaduto"); len(got) != 0 {
			t.Fatalf("bot answered during a handoff:\n%s", desktest.Dump(got))
		}
		tk, err := e.Desk.TicketFor(ctx, mario, id)
		if err != nil {
			t.Fatal(err)
		}
		if !hasMessage(tk, "user", "quanto costa il rinnovo", true) || !hasMessage(tk, "user", "ho il permesso scaduto", false) {
			t.Fatalf("transcript: %+v", tk.Messages)
		}

		if err := e.Desk.Claim(ctx, mario, id, false); err != nil {
			t.Fatal(err)
		}
		delivered, err := e.Desk.Reply(ctx, mario, id, "Buongiorno, da quando è scaduto?")
		if err != nil || !delivered {
			t.Fatalf("reply: delivered=%v err=%v", delivered, err)
		}
		got := e.Chat.Sent("u1")
		last := got[len(got)-1]
		if !last.Staff || last.Handoff != id || last.Text != e.Texts.T("it", "desk.staff_reply", map[string]any{"Text": "Buongiorno, da quando è scaduto?"}) {
			t.Fatalf("staff reply as the user got it: %+v", last)
		}
		e.Say(t, "u1", "it", "da tre settimane")
		if err := e.Desk.Note(ctx, mario, id, "probabilmente rinnovo normale"); err != nil {
			t.Fatal(err)
		}
		tk, _ = e.Desk.TicketFor(ctx, mario, id)
		if !hasMessage(tk, "user", "da tre settimane", false) || !hasMessage(tk, "note", "probabilmente", false) || !hasEvent(tk, "delivered") {
			t.Fatalf("transcript after reply: %+v", tk.Messages)
		}
		if tk.Status != desk.Claimed || tk.Assignee != "mario" || tk.ClaimedAt.IsZero() {
			t.Fatalf("ticket after claim: %+v", tk)
		}

		if _, err := e.Desk.Close(ctx, mario, id, "resolved"); err != nil {
			t.Fatal(err)
		}
		if !desktest.Contains(e.Chat.Sent("u1"), e.Texts.T("it", "handoff.closed", nil)) {
			t.Fatalf("no closing message:\n%s", desktest.Dump(e.Chat.Sent("u1")))
		}
		if s := e.Session(t, "u1"); s.Ticket != "" {
			t.Fatalf("session still on ticket %s", s.Ticket)
		}
		back := e.Say(t, "u1", "it", "quanto costa il rinnovo del permesso di 2 anni?")
		if len(back) == 0 || back[0].Handoff != "" {
			t.Fatalf("bot not back:\n%s", desktest.Dump(back))
		}
		q, _ = e.Desk.Queue(ctx, mario, desk.Filter{})
		if len(q) != 0 {
			t.Fatalf("closed ticket still queued: %+v", q)
		}
		closed, _ := e.Desk.Queue(ctx, mario, desk.Filter{Status: desk.Closed})
		if len(closed) != 1 || closed[0].Outcome != "resolved" {
			t.Fatalf("recently closed: %+v", closed)
		}
		if _, err := e.Desk.Reply(ctx, mario, id, "again"); !errors.Is(err, desk.ErrClosed) {
			t.Fatalf("reply to a closed ticket: %v", err)
		}
	})
}

func hasMessage(t *desk.Ticket, from, text string, before bool) bool {
	for _, m := range t.Messages {
		if m.From == from && strings.Contains(m.Text, text) && m.Before == before {
			return true
		}
	}
	return false
}

func hasEvent(t *desk.Ticket, event string) bool {
	for _, m := range t.Messages {
		if m.From == "system" && m.Event == event {
			return true
		}
	}
	return false
}

// TestReplyAfterSessionExpired: staff answer days later, after the session expired; the reply
// reaches the user's chat in their language and the conversation goes back to the ticket.
func TestReplyAfterSessionExpired(t *testing.T) {
	desktest.Stores(t, func(t *testing.T, e *desktest.Env) {
		anna := e.Staff(t, "anna", desk.RoleStaff, "ravenna")
		replies := e.Say(t, "u2", "", "ho ricevuto un decreto di espulsione")
		id := replies[len(replies)-1].Handoff
		if id == "" {
			t.Fatalf("no handoff:\n%s", desktest.Dump(replies))
		}
		e.Clock.Advance(4 * 24 * time.Hour)
		if err := e.Router.Sessions.Delete(ctx, desktest.Addr("u2")); err != nil { // expired
			t.Fatal(err)
		}
		if _, err := e.Desk.Reply(ctx, anna, id, "Mi può mandare la data del decreto?"); err != nil {
			t.Fatal(err)
		}
		got := e.Chat.Sent("u2")
		if last := got[len(got)-1]; !last.Staff || last.Lang != "it" {
			t.Fatalf("reply after expiry: %+v", last)
		}
		s := e.Session(t, "u2")
		if s.Ticket != id || s.Lang != "it" || s.Desk != "ravenna" {
			t.Fatalf("re-created session: %+v", s)
		}
		if got := e.Say(t, "u2", "", "il 3 gennaio"); len(got) != 0 {
			t.Fatalf("bot answered instead of relaying:\n%s", desktest.Dump(got))
		}
		tk, _ := e.Desk.TicketFor(ctx, anna, id)
		if !hasMessage(tk, "user", "il 3 gennaio", false) {
			t.Fatalf("answer not on the ticket: %+v", tk.Messages)
		}
	})
}

func TestOfferOfficeHoursAndCapacity(t *testing.T) {
	clock := storetest.NewClock(desktest.Start)
	e := desktest.New(t, storetest.NewBolt(t, clock), clock)
	boss := e.Staff(t, "boss", desk.RoleAdmin)
	open := func(conv string, p bot.Priority) bot.HandoffOffer {
		t.Helper()
		o, err := e.Desk.Open(ctx, bot.HandoffRequest{Address: desktest.Addr(conv), Desk: "ravenna", Lang: "en", Reason: "user", Priority: p})
		if err != nil {
			t.Fatal(err)
		}
		return o
	}
	// Tuesday 10:00, nobody waiting: the default typical wait.
	o := open("a", bot.PriorityNormal)
	if !o.InHours || o.TypicalWait != 10*time.Minute {
		t.Fatalf("first offer: %+v", o)
	}
	// Capacity 2: a second person is taken at once too; a third waits a round longer.
	if o := open("b", bot.PriorityNormal); o.TypicalWait != 10*time.Minute {
		t.Fatalf("second offer: %+v", o)
	}
	if o := open("c", bot.PriorityNormal); o.TypicalWait != 20*time.Minute {
		t.Fatalf("third offer: %+v", o)
	}
	// Measured waits become the typical wait: claimed after 4 and 6 minutes → median 5.
	e.Clock.Advance(4 * time.Minute)
	q, _ := e.Desk.Queue(ctx, boss, desk.Filter{Desk: "ravenna"})
	if err := e.Desk.Claim(ctx, boss, q[0].ID, false); err != nil {
		t.Fatal(err)
	}
	e.Clock.Advance(2 * time.Minute)
	if err := e.Desk.Claim(ctx, boss, q[1].ID, false); err != nil {
		t.Fatal(err)
	}
	st, _ := e.Desk.Stats(ctx, boss, "ravenna")
	if st.Waiting != 1 || st.Claimed != 2 || st.MedianWaitToday != 5*time.Minute || st.TypicalWait != 5*time.Minute {
		t.Fatalf("stats: %+v", st)
	}
	// Both seats taken, one waiting ahead: two rounds of 5 minutes.
	if o := open("d", bot.PriorityNormal); !o.InHours || o.TypicalWait != 10*time.Minute {
		t.Fatalf("offer with full seats: %+v", o)
	}
	// Saturday: out of hours, answer promised by Monday 09:00 + 48 h, Rome time.
	e.Clock.Set(time.Date(2025, 1, 11, 10, 0, 0, 0, time.UTC))
	o = open("e", bot.PriorityNormal)
	rav, _ := e.Desk.Office("ravenna")
	want := time.Date(2025, 1, 15, 9, 0, 0, 0, rav.Location)
	if o.InHours || !o.ReplyBy.Equal(want) || o.ReplyBy.Location().String() != "Europe/Rome" {
		t.Fatalf("weekend offer: %+v, want reply by %v", o, want)
	}
	// Tuesday 12:55: the wait would run past closing at 13:00 → asynchronous, by Thursday 14:30.
	e.Clock.Set(time.Date(2025, 1, 14, 11, 55, 0, 0, time.UTC))
	if o := open("f", bot.PriorityNormal); o.InHours || o.ReplyBy.Format("Mon 15:04") != "Thu 14:30" {
		t.Fatalf("offer just before closing: %+v", o)
	}
}

// TestAskingAgainJoinsTheOpenTicket: one open ticket per conversation, even when the session
// expired and the user asks again; a more urgent request raises the priority.
func TestAskingAgainJoinsTheOpenTicket(t *testing.T) {
	clock := storetest.NewClock(desktest.Start)
	e := desktest.New(t, storetest.NewBolt(t, clock), clock)
	boss := e.Staff(t, "boss", desk.RoleAdmin)
	first := e.Say(t, "u3", "en", "/human")
	id := first[0].Handoff
	if err := e.Router.Sessions.Delete(ctx, desktest.Addr("u3")); err != nil {
		t.Fatal(err)
	}
	again := e.Say(t, "u3", "en", "my husband beats me")
	if again[len(again)-1].Handoff != id {
		t.Fatalf("a second ticket was opened:\n%s", desktest.Dump(again))
	}
	tk, _ := e.Desk.TicketFor(ctx, boss, id)
	if tk.Requests != 2 || tk.Priority != bot.PriorityUrgent || !hasEvent(tk, "again") {
		t.Fatalf("joined ticket: %+v", tk)
	}
	q, _ := e.Desk.Queue(ctx, boss, desk.Filter{})
	if len(q) != 1 {
		t.Fatalf("queue: %d tickets", len(q))
	}
}

func TestUserCancels(t *testing.T) {
	clock := storetest.NewClock(desktest.Start)
	e := desktest.New(t, storetest.NewBolt(t, clock), clock)
	boss := e.Staff(t, "boss", desk.RoleAdmin)
	r := e.Say(t, "u4", "en", "/human")
	id := r[0].Handoff
	r = e.Press(t, "u4", r, "Cancel the request")
	if !desktest.Contains(r, "cancelled") {
		t.Fatalf("cancel:\n%s", desktest.Dump(r))
	}
	tk, _ := e.Desk.TicketFor(ctx, boss, id)
	if tk.Status != desk.Closed || tk.Outcome != desk.OutcomeCancelled {
		t.Fatalf("cancelled ticket: %+v", tk)
	}
	// /human again opens a new ticket, not the cancelled one.
	if r := e.Say(t, "u4", "en", "/human"); r[0].Handoff == id || r[0].Handoff == "" {
		t.Fatalf("new request:\n%s", desktest.Dump(r))
	}
}

// TestDeliveryRetried: a reply that cannot be sent now (the channel is not up) stays in the
// outbox and reaches the user later; a permanent failure is given up and shown to staff.
func TestDeliveryRetried(t *testing.T) {
	desktest.Stores(t, func(t *testing.T, e *desktest.Env) {
		boss := e.Staff(t, "boss", desk.RoleAdmin)
		// A conversation on a channel that is down (not registered yet).
		late := desktest.NewChat("late")
		addr := bot.Address{Channel: "late", Conversation: "u5"}
		o, err := e.Desk.Open(ctx, bot.HandoffRequest{Address: addr, Desk: "genova", Lang: "en", Reason: "user"})
		if err != nil {
			t.Fatal(err)
		}
		delivered, err := e.Desk.Reply(ctx, boss, o.Ticket, "We are looking at it.")
		if err != nil || delivered {
			t.Fatalf("reply on a channel that is down: delivered=%v err=%v", delivered, err)
		}
		tk, _ := e.Desk.TicketFor(ctx, boss, o.Ticket)
		if hasEvent(tk, "delivered") {
			t.Fatal("marked delivered")
		}
		e.Router.Register(late)
		e.Clock.Advance(2 * time.Minute)
		rep, err := e.Desk.RunDue(ctx)
		if err != nil || rep.Delivered != 1 {
			t.Fatalf("retry: %+v %v", rep, err)
		}
		if got := late.Sent("u5"); len(got) != 1 || !got[0].Staff {
			t.Fatalf("late delivery: %+v", got)
		}
		tk, _ = e.Desk.TicketFor(ctx, boss, o.Ticket)
		if !hasEvent(tk, "delivered") {
			t.Fatalf("not marked delivered: %+v", tk.Messages)
		}
		// The user blocked the bot: a permanent failure, shown to staff, not retried.
		late.Fail(&bot.SendError{Failure: bot.Permanent, Reason: "blocked"})
		if delivered, err := e.Desk.Reply(ctx, boss, o.Ticket, "Are you there?"); err != nil || delivered {
			t.Fatalf("blocked: %v %v", delivered, err)
		}
		tk, _ = e.Desk.TicketFor(ctx, boss, o.Ticket)
		if !hasEvent(tk, "failed") {
			t.Fatalf("failure not recorded: %+v", tk.Messages)
		}
		e.Clock.Advance(time.Hour)
		if rep, _ := e.Desk.RunDue(ctx); rep.Delivered != 0 {
			t.Fatalf("a permanent failure was retried: %+v", rep)
		}
	})
}

// TestNothingLostAcrossRestart: tickets, messages and an undelivered reply survive closing and
// reopening the embedded store; the reply goes out after the restart.
func TestNothingLostAcrossRestart(t *testing.T) {
	path := t.TempDir() + "/sportello.db"
	clock := storetest.NewClock(desktest.Start)
	st, err := bolt.Open(path, clock)
	if err != nil {
		t.Fatal(err)
	}
	e := desktest.New(t, st, clock)
	boss := e.Staff(t, "boss", desk.RoleAdmin)
	r := e.Say(t, "u6", "en", "I lost my passport")
	id := r[len(r)-1].Handoff
	e.Say(t, "u6", "en", "it was stolen yesterday")
	e.Chat.Fail(&bot.SendError{Failure: bot.Throttled, RetryAfter: time.Millisecond, Reason: "down"})
	if err := e.Desk.Claim(ctx, boss, id, false); err != nil {
		t.Fatal(err)
	}
	// Router retries with backoff a few times, then the desk keeps the reply in its outbox.
	if delivered, err := e.Desk.Reply(ctx, boss, id, "Please report it to the police first."); err != nil || delivered {
		t.Fatalf("reply while down: %v %v", delivered, err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	st2, err := bolt.Open(path, clock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st2.Close() })
	e2 := desktest.New(t, st2, clock)
	tk, err := e2.Desk.TicketFor(ctx, boss, id)
	if err != nil {
		t.Fatal(err)
	}
	if tk.Status != desk.Claimed || tk.Reason != "rule:lost-documents" || !hasMessage(tk, "user", "stolen yesterday", false) ||
		!hasMessage(tk, "staff", "police", false) || !hasMessage(tk, "user", "lost my passport", true) {
		t.Fatalf("after restart: %+v %+v", tk, tk.Messages)
	}
	e2.Clock.Advance(5 * time.Minute)
	if rep, err := e2.Desk.RunDue(ctx); err != nil || rep.Delivered != 1 {
		t.Fatalf("outbox after restart: %+v %v", rep, err)
	}
	e2.Chat.WaitFor(t, "u6", "police", time.Second)
	if s := e2.Session(t, "u6"); s.Ticket != id {
		t.Fatalf("session after restart: %+v", s)
	}
}

// TestLateMessageReturnsToBot: the user writes to a ticket that was closed while the closing
// notice could not be delivered; the message is kept for staff and the user is back with the bot.
func TestLateMessageReturnsToBot(t *testing.T) {
	desktest.Stores(t, func(t *testing.T, e *desktest.Env) {
		boss := e.Staff(t, "boss", desk.RoleAdmin)
		r := e.Say(t, "u7", "en", "/human")
		id := r[0].Handoff
		if _, err := e.Desk.Close(ctx, boss, id, "resolved"); err != nil {
			t.Fatal(err)
		}
		// As if the closing notice never reached the conversation (a store blip).
		if err := e.Router.Notify(ctx, desktest.Addr("u7"), func(s *bot.Session) []bot.Reply { s.Ticket = id; return nil }); err != nil {
			t.Fatal(err)
		}
		before := len(e.Chat.Sent("u7"))
		e.Say(t, "u7", "en", "hello? anyone?")
		deadline := time.Now().Add(5 * time.Second)
		for len(e.Chat.Sent("u7")) == before || !strings.Contains(e.Chat.Sent("u7")[before].Text, "closed your conversation") {
			if time.Now().After(deadline) {
				t.Fatalf("not told:\n%s", desktest.Dump(e.Chat.Sent("u7")[before:]))
			}
			time.Sleep(10 * time.Millisecond)
		}
		for e.Session(t, "u7").Ticket != "" {
			if time.Now().After(deadline) {
				t.Fatal("session still on the closed ticket")
			}
			time.Sleep(10 * time.Millisecond)
		}
		tk, _ := e.Desk.TicketFor(ctx, boss, id)
		if !hasMessage(tk, "user", "anyone?", false) {
			t.Fatalf("late message not kept: %+v", tk.Messages)
		}
	})
}

func TestRetention(t *testing.T) {
	desktest.Stores(t, func(t *testing.T, e *desktest.Env) {
		boss := e.Staff(t, "boss", desk.RoleAdmin)
		r := e.Say(t, "u8", "en", "/human")
		id := r[0].Handoff
		if _, err := e.Desk.Close(ctx, boss, id, "resolved"); err != nil {
			t.Fatal(err)
		}
		e.Clock.Advance(89 * 24 * time.Hour)
		if n, _ := e.Desk.Sweep(ctx); n != 0 {
			t.Fatalf("swept %d before the end of retention", n)
		}
		e.Clock.Advance(2 * 24 * time.Hour)
		if n, err := e.Desk.Sweep(ctx); err != nil || n != 1 {
			t.Fatalf("sweep: %d %v", n, err)
		}
		if _, err := e.Desk.TicketFor(ctx, boss, id); !errors.Is(err, desk.ErrNotFound) {
			t.Fatalf("ticket after retention: %v", err)
		}
		if q, _ := e.Desk.Queue(ctx, boss, desk.Filter{Status: desk.Closed}); len(q) != 0 {
			t.Fatalf("closed index after retention: %d", len(q))
		}
	})
}

func TestDeskScopedAccess(t *testing.T) {
	clock := storetest.NewClock(desktest.Start)
	e := desktest.New(t, storetest.NewBolt(t, clock), clock)
	rav := e.Staff(t, "rav", desk.RoleStaff, "ravenna")
	gen := e.Staff(t, "gen", desk.RoleStaff, "genova")
	o, err := e.Desk.Open(ctx, bot.HandoffRequest{Address: desktest.Addr("g1"), Desk: "genova", Lang: "ar", Reason: "user"})
	if err != nil {
		t.Fatal(err)
	}
	if q, _ := e.Desk.Queue(ctx, rav, desk.Filter{}); len(q) != 0 {
		t.Fatalf("ravenna staff see genova's queue: %+v", q)
	}
	if q, _ := e.Desk.Queue(ctx, gen, desk.Filter{}); len(q) != 1 {
		t.Fatalf("genova staff queue: %+v", q)
	}
	for name, err := range map[string]error{
		"ticket": func() error { _, err := e.Desk.TicketFor(ctx, rav, o.Ticket); return err }(),
		"claim":  e.Desk.Claim(ctx, rav, o.Ticket, true),
		"reply":  func() error { _, err := e.Desk.Reply(ctx, rav, o.Ticket, "hi"); return err }(),
		"note":   e.Desk.Note(ctx, rav, o.Ticket, "hi"),
		"close":  func() error { _, err := e.Desk.Close(ctx, rav, o.Ticket, "resolved"); return err }(),
		"stats":  func() error { _, err := e.Desk.Stats(ctx, rav, "genova"); return err }(),
	} {
		if !errors.Is(err, desk.ErrNotFound) {
			t.Errorf("%s on another desk's ticket: %v", name, err)
		}
	}
	if err := e.Desk.Claim(ctx, gen, o.Ticket, false); err != nil {
		t.Fatal(err)
	}
	// A colleague cannot simply claim a claimed ticket; taking over is explicit.
	gen2 := e.Staff(t, "gen2", desk.RoleStaff, "genova")
	if err := e.Desk.Claim(ctx, gen2, o.Ticket, false); !errors.Is(err, desk.ErrClaimed) {
		t.Fatalf("claim of a claimed ticket: %v", err)
	}
	if err := e.Desk.Claim(ctx, gen2, o.Ticket, true); err != nil {
		t.Fatalf("take over: %v", err)
	}
}

func TestPasswords(t *testing.T) {
	h, err := desk.HashPassword("s3cret password")
	if err != nil || !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("hash %q %v", h, err)
	}
	if !desk.CheckPassword(h, "s3cret password") || desk.CheckPassword(h, "s3cret passwort") || desk.CheckPassword("$argon2id$bad", "x") {
		t.Fatal("check")
	}
	h2, _ := desk.HashPassword("s3cret password")
	if h == h2 {
		t.Fatal("no salt")
	}
}
