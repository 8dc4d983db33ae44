package desk_test

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sportello/sportello/bot"
	"github.com/sportello/sportello/bot/desk"
	"github.com/sportello/sportello/bot/desk/desktest"
	"github.com/sportello/sportello/bot/store/storetest"
)

func day(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

// publish puts slots on Wednesday 8 January from 09:00 to to, every 30 minutes, in person.
func publish(t *testing.T, e *desktest.Env, who *desk.Account, deskID, to string) {
	t.Helper()
	n, err := e.Desk.PublishSlots(ctx, who, deskID, desk.SlotSpec{Date: day(2025, 1, 8), From: "09:00", To: to, Length: 30 * time.Minute, Mode: desk.InPerson})
	if err != nil || n == 0 {
		t.Fatalf("publish: %d %v", n, err)
	}
}

// startAppointment walks the appointment flow to the offered slots.
func startAppointment(t *testing.T, e *desktest.Env, conv string) []bot.Reply {
	t.Helper()
	r := e.Say(t, conv, "en", "/menu")
	r = e.Press(t, conv, r, "Appointment")
	r = e.Press(t, conv, r, "Residence permit")
	return e.Press(t, conv, r, "Yes")
}

func TestBookingThroughTheBot(t *testing.T) {
	desktest.Stores(t, func(t *testing.T, e *desktest.Env) {
		mario := e.Staff(t, "mario", desk.RoleStaff, "ravenna")
		publish(t, e, mario, "ravenna", "10:00")

		r := startAppointment(t, e, "b1")
		if !desktest.Contains(r, "Choose a time") {
			t.Fatalf("no slots offered:\n%s", desktest.Dump(r))
		}
		r = e.Press(t, "b1", r, "Wed 8 Jan 2025, 09:00")
		if !desktest.Contains(r, "Your appointment is booked: **Wed 8 Jan 2025, 09:00** (in person)") ||
			!desktest.Contains(r, "Place: Via Alfredo Oriani 44") || !desktest.Contains(r, "Please bring: your passport") {
			t.Fatalf("confirmation:\n%s", desktest.Dump(r))
		}
		a, err := e.Desk.ActiveAppointment(ctx, desktest.Addr("b1"))
		if err != nil || a == nil || a.Topic != "permit" || a.Documents != "ready" || a.Status != desk.Booked || a.Lang != "en" {
			t.Fatalf("appointment: %+v %v", a, err)
		}

		// One active appointment: asking again shows it, with keep / move / cancel.
		r = startAppointment(t, e, "b1")
		if !desktest.Contains(r, "You already have an appointment") {
			t.Fatalf("second booking:\n%s", desktest.Dump(r))
		}
		r = e.Press(t, "b1", r, "Choose another time")
		for _, rep := range r {
			for _, row := range rep.Buttons {
				if strings.Contains(row[0].Label, "09:00") {
					t.Fatalf("the current slot is offered again:\n%s", desktest.Dump(r))
				}
			}
		}
		r = e.Press(t, "b1", r, "09:30")
		if !desktest.Contains(r, "**Wed 8 Jan 2025, 09:30**") {
			t.Fatalf("moved:\n%s", desktest.Dump(r))
		}
		free, _ := e.Desk.FreeSlots(ctx, "ravenna", 0, "")
		if len(free) != 1 || !strings.Contains(free[0].Start.Format(time.Kitchen), "8:00") {
			t.Fatalf("free after moving: %+v", free)
		}

		r = e.Press(t, "b1", r, "Cancel the appointment")
		r = e.Press(t, "b1", r, "Yes, cancel it")
		if !desktest.Contains(r, "is cancelled") {
			t.Fatalf("cancel:\n%s", desktest.Dump(r))
		}
		if a, _ := e.Desk.ActiveAppointment(ctx, desktest.Addr("b1")); a != nil {
			t.Fatalf("still active: %+v", a)
		}
		if free, _ := e.Desk.FreeSlots(ctx, "ravenna", 0, ""); len(free) != 2 {
			t.Fatalf("free after cancelling: %d", len(free))
		}
		// "None of these times suits me" hands the request to staff with what was collected.
		r = startAppointment(t, e, "b1")
		r = e.Press(t, "b1", r, "None of these times")
		if r[len(r)-1].Handoff == "" {
			t.Fatalf("no handoff:\n%s", desktest.Dump(r))
		}
		tk, _ := e.Desk.TicketFor(ctx, mario, r[len(r)-1].Handoff)
		if tk.Topic != "appointment" || tk.Reason != "flow:appointment" || tk.Summary["topic"] != "permit" || tk.Summary["slots"] != "none-fit" {
			t.Fatalf("ticket: %+v", tk)
		}
	})
}

func TestNoSlotsHandsOff(t *testing.T) {
	clock := storetest.NewClock(desktest.Start)
	e := desktest.New(t, storetest.NewBolt(t, clock), clock)
	boss := e.Staff(t, "boss", desk.RoleAdmin)
	r := startAppointment(t, e, "n1")
	id := r[len(r)-1].Handoff
	if id == "" {
		t.Fatalf("no handoff without slots:\n%s", desktest.Dump(r))
	}
	tk, _ := e.Desk.TicketFor(ctx, boss, id)
	if tk.Topic != "appointment" || tk.Summary["topic"] != "permit" || tk.Summary["documents"] != "ready" || tk.Summary["slots"] != "none" {
		t.Fatalf("ticket: %+v", tk.Summary)
	}
}

// TestTakenOffersTheNext: two users race for one slot through the bot; the second is told and
// offered the next free ones.
func TestTakenOffersTheNext(t *testing.T) {
	clock := storetest.NewClock(desktest.Start)
	e := desktest.New(t, storetest.NewBolt(t, clock), clock)
	boss := e.Staff(t, "boss", desk.RoleAdmin)
	publish(t, e, boss, "ravenna", "10:30")
	ra := startAppointment(t, e, "ua")
	rb := startAppointment(t, e, "ub")
	e.Press(t, "ua", ra, "09:00")
	r := e.Press(t, "ub", rb, "09:00")
	if !desktest.Contains(r, "someone else has just booked that time") {
		t.Fatalf("second user:\n%s", desktest.Dump(r))
	}
	if first := r[0].Buttons[0][0].Label; !strings.Contains(first, "09:30") {
		t.Fatalf("next slot offered first: %q", first)
	}
	r = e.Press(t, "ub", r, "09:30")
	if !desktest.Contains(r, "booked") {
		t.Fatalf("booking the next:\n%s", desktest.Dump(r))
	}
}

// TestBookingRace: 50 users (on two replicas) press the same slot at the same moment; exactly
// one gets it. Run with -race against Redis.
func TestBookingRace(t *testing.T) {
	st := storetest.NewRedis(t)
	clock := storetest.NewClock(desktest.Start)
	e := desktest.New(t, st, clock)
	replica := desktest.New(t, st, clock)
	boss := e.Staff(t, "boss", desk.RoleAdmin)
	publish(t, e, boss, "ravenna", "09:30")
	free, _ := e.Desk.FreeSlots(ctx, "ravenna", 0, "")
	if len(free) != 1 {
		t.Fatalf("%d slots", len(free))
	}
	const n = 50
	var wins, taken atomic.Int32
	var wg sync.WaitGroup
	start := make(chan struct{})
	began := time.Now()
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			svc := e.Desk
			if i%2 == 1 {
				svc = replica.Desk
			}
			<-start
			conv := fmt.Sprintf("racer%d", i)
			_, err := svc.BookSlot(ctx, desk.BookRequest{Address: desktest.Addr(conv), Lang: "en", Desk: "ravenna"}, free[0].ID)
			switch {
			case err == nil:
				wins.Add(1)
			case errors.Is(err, desk.ErrTaken):
				taken.Add(1)
			default:
				t.Errorf("racer %d: %v", i, err)
			}
		}()
	}
	close(start)
	wg.Wait()
	t.Logf("booking race: %d goroutines, 1 slot, %v", n, time.Since(began))
	if wins.Load() != 1 || taken.Load() != n-1 {
		t.Fatalf("%d winners, %d told it is taken", wins.Load(), taken.Load())
	}
	cal, _ := e.Desk.Calendar(ctx, boss, "ravenna", desktest.Start, desktest.Start.Add(7*24*time.Hour))
	if len(cal) != 1 || cal[0].Appointment == nil || cal[0].Appointment.Status != desk.Booked {
		t.Fatalf("calendar: %+v", cal)
	}
}

func TestBookingLimits(t *testing.T) {
	clock := storetest.NewClock(desktest.Start)
	e := desktest.New(t, storetest.NewBolt(t, clock), clock, func(c *desk.Config) { c.MaxBookingsPerHour = 2 })
	boss := e.Staff(t, "boss", desk.RoleAdmin)
	if _, err := e.Desk.PublishSlots(ctx, boss, "ravenna", desk.SlotSpec{Date: day(2025, 1, 8), From: "09:00", To: "12:00", Length: 20 * time.Minute, Mode: desk.Phone}); err != nil {
		t.Fatal(err)
	}
	slots, _ := e.Desk.FreeSlots(ctx, "ravenna", 0, "")
	req := func(conv string) desk.BookRequest {
		return desk.BookRequest{Address: desktest.Addr(conv), Lang: "en", Desk: "ravenna"}
	}
	// Per user and day: a booking and three moves, then no more changes today.
	for i := range 4 {
		if _, err := e.Desk.BookSlot(ctx, req("grabber"), slots[i].ID); err != nil {
			t.Fatalf("change %d: %v", i, err)
		}
	}
	if _, err := e.Desk.BookSlot(ctx, req("grabber"), slots[5].ID); !errors.Is(err, desk.ErrLimit) {
		t.Fatalf("fifth change: %v", err)
	}
	if free, _ := e.Desk.FreeSlots(ctx, "ravenna", 0, ""); len(free) != len(slots)-1 {
		t.Fatalf("one user holds %d slots", len(slots)-len(free))
	}
	// Per desk and hour: two new bookings by anyone, then "busy".
	if _, err := e.Desk.BookSlot(ctx, req("second"), slots[6].ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Desk.BookSlot(ctx, req("third"), slots[7].ID); !errors.Is(err, desk.ErrLimit) {
		t.Fatalf("third booking this hour: %v", err)
	}
	e.Clock.Advance(time.Hour)
	if _, err := e.Desk.BookSlot(ctx, req("third"), slots[7].ID); err != nil {
		t.Fatalf("next hour: %v", err)
	}
	// The limit reaches the user as a message, not an error.
	r := e.Say(t, "grabber", "en", "/menu")
	r = e.Press(t, "grabber", r, "Appointment")
	r = e.Press(t, "grabber", r, "Residence permit")
	r = e.Press(t, "grabber", r, "Yes")
	r = e.Press(t, "grabber", r, "Choose another time")
	r = e.Press(t, "grabber", r, "·")
	if !desktest.Contains(r, "too often today") {
		t.Fatalf("limit message:\n%s", desktest.Dump(r))
	}
}

// TestReminderOnce: the reminder goes out the day before, once, although two replicas run the
// job at the same moment.
func TestReminderOnce(t *testing.T) {
	desktest.Stores(t, func(t *testing.T, e *desktest.Env) {
		replica := desktest.New(t, e.Store, e.Clock)
		replica.Router.Register(e.Chat)
		boss := e.Staff(t, "boss", desk.RoleAdmin)
		if _, err := e.Desk.PublishSlots(ctx, boss, "ravenna", desk.SlotSpec{Date: day(2025, 1, 10), From: "09:00", To: "09:30", Length: 30 * time.Minute, Mode: desk.Video}); err != nil {
			t.Fatal(err)
		}
		r := startAppointment(t, e, "rem")
		r = e.Press(t, "rem", r, "Fri 10 Jan 2025, 09:00")
		if !desktest.Contains(r, "video call") {
			t.Fatalf("booking:\n%s", desktest.Dump(r))
		}
		// Wednesday: nothing due.
		e.Clock.Advance(24 * time.Hour)
		if rep, _ := e.Desk.RunDue(ctx); rep.Reminders != 0 {
			t.Fatalf("early reminder: %+v", rep)
		}
		// Thursday 08:01 UTC (09:01 Rome): 24 h before.
		e.Clock.Set(time.Date(2025, 1, 9, 8, 1, 0, 0, time.UTC))
		var wg sync.WaitGroup
		var sent atomic.Int32
		for _, svc := range []*desk.Service{e.Desk, replica.Desk, e.Desk, replica.Desk} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				rep, err := svc.RunDue(ctx)
				if err != nil {
					t.Error(err)
				}
				sent.Add(int32(rep.Reminders))
			}()
		}
		wg.Wait()
		if rep, _ := e.Desk.RunDue(ctx); rep.Reminders != 0 {
			t.Fatalf("second round sent again: %+v", rep)
		}
		n := 0
		for _, rep := range e.Chat.Sent("rem") {
			if strings.Contains(rep.Text, "Reminder: your appointment is tomorrow, **Fri 10 Jan 2025, 09:00**") {
				n++
				if desktest.FindButton(t, []bot.Reply{rep}, "Cancel the appointment") == "" {
					t.Fatal("no cancel button")
				}
			}
		}
		if n != 1 || sent.Load() != 1 {
			t.Fatalf("%d reminders delivered, %d reported", n, sent.Load())
		}
	})
}

func TestStaffManagesAppointments(t *testing.T) {
	desktest.Stores(t, func(t *testing.T, e *desktest.Env) {
		mario := e.Staff(t, "mario", desk.RoleStaff, "ravenna")
		mod := e.Staff(t, "mod", desk.RoleModerator, "ravenna")
		gen := e.Staff(t, "gen", desk.RoleStaff, "genova")
		publish(t, e, mario, "ravenna", "10:00")
		if _, err := e.Desk.PublishSlots(ctx, mod, "ravenna", desk.SlotSpec{Date: day(2025, 1, 9), From: "09:00", To: "10:00", Length: 30 * time.Minute, Mode: desk.Phone}); !errors.Is(err, desk.ErrForbidden) {
			t.Fatalf("moderator published slots: %v", err)
		}
		r := startAppointment(t, e, "s1")
		e.Press(t, "s1", r, "09:00")
		a, _ := e.Desk.ActiveAppointment(ctx, desktest.Addr("s1"))

		if err := e.Desk.ConfirmAppointment(ctx, gen, a.ID); !errors.Is(err, desk.ErrNotFound) {
			t.Fatalf("another desk confirmed: %v", err)
		}
		if err := e.Desk.ConfirmAppointment(ctx, mario, a.ID); err != nil {
			t.Fatal(err)
		}
		e.Chat.WaitFor(t, "s1", "The desk confirmed your appointment: **Wed 8 Jan 2025, 09:00**", time.Second)

		free, _ := e.Desk.FreeSlots(ctx, "ravenna", 0, "")
		if err := e.Desk.MoveAppointment(ctx, mario, a.ID, free[0].ID); err != nil {
			t.Fatal(err)
		}
		e.Chat.WaitFor(t, "s1", "The desk moved your appointment to **Wed 8 Jan 2025, 09:30**", time.Second)
		moved, _ := e.Desk.ActiveAppointment(ctx, desktest.Addr("s1"))
		if moved.Status != desk.Confirmed || moved.Slot != free[0].ID {
			t.Fatalf("moved: %+v", moved)
		}
		if err := e.Desk.RemoveSlot(ctx, mario, moved.Slot); !errors.Is(err, desk.ErrTaken) {
			t.Fatalf("removed a booked slot: %v", err)
		}
		ics, err := e.Desk.ICS(ctx, "ravenna")
		if err != nil || !strings.Contains(string(ics), "DTSTART:20250108T083000Z\r\n") || !strings.Contains(string(ics), "STATUS:CONFIRMED\r\n") {
			t.Fatalf("ics:\n%s", ics)
		}

		if err := e.Desk.CancelAppointmentByStaff(ctx, mario, a.ID); err != nil {
			t.Fatal(err)
		}
		e.Chat.WaitFor(t, "s1", "The desk cancelled your appointment", time.Second)
		if free, _ := e.Desk.FreeSlots(ctx, "ravenna", 0, ""); len(free) != 2 {
			t.Fatalf("free after staff cancel: %d", len(free))
		}
		if ics, _ := e.Desk.ICS(ctx, "ravenna"); strings.Contains(string(ics), "VEVENT") {
			t.Fatalf("cancelled appointment still in the feed:\n%s", ics)
		}
		if err := e.Desk.ConfirmAppointment(ctx, mario, a.ID); !errors.Is(err, desk.ErrClosed) {
			t.Fatalf("confirmed a cancelled appointment: %v", err)
		}
	})
}

func TestPublishSlots(t *testing.T) {
	clock := storetest.NewClock(desktest.Start)
	e := desktest.New(t, storetest.NewBolt(t, clock), clock)
	mario := e.Staff(t, "mario", desk.RoleStaff, "ravenna")
	spec := desk.SlotSpec{Date: day(2025, 1, 8), Until: day(2025, 1, 14), From: "09:00", To: "10:00", Length: 20 * time.Minute, Mode: desk.InPerson}
	n, err := e.Desk.PublishSlots(ctx, mario, "ravenna", spec)
	// Wed 8, Thu 9, Fri 10, Mon 13, Tue 14: five opening days (the weekend is skipped), 3 each.
	if err != nil || n != 15 {
		t.Fatalf("published %d, %v", n, err)
	}
	if n, _ := e.Desk.PublishSlots(ctx, mario, "ravenna", spec); n != 0 {
		t.Fatalf("published the same slots again: %d", n)
	}
	for name, bad := range map[string]desk.SlotSpec{
		"end before start": {Date: day(2025, 1, 8), From: "10:00", To: "09:00", Length: 20 * time.Minute, Mode: desk.InPerson},
		"no mode":          {Date: day(2025, 1, 8), From: "09:00", To: "10:00", Length: 20 * time.Minute},
		"too short":        {Date: day(2025, 1, 8), From: "09:00", To: "10:00", Length: time.Minute, Mode: desk.Phone},
		"range backwards":  {Date: day(2025, 1, 8), Until: day(2025, 1, 1), From: "09:00", To: "10:00", Length: 20 * time.Minute, Mode: desk.Phone},
		"bad time":         {Date: day(2025, 1, 8), From: "9h", To: "10:00", Length: 20 * time.Minute, Mode: desk.Phone},
	} {
		if _, err := e.Desk.PublishSlots(ctx, mario, "ravenna", bad); !errors.Is(err, desk.ErrInvalid) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := e.Desk.PublishSlots(ctx, mario, "genova", spec); !errors.Is(err, desk.ErrForbidden) {
		t.Fatalf("published for another desk: %v", err)
	}
	// Slots start in the desk's time zone: 09:00 in Rome is 08:00 UTC in winter.
	free, _ := e.Desk.FreeSlots(ctx, "ravenna", 1, "")
	if got := free[0].Start.UTC().Format("2006-01-02 15:04"); got != "2025-01-08 08:00" {
		t.Fatalf("first slot at %s", got)
	}
}

func TestICSFeed(t *testing.T) {
	clock := storetest.NewClock(desktest.Start)
	e := desktest.New(t, storetest.NewBolt(t, clock), clock)
	mario := e.Staff(t, "mario", desk.RoleStaff, "ravenna")
	publish(t, e, mario, "ravenna", "09:30")
	free, _ := e.Desk.FreeSlots(ctx, "ravenna", 0, "")
	if _, err := e.Desk.BookSlot(ctx, desk.BookRequest{Address: desktest.Addr("i1"), Lang: "ar", Desk: "ravenna", Topic: "family", Documents: "missing"}, free[0].ID); err != nil {
		t.Fatal(err)
	}
	token, err := e.Desk.FeedToken(ctx, mario, "ravenna", false)
	if err != nil || len(token) < 32 {
		t.Fatalf("token %q %v", token, err)
	}
	if again, _ := e.Desk.FeedToken(ctx, mario, "ravenna", false); again != token {
		t.Fatal("token changed without rotation")
	}
	if !e.Desk.CheckFeedToken(ctx, "ravenna", token) || e.Desk.CheckFeedToken(ctx, "genova", token) || e.Desk.CheckFeedToken(ctx, "ravenna", token[:len(token)-1]+"x") {
		t.Fatal("token check")
	}
	if _, err := e.Desk.FeedToken(ctx, mario, "ravenna", true); !errors.Is(err, desk.ErrForbidden) {
		t.Fatalf("staff rotated the feed: %v", err)
	}
	raw, _ := e.Desk.ICS(ctx, "ravenna")
	ics := string(raw)
	for _, want := range []string{"BEGIN:VCALENDAR\r\n", "VERSION:2.0\r\n", "BEGIN:VEVENT\r\n", "DTSTART:20250108T080000Z\r\n",
		"DTEND:20250108T083000Z\r\n", "SUMMARY:family · ar · in-person\r\n", "STATUS:TENTATIVE\r\n", "END:VCALENDAR\r\n"} {
		if !strings.Contains(ics, want) {
			t.Errorf("feed lacks %q:\n%s", want, ics)
		}
	}
	for _, line := range strings.Split(ics, "\r\n") {
		if len(line) > 75 {
			t.Errorf("line longer than 75 octets: %q", line)
		}
		if strings.Contains(line, "i1") {
			t.Errorf("the feed names the conversation: %q", line)
		}
	}
}

// TestEraseEverything: /forget removes the tickets, their messages and the appointments of the
// conversation, and frees the slot.
func TestEraseEverything(t *testing.T) {
	desktest.Stores(t, func(t *testing.T, e *desktest.Env) {
		boss := e.Staff(t, "boss", desk.RoleAdmin)
		publish(t, e, boss, "ravenna", "09:30")
		r := startAppointment(t, e, "f1")
		e.Press(t, "f1", r, "09:00")
		r = e.Say(t, "f1", "en", "/human")
		id := r[0].Handoff
		e.Say(t, "f1", "en", "my name is Amina and my permit number is 123")
		if _, err := e.Desk.Close(ctx, boss, id, "resolved"); err != nil {
			t.Fatal(err)
		}
		r = e.Say(t, "f1", "en", "/human") // a second, open ticket
		open := r[0].Handoff
		r = e.Say(t, "f1", "en", "/bot")
		r = e.Say(t, "f1", "en", "/forget")
		r = e.Press(t, "f1", r, "Yes, delete")
		if !desktest.Contains(r, "deleted everything") {
			t.Fatalf("forget:\n%s", desktest.Dump(r))
		}
		for _, tid := range []string{id, open} {
			if _, err := e.Desk.TicketFor(ctx, boss, tid); !errors.Is(err, desk.ErrNotFound) {
				t.Errorf("ticket %s after /forget: %v", tid, err)
			}
			if raws, _ := e.Store.Range(ctx, "desk:msgs:"+tid, 0); len(raws) != 0 {
				t.Errorf("messages of %s after /forget: %d", tid, len(raws))
			}
		}
		if q, _ := e.Desk.Queue(ctx, boss, desk.Filter{Status: desk.Closed}); len(q) != 0 {
			t.Errorf("closed tickets after /forget: %d", len(q))
		}
		if a, _ := e.Desk.ActiveAppointment(ctx, desktest.Addr("f1")); a != nil {
			t.Errorf("appointment after /forget: %+v", a)
		}
		if free, _ := e.Desk.FreeSlots(ctx, "ravenna", 0, ""); len(free) != 1 {
			t.Errorf("slot not freed: %d free", len(free))
		}
		cal, _ := e.Desk.Calendar(ctx, boss, "ravenna", desktest.Start, desktest.Start.Add(7*24*time.Hour))
		for _, c := range cal {
			if c.Appointment != nil {
				t.Errorf("calendar still shows %+v", c.Appointment)
			}
		}
	})
}
