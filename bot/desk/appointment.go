package desk

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/sportello/sportello/bot"
)

// Mode is how an appointment takes place.
type Mode string

const (
	InPerson Mode = "in-person"
	Phone    Mode = "phone"
	Video    Mode = "video"
)

// Modes lists the appointment modes.
var Modes = []Mode{InPerson, Phone, Video}

// Slot is a time staff published for appointments.
type Slot struct {
	ID     string        `json:"id"`
	Desk   string        `json:"desk"`
	Start  time.Time     `json:"start"`
	Length time.Duration `json:"length"`
	Mode   Mode          `json:"mode"`
	By     string        `json:"by,omitempty"` // the account that published it
}

// ApptStatus is where an appointment is.
type ApptStatus string

const (
	Pending   ApptStatus = "pending" // being booked (a crash here is cleaned up after a few minutes)
	Booked    ApptStatus = "booked"  // booked by the user, not yet confirmed by staff
	Confirmed ApptStatus = "confirmed"
	Cancelled ApptStatus = "cancelled"
)

// Appointment is a user's booking of a slot.
type Appointment struct {
	ID        string        `json:"id"`
	Desk      string        `json:"desk"`
	Slot      string        `json:"slot"`
	Start     time.Time     `json:"start"`
	Length    time.Duration `json:"length"`
	Mode      Mode          `json:"mode"`
	Address   bot.Address   `json:"address"`
	User      string        `json:"user,omitempty"`
	Lang      string        `json:"lang"`
	Topic     string        `json:"topic,omitempty"`
	Documents string        `json:"documents,omitempty"` // ready, missing, unsure
	Status    ApptStatus    `json:"status"`
	Booked    time.Time     `json:"booked"`
	Updated   time.Time     `json:"updated"`
	Moves     int           `json:"moves,omitempty"`
	By        string        `json:"by,omitempty"` // the account that last confirmed, moved or cancelled it
}

// Active reports whether the appointment still stands at now.
func (a *Appointment) Active(now time.Time) bool {
	return (a.Status == Booked || a.Status == Confirmed) && a.Start.After(now)
}

func keySlot(id string) string                    { return "desk:slot:" + id }
func keySlots(desk string) string                 { return "desk:slots:" + desk }
func keyBooking(slot string) string               { return "desk:booking:" + slot }
func keyAppt(id string) string                    { return "desk:appt:" + id }
func keyAppts(desk string) string                 { return "desk:appts:" + desk }
func keyConvAppts(a bot.Address) string           { return "desk:conv-appts:" + a.Key() }
func keyActiveAppt(a bot.Address) string          { return "desk:appt-active:" + a.Key() }
func keyApptRequest(a bot.Address) string         { return "desk:appt-request:" + a.Key() }
func keyBookDay(a bot.Address, day string) string { return "desk:book-day:" + a.Key() + ":" + day }
func keyBookHour(desk, hour string) string        { return "desk:book-hour:" + desk + ":" + hour }

const keyRemind = "desk:remind" // appointment ids by the time of their reminder

// slotID names a slot by desk, start minute and mode, so publishing the same slot twice is a no-op.
func slotID(desk string, start time.Time, mode Mode) string {
	return desk + "." + strconv.FormatInt(start.Unix()/60, 36) + "." + string(mode[0])
}

// SlotSpec is what staff fill in to publish slots: every Length from From to To on each day
// from Date to Until (days the desk is closed are skipped when publishing a range).
type SlotSpec struct {
	Date, Until time.Time // local dates (only the day counts)
	From, To    string    // "09:00", "12:00"
	Length      time.Duration
	Mode        Mode
}

// MaxSlotsPerPublish bounds one publication.
const MaxSlotsPerPublish = 400

// PublishSlots creates slots for a desk and returns how many are new.
func (s *Service) PublishSlots(ctx context.Context, who *Account, desk string, spec SlotSpec) (int, error) {
	o, ok := s.offices[desk]
	if !ok || !who.CanBook(desk) {
		return 0, ErrForbidden
	}
	from, err1 := parseClock(spec.From)
	to, err2 := parseClock(spec.To)
	if err1 != nil || err2 != nil || to <= from || spec.Length < 5*time.Minute || spec.Length > 4*time.Hour ||
		!slices.Contains(Modes, spec.Mode) || spec.Date.IsZero() {
		return 0, ErrInvalid
	}
	until := spec.Until
	if until.IsZero() {
		until = spec.Date
	}
	first := time.Date(spec.Date.Year(), spec.Date.Month(), spec.Date.Day(), 0, 0, 0, 0, o.Location)
	last := time.Date(until.Year(), until.Month(), until.Day(), 0, 0, 0, 0, o.Location)
	if last.Before(first) || last.Sub(first) > 92*24*time.Hour {
		return 0, ErrInvalid
	}
	now := s.clock.Now()
	var slots []Slot
	for day := first; !day.After(last); day = day.AddDate(0, 0, 1) {
		if !last.Equal(first) && !o.OpenDay(day) {
			continue
		}
		for m := from; m+int(spec.Length/time.Minute) <= to; m += int(spec.Length / time.Minute) {
			start := o.at(day, m)
			if !start.After(now) {
				continue
			}
			slots = append(slots, Slot{ID: slotID(desk, start, spec.Mode), Desk: desk, Start: start.UTC(), Length: spec.Length, Mode: spec.Mode, By: who.Name})
			if len(slots) > MaxSlotsPerPublish {
				return 0, fmt.Errorf("%w: more than %d slots at once", ErrInvalid, MaxSlotsPerPublish)
			}
		}
	}
	n := 0
	for _, sl := range slots {
		raw, err := jsonBytes(sl)
		if err != nil {
			return n, err
		}
		fresh, err := s.store.PutIfAbsent(ctx, keySlot(sl.ID), raw, 0)
		if err != nil {
			return n, fmt.Errorf("publish slots: %w", err)
		}
		if err := s.store.IndexAdd(ctx, keySlots(desk), sl.ID, float64(sl.Start.Unix())); err != nil {
			return n, fmt.Errorf("publish slots: %w", err)
		}
		if fresh {
			n++
		}
	}
	s.publish(ctx, Event{Desk: desk, Kind: "slots"})
	return n, nil
}

// RemoveSlot withdraws a slot nobody booked.
func (s *Service) RemoveSlot(ctx context.Context, who *Account, id string) error {
	sl, err := s.slot(ctx, id)
	if err != nil {
		return err
	}
	if !who.CanBook(sl.Desk) {
		return ErrNotFound
	}
	// Take the slot's booking key ourselves, so nobody books it while it goes.
	ok, err := s.store.PutIfAbsent(ctx, keyBooking(id), []byte("-removed"), time.Minute)
	if err != nil {
		return err
	}
	if !ok {
		return ErrTaken
	}
	if _, err := s.store.IndexRemove(ctx, keySlots(sl.Desk), id); err != nil {
		return err
	}
	if err := s.store.Delete(ctx, keySlot(id), keyBooking(id)); err != nil {
		return err
	}
	s.publish(ctx, Event{Desk: sl.Desk, Kind: "slots"})
	return nil
}

func (s *Service) slot(ctx context.Context, id string) (*Slot, error) {
	if id == "" || len(id) > 60 {
		return nil, ErrNotFound
	}
	var sl Slot
	if err := s.getJSON(ctx, keySlot(id), &sl); err != nil {
		return nil, err
	}
	return &sl, nil
}

func (s *Service) appointment(ctx context.Context, id string) (*Appointment, error) {
	if !validID(id) {
		return nil, ErrNotFound
	}
	var a Appointment
	if err := s.getJSON(ctx, keyAppt(id), &a); err != nil {
		return nil, err
	}
	return &a, nil
}

// bookedBy returns the appointment holding a slot, "" if the slot is free. A booking left
// half-done by a crash (pending for minutes) is released here.
func (s *Service) bookedBy(ctx context.Context, slot string) (string, error) {
	raw, err := s.store.Get(ctx, keyBooking(slot))
	if errors.Is(err, bot.ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	id := string(raw)
	if a, err := s.appointment(ctx, id); err == nil && a.Status == Pending && s.clock.Now().Sub(a.Updated) > 5*time.Minute {
		if ok, _ := s.store.DeleteIfEqual(ctx, keyBooking(slot), raw); ok {
			_, _ = s.store.DeleteIfEqual(ctx, keyActiveAppt(a.Address), raw)
			_ = s.store.Delete(ctx, keyAppt(id))
			return "", nil
		}
	}
	return id, nil
}

// FreeSlots returns up to limit free slots of a desk starting at least MinLead from now,
// earliest first, leaving out skip.
func (s *Service) FreeSlots(ctx context.Context, desk string, limit int, skip string) ([]Slot, error) {
	earliest := s.clock.Now().Add(s.cfg.MinLead)
	entries, err := s.store.IndexRange(ctx, keySlots(desk), float64(earliest.Unix()), math.Inf(1), 0)
	if err != nil {
		return nil, err
	}
	var out []Slot
	for _, e := range entries {
		if e.Member == skip {
			continue
		}
		by, err := s.bookedBy(ctx, e.Member)
		if err != nil {
			return nil, err
		}
		if by != "" {
			continue
		}
		sl, err := s.slot(ctx, e.Member)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, *sl)
		if limit > 0 && len(out) >= limit {
			break
		}
	}
	return out, nil
}

// BookRequest is what the bot collected for an appointment.
type BookRequest struct {
	Address   bot.Address `json:"address"`
	User      string      `json:"user,omitempty"`
	Lang      string      `json:"lang"`
	Desk      string      `json:"desk"`
	Topic     string      `json:"topic,omitempty"`
	Documents string      `json:"documents,omitempty"`
}

// ActiveAppointment returns the conversation's standing appointment, or nil.
func (s *Service) ActiveAppointment(ctx context.Context, a bot.Address) (*Appointment, error) {
	raw, err := s.store.Get(ctx, keyActiveAppt(a))
	if errors.Is(err, bot.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	ap, err := s.appointment(ctx, string(raw))
	if err == nil && ap.Active(s.clock.Now()) {
		return ap, nil
	}
	if err != nil && !errors.Is(err, ErrNotFound) {
		return nil, err
	}
	if ap != nil && ap.Status == Pending && s.clock.Now().Sub(ap.Updated) < 5*time.Minute {
		return nil, nil // being booked right now
	}
	// Past, cancelled or gone: no longer standing.
	_, _ = s.store.DeleteIfEqual(ctx, keyActiveAppt(a), raw)
	return nil, nil
}

// countBooking applies the limit against slot grabbers per conversation: bookings, moves and
// cancellations a day.
func (s *Service) countBooking(ctx context.Context, a bot.Address) error {
	n, err := s.store.Incr(ctx, keyBookDay(a, s.clock.Now().UTC().Format("20060102")), 48*time.Hour)
	if err != nil {
		return err
	}
	if n > int64(s.cfg.MaxBookingsPerDay) {
		return ErrLimit
	}
	return nil
}

// deskBusy applies the limit per desk: new bookings an hour, by everyone. Only bookings that
// succeed count, so failed attempts cannot lock real users out.
func (s *Service) deskBusy(ctx context.Context, desk string, count bool) error {
	key := keyBookHour(desk, s.clock.Now().UTC().Format("2006010215"))
	if count {
		_, err := s.store.Incr(ctx, key, 2*time.Hour)
		return err
	}
	raw, err := s.store.Get(ctx, key)
	if errors.Is(err, bot.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if n, _ := strconv.Atoi(string(raw)); n >= s.cfg.MaxBookingsPerHour {
		return ErrLimit
	}
	return nil
}

// BookSlot books a slot for the conversation, atomically: of two users racing for one slot, one
// gets it and the other ErrTaken. A conversation with a standing appointment moves it instead
// (one active appointment per user).
func (s *Service) BookSlot(ctx context.Context, req BookRequest, slotID string) (*Appointment, error) {
	sl, err := s.slot(ctx, slotID)
	if err != nil {
		return nil, ErrTaken
	}
	now := s.clock.Now()
	if sl.Desk != req.Desk || !sl.Start.After(now) {
		return nil, ErrTaken
	}
	if cur, err := s.ActiveAppointment(ctx, req.Address); err != nil {
		return nil, err
	} else if cur != nil {
		if err := s.countBooking(ctx, req.Address); err != nil {
			return nil, err
		}
		return s.move(ctx, cur, sl, "", false)
	}
	if err := s.countBooking(ctx, req.Address); err != nil {
		return nil, err
	}
	if err := s.deskBusy(ctx, sl.Desk, false); err != nil {
		return nil, err
	}
	a := &Appointment{ID: newID("A", 8), Desk: sl.Desk, Slot: sl.ID, Start: sl.Start, Length: sl.Length, Mode: sl.Mode,
		Address: req.Address, User: req.User, Lang: req.Lang, Topic: req.Topic, Documents: req.Documents,
		Status: Pending, Booked: now, Updated: now}
	if err := s.putJSON(ctx, keyAppt(a.ID), a, 0); err != nil {
		return nil, err
	}
	undo := func() { _ = s.store.Delete(context.WithoutCancel(ctx), keyAppt(a.ID)) }
	ok, err := s.store.PutIfAbsent(ctx, keyActiveAppt(req.Address), []byte(a.ID), 0)
	if err != nil || !ok {
		undo()
		if err == nil {
			err = ErrLimit // a second booking of the same user at the same moment
		}
		return nil, err
	}
	ok, err = s.store.PutIfAbsent(ctx, keyBooking(sl.ID), []byte(a.ID), 0)
	if err != nil || !ok {
		_, _ = s.store.DeleteIfEqual(context.WithoutCancel(ctx), keyActiveAppt(req.Address), []byte(a.ID))
		undo()
		if err == nil {
			err = ErrTaken
		}
		return nil, err
	}
	a.Status = Booked
	if err := s.putJSON(ctx, keyAppt(a.ID), a, 0); err != nil {
		return nil, err
	}
	if err := s.indexAppointment(ctx, a); err != nil {
		return nil, err
	}
	if err := s.deskBusy(ctx, a.Desk, true); err != nil {
		s.log.Warn("booking not counted", "err", err)
	}
	s.log.Info("appointment booked", "appointment", a.ID, "desk", a.Desk, "mode", a.Mode)
	s.publish(ctx, Event{Desk: a.Desk, Appointment: a.ID, Kind: "appointment"})
	return a, nil
}

// indexAppointment files an appointment in the desk calendar, the conversation's list, the
// reminders and retention.
func (s *Service) indexAppointment(ctx context.Context, a *Appointment) error {
	if err := s.store.IndexAdd(ctx, keyAppts(a.Desk), a.ID, float64(a.Start.Unix())); err != nil {
		return err
	}
	if err := s.store.IndexAdd(ctx, keyConvAppts(a.Address), a.ID, float64(a.Booked.Unix())); err != nil {
		return err
	}
	if err := s.store.IndexAdd(ctx, keyExpiry, "a:"+a.ID, ms(a.Start.Add(s.cfg.Retention))); err != nil {
		return err
	}
	remind := a.Start.Add(-s.cfg.RemindBefore)
	if remind.After(s.clock.Now().Add(time.Hour)) {
		return s.store.IndexAdd(ctx, keyRemind, a.ID, ms(remind))
	}
	_, err := s.store.IndexRemove(ctx, keyRemind, a.ID)
	return err
}

// move puts an appointment on another slot: the new slot is taken first, atomically, then the
// old one is released.
func (s *Service) move(ctx context.Context, a *Appointment, sl *Slot, by string, confirmed bool) (*Appointment, error) {
	if sl.ID == a.Slot {
		return a, nil
	}
	if sl.Desk != a.Desk || !sl.Start.After(s.clock.Now()) {
		return nil, ErrTaken
	}
	ok, err := s.store.PutIfAbsent(ctx, keyBooking(sl.ID), []byte(a.ID), 0)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, ErrTaken
	}
	if _, err := s.store.DeleteIfEqual(ctx, keyBooking(a.Slot), []byte(a.ID)); err != nil {
		return nil, err
	}
	now := s.clock.Now()
	a.Slot, a.Start, a.Length, a.Mode = sl.ID, sl.Start, sl.Length, sl.Mode
	a.Moves++
	a.Updated, a.By = now, by
	a.Status = Booked
	if confirmed {
		a.Status = Confirmed
	}
	if err := s.putJSON(ctx, keyAppt(a.ID), a, 0); err != nil {
		return nil, err
	}
	if err := s.indexAppointment(ctx, a); err != nil {
		return nil, err
	}
	s.publish(ctx, Event{Desk: a.Desk, Appointment: a.ID, Kind: "appointment"})
	return a, nil
}

// cancel releases an appointment's slot.
func (s *Service) cancel(ctx context.Context, a *Appointment, by string) error {
	if _, err := s.store.DeleteIfEqual(ctx, keyBooking(a.Slot), []byte(a.ID)); err != nil {
		return err
	}
	if _, err := s.store.DeleteIfEqual(ctx, keyActiveAppt(a.Address), []byte(a.ID)); err != nil {
		return err
	}
	if _, err := s.store.IndexRemove(ctx, keyRemind, a.ID); err != nil {
		return err
	}
	if _, err := s.store.IndexRemove(ctx, keyAppts(a.Desk), a.ID); err != nil {
		return err
	}
	a.Status, a.Updated, a.By = Cancelled, s.clock.Now(), by
	if err := s.putJSON(ctx, keyAppt(a.ID), a, 0); err != nil {
		return err
	}
	s.log.Info("appointment cancelled", "appointment", a.ID, "desk", a.Desk, "by_staff", by != "")
	s.publish(ctx, Event{Desk: a.Desk, Appointment: a.ID, Kind: "appointment"})
	return nil
}

// CancelAppointment cancels the conversation's standing appointment (the user's button).
func (s *Service) CancelAppointment(ctx context.Context, addr bot.Address) (*Appointment, error) {
	a, err := s.ActiveAppointment(ctx, addr)
	if err != nil || a == nil {
		return nil, err
	}
	if err := s.countBooking(ctx, addr); err != nil {
		return nil, err
	}
	return a, s.cancel(ctx, a, "")
}

// ---- what staff do with appointments ----

// CalendarEntry is a slot with its appointment, if booked.
type CalendarEntry struct {
	Slot        Slot
	Appointment *Appointment
}

// Calendar returns a desk's slots from from to to, with their appointments.
func (s *Service) Calendar(ctx context.Context, who *Account, desk string, from, to time.Time) ([]CalendarEntry, error) {
	if _, ok := s.offices[desk]; !ok || !who.CanAccess(desk) {
		return nil, ErrNotFound
	}
	entries, err := s.store.IndexRange(ctx, keySlots(desk), float64(from.Unix()), float64(to.Unix()), 0)
	if err != nil {
		return nil, err
	}
	var out []CalendarEntry
	for _, e := range entries {
		sl, err := s.slot(ctx, e.Member)
		if err != nil {
			continue
		}
		ce := CalendarEntry{Slot: *sl}
		if id, err := s.bookedBy(ctx, sl.ID); err == nil && id != "" {
			if a, err := s.appointment(ctx, id); err == nil && a.Status != Pending {
				ce.Appointment = a
			}
		}
		out = append(out, ce)
	}
	return out, nil
}

// AppointmentFor returns an appointment the account may manage.
func (s *Service) AppointmentFor(ctx context.Context, who *Account, id string) (*Appointment, error) {
	a, err := s.appointment(ctx, id)
	if err != nil {
		return nil, err
	}
	if !who.CanAccess(a.Desk) {
		return nil, ErrNotFound
	}
	return a, nil
}

func (s *Service) staffAppointment(ctx context.Context, who *Account, id string) (*Appointment, func(), error) {
	a, err := s.AppointmentFor(ctx, who, id)
	if err != nil {
		return nil, nil, err
	}
	if !who.CanBook(a.Desk) {
		return nil, nil, ErrForbidden
	}
	unlock, err := s.lock.Lock(ctx, "desk:appt:"+id)
	if err != nil {
		return nil, nil, err
	}
	if a, err = s.appointment(ctx, id); err != nil { // again, under the lock
		unlock()
		return nil, nil, err
	}
	if !a.Active(s.clock.Now()) {
		unlock()
		return nil, nil, ErrClosed
	}
	return a, unlock, nil
}

// ConfirmAppointment confirms a booking; the user is told.
func (s *Service) ConfirmAppointment(ctx context.Context, who *Account, id string) error {
	a, unlock, err := s.staffAppointment(ctx, who, id)
	if err != nil {
		return err
	}
	defer unlock()
	a.Status, a.Updated, a.By = Confirmed, s.clock.Now(), who.Name
	if err := s.putJSON(ctx, keyAppt(a.ID), a, 0); err != nil {
		return err
	}
	s.publish(ctx, Event{Desk: a.Desk, Appointment: a.ID, Kind: "appointment"})
	_, err = s.send(ctx, &delivery{Kind: kindAppointment, To: a.Address, Desk: a.Desk, Lang: a.Lang, Appt: a.ID, Notice: "confirmed"})
	return err
}

// MoveAppointment puts a booking on another free slot; the user is told.
func (s *Service) MoveAppointment(ctx context.Context, who *Account, id, slot string) error {
	a, unlock, err := s.staffAppointment(ctx, who, id)
	if err != nil {
		return err
	}
	defer unlock()
	sl, err := s.slot(ctx, slot)
	if err != nil {
		return ErrTaken
	}
	if _, err := s.move(ctx, a, sl, who.Name, true); err != nil {
		return err
	}
	_, err = s.send(ctx, &delivery{Kind: kindAppointment, To: a.Address, Desk: a.Desk, Lang: a.Lang, Appt: a.ID, Notice: "moved"})
	return err
}

// CancelAppointmentByStaff cancels a booking; the user is told and may book again.
func (s *Service) CancelAppointmentByStaff(ctx context.Context, who *Account, id string) error {
	a, unlock, err := s.staffAppointment(ctx, who, id)
	if err != nil {
		return err
	}
	defer unlock()
	if err := s.cancel(ctx, a, who.Name); err != nil {
		return err
	}
	_, err = s.send(ctx, &delivery{Kind: kindAppointment, To: a.Address, Desk: a.Desk, Lang: a.Lang, Appt: a.ID, Notice: "cancelled"})
	return err
}

// eraseAppointments removes every appointment of a conversation (/forget), freeing its slots.
func (s *Service) eraseAppointments(ctx context.Context, addr bot.Address) error {
	entries, err := s.store.IndexRange(ctx, keyConvAppts(addr), math.Inf(-1), math.Inf(1), 0)
	if err != nil {
		return fmt.Errorf("erase appointments: %w", err)
	}
	if raw, err := s.store.Get(ctx, keyActiveAppt(addr)); err == nil {
		entries = append(entries, bot.IndexEntry{Member: string(raw)})
	}
	for _, e := range entries {
		if err := s.deleteAppointment(ctx, e.Member); err != nil {
			return fmt.Errorf("erase appointments: %w", err)
		}
	}
	now := s.clock.Now().UTC()
	return s.store.Delete(ctx, keyConvAppts(addr), keyActiveAppt(addr), keyApptRequest(addr),
		keyBookDay(addr, now.Format("20060102")), keyBookDay(addr, now.AddDate(0, 0, -1).Format("20060102")))
}

func (s *Service) deleteAppointment(ctx context.Context, id string) error {
	a, err := s.appointment(ctx, id)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return err
	}
	if a != nil {
		if _, err := s.store.DeleteIfEqual(ctx, keyBooking(a.Slot), []byte(id)); err != nil {
			return err
		}
		if _, err := s.store.IndexRemove(ctx, keyAppts(a.Desk), id); err != nil {
			return err
		}
		if _, err := s.store.IndexRemove(ctx, keyConvAppts(a.Address), id); err != nil {
			return err
		}
		defer s.publish(ctx, Event{Desk: a.Desk, Appointment: id, Kind: "appointment"})
	}
	for _, k := range []string{keyRemind, keyExpiry} {
		member := id
		if k == keyExpiry {
			member = "a:" + id
		}
		if _, err := s.store.IndexRemove(ctx, k, member); err != nil {
			return err
		}
	}
	return s.store.Delete(ctx, keyAppt(id))
}
