package desk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/sportello/sportello/bot"
)

// Everything the desk sends to a user outside of the user's own message — a staff reply, the
// end of a ticket, an appointment notice — goes through an outbox in the store: it is written
// first, then sent; a failed or interrupted send is tried again by Run until it reaches the
// user (or the channel says it never will). The outbox holds references, never message text,
// so /forget leaves nothing behind in it.

const (
	kindReply       = "reply"       // a staff reply (Ticket, Seq)
	kindClosed      = "closed"      // staff closed the ticket
	kindEnded       = "ended"       // the user wrote to a ticket that had ended
	kindAppointment = "appointment" // a notice about an appointment (Appt, Notice)
)

type delivery struct {
	ID       string      `json:"id"`
	Kind     string      `json:"kind"`
	To       bot.Address `json:"to"`
	Desk     string      `json:"desk,omitempty"`
	Lang     string      `json:"lang,omitempty"`
	Ticket   string      `json:"ticket,omitempty"`
	Seq      int         `json:"seq,omitempty"`
	Appt     string      `json:"appt,omitempty"`
	Notice   string      `json:"notice,omitempty"`
	Created  time.Time   `json:"created"`
	Attempts int         `json:"attempts,omitempty"`
}

const keyOutbox = "desk:outbox" // delivery ids by the time of their next attempt

func keyDelivery(id string) string { return "desk:out:" + id }
func keyLease(id string) string    { return "desk:out-lease:" + id }

// giveUpAfter is how long a delivery is retried.
const giveUpAfter = 7 * 24 * time.Hour

// enqueue stores a delivery, due after delay.
func (s *Service) enqueue(ctx context.Context, d *delivery, delay time.Duration) error {
	if d.ID == "" {
		d.ID = newID("D", 12)
	}
	if d.Created.IsZero() {
		d.Created = s.clock.Now()
	}
	if err := s.putJSON(ctx, keyDelivery(d.ID), d, giveUpAfter+24*time.Hour); err != nil {
		return fmt.Errorf("outbox: %w", err)
	}
	if err := s.store.IndexAdd(ctx, keyOutbox, d.ID, ms(s.clock.Now().Add(delay))); err != nil {
		return fmt.Errorf("outbox: %w", err)
	}
	return nil
}

// send stores a delivery and tries it at once; it reports whether it reached the user. A send
// that failed stays in the outbox for Run.
func (s *Service) send(ctx context.Context, d *delivery) (bool, error) {
	// Due in a minute: Run leaves it alone while this first attempt is under way.
	if err := s.enqueue(ctx, d, time.Minute); err != nil {
		return false, err
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 20*time.Second)
	defer cancel()
	return s.attempt(ctx, d.ID)
}

// attempt tries one delivery under a lease, so that one replica sends it at a time.
func (s *Service) attempt(ctx context.Context, id string) (bool, error) {
	lease := []byte(newID("", 8))
	ok, err := s.store.PutIfAbsent(ctx, keyLease(id), lease, 2*time.Minute)
	if err != nil || !ok {
		return false, err
	}
	defer func() { _, _ = s.store.DeleteIfEqual(context.WithoutCancel(ctx), keyLease(id), lease) }()
	var d delivery
	if err := s.getJSON(ctx, keyDelivery(id), &d); err != nil {
		if errors.Is(err, ErrNotFound) {
			_, _ = s.store.IndexRemove(ctx, keyOutbox, id)
			return false, nil
		}
		return false, err
	}
	change, err := s.change(ctx, &d)
	if errors.Is(err, ErrNotFound) {
		// What it was about is gone (erased, expired): nothing to send.
		return false, s.dequeue(ctx, id)
	}
	if err != nil {
		return false, err
	}
	if err := s.cfg.Relay.Notify(ctx, d.To, change); err != nil {
		failure, _ := bot.Classify(err)
		d.Attempts++
		if failure == bot.Permanent || s.clock.Now().Sub(d.Created) > giveUpAfter {
			s.log.Warn("delivery given up", "kind", d.Kind, "conversation", bot.Pseudonym(d.To.Key()), "attempts", d.Attempts, "err", err)
			s.delivered(ctx, &d, false)
			return false, s.dequeue(ctx, id)
		}
		backoff := min(time.Hour, 15*time.Second<<min(d.Attempts, 12))
		s.log.Info("delivery will be retried", "kind", d.Kind, "conversation", bot.Pseudonym(d.To.Key()), "attempts", d.Attempts, "in", backoff, "err", err)
		if perr := s.putJSON(ctx, keyDelivery(id), &d, giveUpAfter+24*time.Hour); perr != nil {
			return false, perr
		}
		return false, s.store.IndexAdd(ctx, keyOutbox, id, ms(s.clock.Now().Add(backoff)))
	}
	s.delivered(ctx, &d, true)
	return true, s.dequeue(ctx, id)
}

func (s *Service) dequeue(ctx context.Context, id string) error {
	if _, err := s.store.IndexRemove(ctx, keyOutbox, id); err != nil {
		return err
	}
	return s.store.Delete(ctx, keyDelivery(id))
}

// delivered records on the ticket whether a staff reply reached the user.
func (s *Service) delivered(ctx context.Context, d *delivery, ok bool) {
	if d.Kind != kindReply {
		return
	}
	event := "delivered"
	if !ok {
		event = "failed"
	}
	if _, err := s.appendMessage(ctx, d.Ticket, Message{At: s.clock.Now(), From: "system", Event: event, Ref: d.Seq}, 0); err != nil {
		s.log.Warn("delivery not recorded", "ticket", d.Ticket, "err", err)
	}
	s.publish(ctx, Event{Desk: d.Desk, Ticket: d.Ticket, Kind: "delivered"})
}

// change builds what Notify does to the conversation for a delivery.
func (s *Service) change(ctx context.Context, d *delivery) (func(*bot.Session) []bot.Reply, error) {
	switch d.Kind {
	case kindReply:
		t, err := s.load(ctx, d.Ticket)
		if err != nil {
			return nil, err
		}
		raws, err := s.store.Range(ctx, keyMessages(d.Ticket), int64(d.Seq))
		if err != nil {
			return nil, err
		}
		if len(raws) == 0 {
			return nil, ErrNotFound
		}
		var m Message
		if err := json.Unmarshal(raws[0], &m); err != nil || m.From != "staff" {
			return nil, ErrNotFound
		}
		return func(ss *bot.Session) []bot.Reply {
			s.resume(ss, t)
			// The session may have expired while staff were writing: the conversation goes
			// back to the ticket, so the user's answer reaches staff.
			if t.Open() && ss.Ticket == "" {
				ss.Ticket = t.ID
			}
			return []bot.Reply{{Text: s.cfg.Texts.T(ss.Lang, "desk.staff_reply", map[string]any{"Text": m.Text}),
				Lang: ss.Lang, Staff: true, Handoff: t.ID}}
		}, nil
	case kindClosed, kindEnded:
		t, err := s.load(ctx, d.Ticket)
		if err != nil && !(d.Kind == kindEnded && errors.Is(err, ErrNotFound)) {
			return nil, err
		}
		return func(ss *bot.Session) []bot.Reply {
			if t != nil {
				s.resume(ss, t)
			}
			mine := ss.Ticket == d.Ticket
			if d.Kind == kindEnded && !mine {
				return nil // already back with the bot
			}
			if !mine && ss.Ticket != "" {
				return nil // the user has opened another request since
			}
			ss.Ticket = ""
			return []bot.Reply{{Text: s.cfg.Texts.T(ss.Lang, "handoff.closed", nil), Lang: ss.Lang, Handoff: d.Ticket,
				Buttons: [][]bot.Button{{{Label: s.cfg.Texts.T(ss.Lang, "menu.back", nil), Action: ActionMenu}}}}}
		}, nil
	case kindAppointment:
		return s.appointmentNotice(ctx, d)
	}
	return nil, fmt.Errorf("unknown delivery kind %q", d.Kind)
}

// ActionMenu is the flow engine's button action for the main menu.
const ActionMenu = "m"

// resume fills an expired (re-created) session from the ticket: language and desk.
func (s *Service) resume(ss *bot.Session, t *Ticket) {
	if ss.Lang == "" {
		ss.Lang = t.Lang
	}
	if ss.Desk == "" {
		ss.Desk = t.Desk
	}
	if ss.User == "" {
		ss.User = t.User
	}
}
