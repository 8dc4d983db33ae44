package desk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/sportello/sportello/bot"
)

// Status is where a ticket is: waiting → claimed → closed.
type Status string

const (
	Waiting Status = "waiting"
	Claimed Status = "claimed"
	Closed  Status = "closed"
)

// Outcomes a ticket can be closed with. "cancelled" is set when the user cancels.
var Outcomes = []string{"resolved", "appointment", "referred", "no-reply", "duplicate"}

// OutcomeCancelled is the outcome of a ticket the user cancelled.
const OutcomeCancelled = "cancelled"

// Ticket is one handoff to desk staff.
type Ticket struct {
	ID       string            `json:"id"`
	Desk     string            `json:"desk"`
	Topic    string            `json:"topic"`
	Lang     string            `json:"lang"`
	Priority bot.Priority      `json:"priority"`
	Address  bot.Address       `json:"address"` // channel and conversation: where staff replies go
	User     string            `json:"user,omitempty"`
	Reason   string            `json:"reason"` // "user", "rule:<id>", "flow:<id>", "article:<id>"
	Article  string            `json:"article,omitempty"`
	Summary  map[string]string `json:"summary,omitempty"` // what the flow collected, reason, article
	Status   Status            `json:"status"`
	Outcome  string            `json:"outcome,omitempty"`
	Assignee string            `json:"assignee,omitempty"` // staff account name
	Requests int               `json:"requests"`           // how often the user asked (asking again joins the open ticket)

	Opened     time.Time `json:"opened"`
	ClaimedAt  time.Time `json:"claimed_at,omitzero"`
	FirstReply time.Time `json:"first_reply,omitzero"`
	ClosedAt   time.Time `json:"closed_at,omitzero"`
	Updated    time.Time `json:"updated"`
	LastUser   time.Time `json:"last_user,omitzero"` // the user's last message

	// What the user was promised.
	InHours     bool          `json:"in_hours"`
	TypicalWait time.Duration `json:"typical_wait,omitempty"`
	ReplyBy     time.Time     `json:"reply_by,omitzero"`

	// Messages is the transcript: the conversation before the handoff (Before), then the
	// user's messages, staff replies, internal notes and events. Filled by Ticket, not stored
	// in the ticket's own key.
	Messages []Message `json:"-"`
}

// SummaryMessage is the HandoffRequest.Summary key of the message that led to the handoff
// (flows.SummaryMessage): it goes into the transcript, not the summary.
const SummaryMessage = "message"

// Open reports whether staff can still act on the ticket.
func (t *Ticket) Open() bool { return t.Status != Closed }

// Message is one line of a ticket's transcript.
type Message struct {
	At      time.Time `json:"at"`
	From    string    `json:"from"` // user, bot, staff, note, system
	Text    string    `json:"text,omitempty"`
	Staff   string    `json:"staff,omitempty"` // the account that wrote a reply or note, or acted
	Media   bot.Media `json:"media,omitempty"`
	Article string    `json:"article,omitempty"`
	Event   string    `json:"event,omitempty"` // system: opened, again, claimed, closed, cancelled, delivered, failed, late
	Ref     int       `json:"ref,omitempty"`   // delivered/failed: index of the staff reply in Messages (after Before)
	Before  bool      `json:"before,omitempty"`
	Seq     int       `json:"seq"` // index among the live messages (not Before)
}

func keyHistory(id string) string { return "desk:history:" + id }

// queueScore orders open tickets: urgent first, then high, then by age.
func queueScore(p bot.Priority, opened time.Time) float64 {
	return float64(int(bot.PriorityUrgent)-int(p))*1e13 + ms(opened)
}

// Open implements bot.Desk: it creates a ticket (or joins the conversation's open one) with the
// transcript so far, and returns what the user can expect.
func (s *Service) Open(ctx context.Context, req bot.HandoffRequest) (bot.HandoffOffer, error) {
	office, ok := s.offices[req.Desk]
	if !ok {
		return bot.HandoffOffer{}, fmt.Errorf("open ticket: unknown desk %q", req.Desk)
	}
	now := s.clock.Now()
	if raw, err := s.store.Get(ctx, keyOpenTicket(req.Address)); err == nil {
		offer, joined, err := s.join(ctx, office, string(raw), req, now)
		if err != nil || joined {
			return offer, err
		}
	} else if !errors.Is(err, bot.ErrNotFound) {
		return bot.HandoffOffer{}, fmt.Errorf("open ticket: %w", err)
	}
	offer, err := s.offer(ctx, office, now)
	if err != nil {
		return offer, err
	}
	t := &Ticket{
		ID: newID("T", 8), Desk: office.ID, Topic: req.Topic, Lang: req.Lang, Priority: req.Priority,
		Address: req.Address, User: req.User, Reason: req.Reason, Article: req.Article,
		Summary: map[string]string{}, Status: Waiting, Requests: 1, Opened: now, Updated: now,
		InHours: offer.InHours, TypicalWait: offer.TypicalWait, ReplyBy: offer.ReplyBy,
	}
	var trigger string
	for k, v := range req.Summary {
		if k == SummaryMessage {
			trigger = v
			continue
		}
		t.Summary[k] = v
	}
	t.Summary["reason"] = req.Reason
	if req.Article != "" {
		t.Summary["article"] = req.Article
	}
	if t.Topic == "" {
		t.Topic = "human"
	}
	if t.Reason == "" {
		t.Reason = "user"
	}
	offer.Ticket = t.ID

	// The conversation so far, as the router recorded it, for staff to read.
	entries, err := s.cfg.Relay.Transcript(ctx, req.Address)
	if err != nil {
		s.log.Warn("ticket opened without transcript", "ticket", t.ID, "err", err)
	}
	history := make([]Message, 0, len(entries)+1)
	for _, e := range entries {
		history = append(history, Message{At: e.At, From: e.From, Text: e.Text, Article: e.Article, Before: true})
	}
	if trigger != "" {
		at := req.At
		if at.IsZero() {
			at = now
		}
		history = append(history, Message{At: at, From: "user", Text: trigger, Before: true})
	}
	if len(history) > 0 {
		if err := s.putJSON(ctx, keyHistory(t.ID), history, 0); err != nil {
			return offer, fmt.Errorf("open ticket: %w", err)
		}
	}
	if err := s.putJSON(ctx, keyTicket(t.ID), t, 0); err != nil {
		return offer, fmt.Errorf("open ticket: %w", err)
	}
	if err := s.store.IndexAdd(ctx, keyQueue(t.Desk), t.ID, queueScore(t.Priority, t.Opened)); err != nil {
		return offer, fmt.Errorf("open ticket: %w", err)
	}
	if err := s.store.IndexAdd(ctx, keyConvTickets(t.Address), t.ID, ms(now)); err != nil {
		return offer, fmt.Errorf("open ticket: %w", err)
	}
	if err := s.store.Put(ctx, keyOpenTicket(t.Address), []byte(t.ID), 0); err != nil {
		return offer, fmt.Errorf("open ticket: %w", err)
	}
	if _, err := s.appendMessage(ctx, t.ID, Message{At: now, From: "system", Event: "opened"}, 0); err != nil {
		return offer, err
	}
	s.log.Info("ticket opened", "ticket", t.ID, "desk", t.Desk, "priority", int(t.Priority), "reason", t.Reason, "in_hours", offer.InHours)
	s.publish(ctx, Event{Desk: t.Desk, Ticket: t.ID, Kind: "opened"})
	return offer, nil
}

// join adds a new request to the conversation's open ticket instead of opening a second one
// (its session may have expired while staff had not answered yet).
func (s *Service) join(ctx context.Context, office *Office, id string, req bot.HandoffRequest, now time.Time) (bot.HandoffOffer, bool, error) {
	var offer bot.HandoffOffer
	joined := false
	err := s.update(ctx, id, func(t *Ticket) error {
		if !t.Open() {
			return nil
		}
		joined = true
		t.Requests++
		t.Updated = now
		for k, v := range req.Summary {
			if _, ok := t.Summary[k]; !ok {
				t.Summary[k] = v
			}
		}
		if req.Priority > t.Priority {
			t.Priority = req.Priority
			if err := s.store.IndexAdd(ctx, keyQueue(t.Desk), t.ID, queueScore(t.Priority, t.Opened)); err != nil {
				return err
			}
		}
		offer = bot.HandoffOffer{Ticket: t.ID, InHours: t.InHours, TypicalWait: t.TypicalWait, ReplyBy: t.ReplyBy}
		if t.Status == Waiting {
			if o, err := s.offer(ctx, office, now); err == nil {
				o.Ticket = t.ID
				offer = o
			}
		} else {
			offer.InHours, offer.TypicalWait = true, time.Minute
		}
		_, err := s.appendMessage(ctx, t.ID, Message{At: now, From: "system", Event: "again", Text: req.Reason}, 0)
		return err
	})
	if errors.Is(err, ErrNotFound) {
		_, _ = s.store.DeleteIfEqual(ctx, keyOpenTicket(req.Address), []byte(id))
		return offer, false, nil
	}
	if err != nil || !joined {
		return offer, false, err
	}
	s.publish(ctx, Event{Desk: office.ID, Ticket: id, Kind: "message"})
	return offer, true, nil
}

// offer decides what the user is promised: in office hours with room in the queue, a colleague
// answers here within the typical wait; otherwise an asynchronous request with a reply window.
func (s *Service) offer(ctx context.Context, o *Office, now time.Time) (bot.HandoffOffer, error) {
	if open, closes := o.OpenAt(now); open {
		queue, err := s.queue(ctx, o.ID)
		if err != nil {
			return bot.HandoffOffer{}, err
		}
		waiting, claimed := 0, 0
		for _, t := range queue {
			if t.Status == Waiting {
				waiting++
			} else {
				claimed++
			}
		}
		base := s.typicalWait(ctx, o.ID, now)
		// Free seats take the next waiting people at once; beyond them people wait in turns
		// of the typical wait per round of the staff's capacity.
		free := max(0, o.Capacity-claimed)
		wait := base
		if ahead := waiting + 1 - free; ahead > 0 {
			rounds := (ahead + o.Capacity - 1) / o.Capacity
			wait = base * time.Duration(1+rounds)
		}
		if now.Add(wait).Before(closes) {
			return bot.HandoffOffer{InHours: true, TypicalWait: wait}, nil
		}
		now = closes
	}
	next := o.NextOpening(now)
	if next.IsZero() {
		next = now
	}
	return bot.HandoffOffer{ReplyBy: next.Add(o.ReplyWithin).In(o.Location)}, nil
}

type waitEntry struct {
	At   time.Time     `json:"at"`
	Wait time.Duration `json:"wait"`
}

// waits returns the measured waits (time from opening to the first staff action) of a desk.
func (s *Service) waits(ctx context.Context, desk string) []waitEntry {
	raws, err := s.store.Range(ctx, keyWaits(desk), 0)
	if err != nil {
		return nil
	}
	out := make([]waitEntry, 0, len(raws))
	for _, raw := range raws {
		var w waitEntry
		if json.Unmarshal(raw, &w) == nil {
			out = append(out, w)
		}
	}
	return out
}

// typicalWait is the median of the last 20 waits of the past two weeks, or the default.
func (s *Service) typicalWait(ctx context.Context, desk string, now time.Time) time.Duration {
	var recent []time.Duration
	ws := s.waits(ctx, desk)
	for i := len(ws) - 1; i >= 0 && len(recent) < 20; i-- {
		if now.Sub(ws[i].At) <= 14*24*time.Hour {
			recent = append(recent, ws[i].Wait)
		}
	}
	if len(recent) == 0 {
		return s.cfg.DefaultWait
	}
	return max(time.Minute, median(recent))
}

func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// Forward implements bot.Desk: the user's message goes to the ticket.
func (s *Service) Forward(ctx context.Context, id string, in bot.Inbound) error {
	if in.Text == "" && in.Media == bot.MediaNone {
		return nil // a stale button pressed while staff have the conversation
	}
	now := s.clock.Now()
	at := in.At
	if at.IsZero() {
		at = now
	}
	var desk string
	late := false
	err := s.update(ctx, id, func(t *Ticket) error {
		desk = t.Desk
		late = !t.Open()
		t.LastUser, t.Updated = at, now
		return nil
	})
	if errors.Is(err, ErrNotFound) || late {
		// The ticket ended while this message was on its way (closed, erased or expired): keep
		// the message on a closed ticket for staff, and give the conversation back to the bot.
		if late {
			_, _ = s.appendMessage(ctx, id, Message{At: at, From: "user", Text: in.Text, Media: in.Media, Event: "late"}, s.cfg.Retention)
		}
		s.returnToBot(ctx, in.Address, id)
		return nil
	}
	if err != nil {
		return fmt.Errorf("forward: %w", err)
	}
	if _, err := s.appendMessage(ctx, id, Message{At: at, From: "user", Text: in.Text, Media: in.Media}, 0); err != nil {
		return fmt.Errorf("forward: %w", err)
	}
	s.publish(ctx, Event{Desk: desk, Ticket: id, Kind: "message"})
	return nil
}

// Cancel implements bot.Desk: the user withdrew the request.
func (s *Service) Cancel(ctx context.Context, id string) error {
	var desk string
	changed := false
	err := s.update(ctx, id, func(t *Ticket) error {
		if !t.Open() {
			return nil
		}
		changed, desk = true, t.Desk
		now := s.clock.Now()
		t.Status, t.Outcome, t.ClosedAt, t.Updated = Closed, OutcomeCancelled, now, now
		return s.closed(ctx, t, Message{At: now, From: "system", Event: "cancelled"})
	})
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("cancel ticket: %w", err)
	}
	if changed {
		s.publish(ctx, Event{Desk: desk, Ticket: id, Kind: "closed"})
	}
	return nil
}

// closed moves a ticket that just closed out of the queue and starts its retention.
func (s *Service) closed(ctx context.Context, t *Ticket, m Message) error {
	if _, err := s.store.IndexRemove(ctx, keyQueue(t.Desk), t.ID); err != nil {
		return err
	}
	if err := s.store.IndexAdd(ctx, keyClosed(t.Desk), t.ID, ms(t.ClosedAt)); err != nil {
		return err
	}
	if err := s.store.IndexAdd(ctx, keyExpiry, "t:"+t.ID, ms(t.ClosedAt.Add(s.cfg.Retention))); err != nil {
		return err
	}
	if _, err := s.store.DeleteIfEqual(ctx, keyOpenTicket(t.Address), []byte(t.ID)); err != nil {
		return err
	}
	_, err := s.appendMessage(ctx, t.ID, m, s.keepFor())
	return err
}

// keepFor is the store expiry of a closed ticket's keys: the retention job deletes them at the
// end of the retention; the expiry is a safety net a week later.
func (s *Service) keepFor() time.Duration { return s.cfg.Retention + 7*24*time.Hour }

// update changes a ticket under its lock.
func (s *Service) update(ctx context.Context, id string, change func(*Ticket) error) error {
	if !validID(id) {
		return ErrNotFound
	}
	unlock, err := s.lock.Lock(ctx, keyTicketLock(id))
	if err != nil {
		return err
	}
	defer unlock()
	var t Ticket
	if err := s.getJSON(ctx, keyTicket(id), &t); err != nil {
		return err
	}
	if err := change(&t); err != nil {
		return err
	}
	ttl := time.Duration(0)
	if !t.Open() {
		ttl = s.keepFor()
	}
	return s.putJSON(ctx, keyTicket(id), &t, ttl)
}

func validID(id string) bool { return id != "" && len(id) <= 40 && idSafe(id) }

// appendMessage adds a line to a ticket's transcript and returns its index.
func (s *Service) appendMessage(ctx context.Context, id string, m Message, ttl time.Duration) (int, error) {
	raw, err := json.Marshal(m)
	if err != nil {
		return 0, err
	}
	n, err := s.store.Append(ctx, keyMessages(id), 0, ttl, raw)
	if err != nil {
		return 0, fmt.Errorf("ticket message: %w", err)
	}
	return int(n - 1), nil
}

// Ticket returns a ticket with its transcript.
func (s *Service) Ticket(ctx context.Context, id string) (*Ticket, error) {
	t, err := s.load(ctx, id)
	if err != nil {
		return nil, err
	}
	var history []Message
	if err := s.getJSON(ctx, keyHistory(id), &history); err != nil && !errors.Is(err, ErrNotFound) {
		return nil, err
	}
	raws, err := s.store.Range(ctx, keyMessages(id), 0)
	if err != nil {
		return nil, err
	}
	t.Messages = history
	for i, raw := range raws {
		var m Message
		if json.Unmarshal(raw, &m) == nil {
			m.Seq = i
			t.Messages = append(t.Messages, m)
		}
	}
	return t, nil
}

func (s *Service) load(ctx context.Context, id string) (*Ticket, error) {
	if !validID(id) {
		return nil, ErrNotFound
	}
	var t Ticket
	if err := s.getJSON(ctx, keyTicket(id), &t); err != nil {
		return nil, err
	}
	return &t, nil
}

// queue returns a desk's open tickets, urgent first, then oldest first.
func (s *Service) queue(ctx context.Context, desk string) ([]*Ticket, error) {
	entries, err := s.store.IndexRange(ctx, keyQueue(desk), math.Inf(-1), math.Inf(1), 0)
	if err != nil {
		return nil, fmt.Errorf("queue: %w", err)
	}
	out := make([]*Ticket, 0, len(entries))
	for _, e := range entries {
		t, err := s.load(ctx, e.Member)
		if errors.Is(err, ErrNotFound) {
			_, _ = s.store.IndexRemove(ctx, keyQueue(desk), e.Member)
			continue
		}
		if err != nil {
			return nil, err
		}
		if t.Open() {
			out = append(out, t)
		}
	}
	return out, nil
}

// RecentlyClosed returns up to limit tickets of a desk closed within the last since, newest first.
func (s *Service) recentlyClosed(ctx context.Context, desk string, since time.Duration, limit int) ([]*Ticket, error) {
	now := s.clock.Now()
	entries, err := s.store.IndexRange(ctx, keyClosed(desk), ms(now.Add(-since)), math.Inf(1), 0)
	if err != nil {
		return nil, err
	}
	var out []*Ticket
	for i := len(entries) - 1; i >= 0 && len(out) < limit; i-- {
		if t, err := s.load(ctx, entries[i].Member); err == nil {
			out = append(out, t)
		}
	}
	return out, nil
}

// ---- what staff do ----

// Filter narrows the queue.
type Filter struct {
	Desk     string // "" = every desk the account may see
	Lang     string
	Priority *bot.Priority
	Status   Status // "" = waiting and claimed; Closed = recently closed
	Mine     bool
}

// Queue returns the tickets the account may see that match f.
func (s *Service) Queue(ctx context.Context, who *Account, f Filter) ([]*Ticket, error) {
	var out []*Ticket
	for _, desk := range s.order {
		if !who.CanAccess(desk) || (f.Desk != "" && f.Desk != desk) {
			continue
		}
		var ts []*Ticket
		var err error
		if f.Status == Closed {
			ts, err = s.recentlyClosed(ctx, desk, 7*24*time.Hour, 50)
		} else {
			ts, err = s.queue(ctx, desk)
		}
		if err != nil {
			return nil, err
		}
		for _, t := range ts {
			if (f.Lang == "" || t.Lang == f.Lang) && (f.Priority == nil || t.Priority == *f.Priority) &&
				(f.Status == "" || f.Status == Closed || t.Status == f.Status) && (!f.Mine || t.Assignee == who.Name) {
				out = append(out, t)
			}
		}
	}
	if f.Status != Closed {
		sort.SliceStable(out, func(i, j int) bool {
			return queueScore(out[i].Priority, out[i].Opened) < queueScore(out[j].Priority, out[j].Opened)
		})
	}
	return out, nil
}

// TicketFor returns a ticket the account may see; another desk's ticket is "not found".
func (s *Service) TicketFor(ctx context.Context, who *Account, id string) (*Ticket, error) {
	t, err := s.Ticket(ctx, id)
	if err != nil {
		return nil, err
	}
	if !who.CanAccess(t.Desk) {
		return nil, ErrNotFound
	}
	return t, nil
}

// staffUpdate is update for a staff action: the account must see the ticket's desk and act on
// an open ticket.
func (s *Service) staffUpdate(ctx context.Context, who *Account, id string, change func(*Ticket) error) (*Ticket, error) {
	var out *Ticket
	err := s.update(ctx, id, func(t *Ticket) error {
		if !who.CanAccess(t.Desk) {
			return ErrNotFound
		}
		if !t.Open() {
			return ErrClosed
		}
		if err := change(t); err != nil {
			return err
		}
		out = t
		return nil
	})
	return out, err
}

// takeOver claims t for who if it is waiting; a ticket claimed by someone else stays theirs
// unless force is set (an admin reassigning, or a colleague taking over on purpose).
func (s *Service) takeOver(ctx context.Context, t *Ticket, who *Account, now time.Time, force bool) error {
	if t.Status == Claimed && t.Assignee != who.Name && !force {
		return ErrClaimed
	}
	if t.Status == Claimed && t.Assignee == who.Name {
		return nil
	}
	first := t.ClaimedAt.IsZero()
	t.Status, t.Assignee, t.Updated = Claimed, who.Name, now
	if first {
		t.ClaimedAt = now
		raw, _ := json.Marshal(waitEntry{At: now, Wait: now.Sub(t.Opened)})
		if _, err := s.store.Append(ctx, keyWaits(t.Desk), 200, 0, raw); err != nil {
			return err
		}
	}
	_, err := s.appendMessage(ctx, t.ID, Message{At: now, From: "system", Event: "claimed", Staff: who.Name}, 0)
	return err
}

// Claim makes the account the ticket's assignee. force takes over a colleague's ticket.
func (s *Service) Claim(ctx context.Context, who *Account, id string, force bool) error {
	t, err := s.staffUpdate(ctx, who, id, func(t *Ticket) error {
		return s.takeOver(ctx, t, who, s.clock.Now(), force)
	})
	if err != nil {
		return err
	}
	s.publish(ctx, Event{Desk: t.Desk, Ticket: id, Kind: "claimed"})
	return nil
}

// MaxStaffText is the longest reply or note staff can write.
const MaxStaffText = 4000

// CleanStaffText keeps staff text readable and safe: valid UTF-8, no control or invisible
// formatting characters except line breaks, at most two blank lines in a row, trimmed.
func CleanStaffText(s string) (string, error) {
	s = strings.ToValidUTF8(s, "")
	s = strings.ReplaceAll(s, "\r\n", "\n")
	var b strings.Builder
	newlines := 0
	for _, r := range s {
		switch {
		case r == '\n':
			newlines++
			if newlines <= 2 {
				b.WriteRune(r)
			}
			continue
		case r == '\t':
			r = ' '
		case unicode.IsControl(r) || (unicode.Is(unicode.Cf, r) && r != '\u200c' && r != '\u200d'):
			continue
		}
		newlines = 0
		b.WriteRune(r)
	}
	out := strings.TrimSpace(b.String())
	if out == "" || utf8.RuneCountInString(out) > MaxStaffText {
		return "", ErrInvalid
	}
	return out, nil
}

// Reply sends staff text to the user's chat, on the channel the user wrote from, and records
// it. A waiting ticket is claimed by the one who answers. It reports whether the reply already
// reached the user; if not, it is retried until it does (see Run).
func (s *Service) Reply(ctx context.Context, who *Account, id, text string) (delivered bool, err error) {
	text, err = CleanStaffText(text)
	if err != nil {
		return false, err
	}
	var seq int
	t, err := s.staffUpdate(ctx, who, id, func(t *Ticket) error {
		now := s.clock.Now()
		if err := s.takeOver(ctx, t, who, now, false); err != nil {
			return err
		}
		if t.FirstReply.IsZero() {
			t.FirstReply = now
		}
		t.Updated = now
		var err error
		seq, err = s.appendMessage(ctx, t.ID, Message{At: now, From: "staff", Text: text, Staff: who.Name}, 0)
		return err
	})
	if err != nil {
		return false, err
	}
	s.publish(ctx, Event{Desk: t.Desk, Ticket: id, Kind: "message"})
	d := &delivery{Kind: kindReply, To: t.Address, Desk: t.Desk, Lang: t.Lang, Ticket: t.ID, Seq: seq}
	return s.send(ctx, d)
}

// Note adds an internal note that only staff see.
func (s *Service) Note(ctx context.Context, who *Account, id, text string) error {
	text, err := CleanStaffText(text)
	if err != nil {
		return err
	}
	var desk string
	err = s.update(ctx, id, func(t *Ticket) error {
		if !who.CanAccess(t.Desk) {
			return ErrNotFound
		}
		desk = t.Desk
		_, err := s.appendMessage(ctx, id, Message{At: s.clock.Now(), From: "note", Text: text, Staff: who.Name}, 0)
		return err
	})
	if err != nil {
		return err
	}
	s.publish(ctx, Event{Desk: desk, Ticket: id, Kind: "note"})
	return nil
}

// Close ends the ticket with an outcome and gives the conversation back to the bot, telling the
// user.
func (s *Service) Close(ctx context.Context, who *Account, id, outcome string) (delivered bool, err error) {
	if !slices.Contains(Outcomes, outcome) {
		return false, ErrInvalid
	}
	t, err := s.staffUpdate(ctx, who, id, func(t *Ticket) error {
		now := s.clock.Now()
		if t.Assignee == "" {
			t.Assignee = who.Name
		}
		t.Status, t.Outcome, t.ClosedAt, t.Updated = Closed, outcome, now, now
		return s.closed(ctx, t, Message{At: now, From: "system", Event: "closed", Staff: who.Name, Text: outcome})
	})
	if err != nil {
		return false, err
	}
	s.log.Info("ticket closed", "ticket", id, "desk", t.Desk, "outcome", outcome)
	s.publish(ctx, Event{Desk: t.Desk, Ticket: id, Kind: "closed"})
	return s.send(ctx, &delivery{Kind: kindClosed, To: t.Address, Desk: t.Desk, Lang: t.Lang, Ticket: t.ID})
}

// returnToBot tells a conversation whose ticket ended that the bot is back. It is queued and
// sent a moment later: the caller may hold the conversation's lock.
func (s *Service) returnToBot(ctx context.Context, to bot.Address, id string) {
	d := &delivery{Kind: kindEnded, To: to, Ticket: id}
	if err := s.enqueue(ctx, d, 0); err != nil {
		s.log.Warn("ended ticket: return to bot not queued", "ticket", id, "err", err)
		return
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_, _ = s.attempt(ctx, d.ID)
	}()
}

// Stats are the counts the console shows for a desk.
type Stats struct {
	Desk            string
	Waiting         int
	Claimed         int
	Urgent          int
	MedianWaitToday time.Duration // 0: none measured today
	WaitsToday      int
	TypicalWait     time.Duration
}

// Stats counts a desk's queue and today's waits (today in the desk's time zone).
func (s *Service) Stats(ctx context.Context, who *Account, desk string) (Stats, error) {
	o, ok := s.offices[desk]
	if !ok || !who.CanAccess(desk) {
		return Stats{}, ErrNotFound
	}
	st := Stats{Desk: desk}
	q, err := s.queue(ctx, desk)
	if err != nil {
		return st, err
	}
	for _, t := range q {
		if t.Status == Waiting {
			st.Waiting++
		} else {
			st.Claimed++
		}
		if t.Priority == bot.PriorityUrgent {
			st.Urgent++
		}
	}
	now := s.clock.Now().In(o.Location)
	y, m, d := now.Date()
	midnight := time.Date(y, m, d, 0, 0, 0, 0, o.Location)
	var today []time.Duration
	for _, w := range s.waits(ctx, desk) {
		if !w.At.Before(midnight) {
			today = append(today, w.Wait)
		}
	}
	st.WaitsToday, st.MedianWaitToday = len(today), median(today)
	st.TypicalWait = s.typicalWait(ctx, desk, now)
	return st, nil
}

// Erase implements bot.Desk (/forget): every ticket, message and appointment of the
// conversation goes.
func (s *Service) Erase(ctx context.Context, a bot.Address) error {
	entries, err := s.store.IndexRange(ctx, keyConvTickets(a), math.Inf(-1), math.Inf(1), 0)
	if err != nil {
		return fmt.Errorf("erase tickets: %w", err)
	}
	for _, e := range entries {
		if err := s.deleteTicket(ctx, e.Member); err != nil {
			return fmt.Errorf("erase tickets: %w", err)
		}
	}
	if err := s.store.Delete(ctx, keyConvTickets(a), keyOpenTicket(a)); err != nil {
		return fmt.Errorf("erase tickets: %w", err)
	}
	if err := s.eraseAppointments(ctx, a); err != nil {
		return err
	}
	s.log.Info("desk data erased", "conversation", bot.Pseudonym(a.Key()), "tickets", len(entries))
	return nil
}

// deleteTicket removes a ticket and everything that points to it.
func (s *Service) deleteTicket(ctx context.Context, id string) error {
	t, err := s.load(ctx, id)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return err
	}
	if t != nil {
		for _, k := range []string{keyQueue(t.Desk), keyClosed(t.Desk)} {
			if _, err := s.store.IndexRemove(ctx, k, id); err != nil {
				return err
			}
		}
		if _, err := s.store.IndexRemove(ctx, keyConvTickets(t.Address), id); err != nil {
			return err
		}
		_, _ = s.store.DeleteIfEqual(ctx, keyOpenTicket(t.Address), []byte(id))
		defer s.publish(ctx, Event{Desk: t.Desk, Ticket: id, Kind: "closed"})
	}
	if _, err := s.store.IndexRemove(ctx, keyExpiry, "t:"+id); err != nil {
		return err
	}
	return s.store.Delete(ctx, keyTicket(id), keyMessages(id), keyHistory(id))
}
