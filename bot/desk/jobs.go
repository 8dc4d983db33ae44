package desk

import (
	"context"
	"errors"
	"math"
	"strings"
	"time"
)

// Run does the desk's scheduled work until ctx ends: reminders and deliveries that are due,
// every Tick, and retention once an hour. Every replica runs it; leases in the store make each
// round run on one replica, and each reminder is taken from its index by exactly one.
func (s *Service) Run(ctx context.Context) error {
	t := time.NewTicker(s.cfg.Tick)
	defer t.Stop()
	for {
		if _, err := s.RunDue(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("desk jobs", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// JobReport says what one round of RunDue did.
type JobReport struct {
	Ran       bool // false: another replica holds this round
	Reminders int  // reminders sent
	Delivered int  // outbox deliveries that reached the user
	Swept     int  // tickets and appointments deleted at the end of their retention
}

// RunDue runs one round of the scheduled work, if no other replica is running it.
func (s *Service) RunDue(ctx context.Context) (JobReport, error) {
	var rep JobReport
	token := []byte(newID("", 10))
	ok, err := s.store.PutIfAbsent(ctx, "desk:job:due", token, max(time.Minute, 2*s.cfg.Tick))
	if err != nil || !ok {
		return rep, err
	}
	defer func() { _, _ = s.store.DeleteIfEqual(context.WithoutCancel(ctx), "desk:job:due", token) }()
	rep.Ran = true
	var errs []error
	n, err := s.sendReminders(ctx)
	rep.Reminders = n
	errs = append(errs, err)
	n, err = s.retryDeliveries(ctx)
	rep.Delivered = n
	errs = append(errs, err)
	if ok, err := s.store.PutIfAbsent(ctx, "desk:job:sweep", token, time.Hour); err == nil && ok {
		rep.Swept, err = s.Sweep(ctx)
		errs = append(errs, err)
	}
	return rep, errors.Join(errs...)
}

// sendReminders sends the reminders that are due. Removing the appointment from the reminder
// index is the claim: only the caller that removed it sends the reminder.
func (s *Service) sendReminders(ctx context.Context) (int, error) {
	due, err := s.store.IndexRange(ctx, keyRemind, math.Inf(-1), ms(s.clock.Now()), 200)
	if err != nil {
		return 0, err
	}
	sent := 0
	for _, e := range due {
		mine, err := s.store.IndexRemove(ctx, keyRemind, e.Member)
		if err != nil {
			return sent, err
		}
		if !mine {
			continue
		}
		a, err := s.appointment(ctx, e.Member)
		if err != nil || !a.Active(s.clock.Now()) {
			continue
		}
		d := &delivery{Kind: kindAppointment, To: a.Address, Desk: a.Desk, Lang: a.Lang, Appt: a.ID, Notice: "reminder"}
		if _, err := s.send(ctx, d); err != nil {
			s.log.Warn("reminder not sent yet", "appointment", a.ID, "err", err)
		}
		sent++
	}
	return sent, nil
}

// retryDeliveries tries the outbox deliveries that are due.
func (s *Service) retryDeliveries(ctx context.Context) (int, error) {
	due, err := s.store.IndexRange(ctx, keyOutbox, math.Inf(-1), ms(s.clock.Now()), 200)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, e := range due {
		ok, err := s.attempt(ctx, e.Member)
		if err != nil {
			s.log.Warn("delivery attempt", "err", err)
		}
		if ok {
			n++
		}
	}
	return n, nil
}

// Sweep deletes the closed tickets and past appointments whose retention ended, and slots
// that passed a week ago.
func (s *Service) Sweep(ctx context.Context) (int, error) {
	now := s.clock.Now()
	due, err := s.store.IndexRange(ctx, keyExpiry, math.Inf(-1), ms(now), 0)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, e := range due {
		kind, id, _ := strings.Cut(e.Member, ":")
		switch kind {
		case "t":
			err = s.deleteTicket(ctx, id)
		case "a":
			err = s.deleteAppointment(ctx, id)
		default:
			_, err = s.store.IndexRemove(ctx, keyExpiry, e.Member)
		}
		if err != nil {
			return n, err
		}
		n++
	}
	for _, desk := range s.order {
		old, err := s.store.IndexRange(ctx, keySlots(desk), math.Inf(-1), float64(now.Add(-7*24*time.Hour).Unix()), 0)
		if err != nil {
			return n, err
		}
		for _, e := range old {
			if _, err := s.store.IndexRemove(ctx, keySlots(desk), e.Member); err != nil {
				return n, err
			}
			if err := s.store.Delete(ctx, keySlot(e.Member), keyBooking(e.Member)); err != nil {
				return n, err
			}
		}
	}
	if n > 0 {
		s.log.Info("retention", "deleted", n)
	}
	return n, nil
}
