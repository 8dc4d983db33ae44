// Package desk is where the bot hands conversations to people: handoff tickets with their
// transcript and the live relay of staff replies, office hours and capacity, appointment slots
// with atomic booking and reminders, staff accounts, and the jobs that keep it all moving
// (deliveries retried until they reach the user, reminders, retention). Everything lives in a
// [bot.Store], so nothing is lost across restarts and every replica sees the same state;
// [Service] implements [bot.Desk] for the flow engine. The staff console is bot/desk/console.
package desk

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"time"

	"github.com/sportello/sportello/bot"
)

// Texts localizes UI strings (locales.Catalog implements it).
type Texts interface {
	T(lang, id string, data map[string]any) string
	Date(lang string, t time.Time) string
}

// Relay is the part of the router the desk uses: Notify reaches a conversation on its own
// channel (re-creating an expired session), Transcript reads what was said before a handoff.
// *bot.Router implements it.
type Relay interface {
	Notify(ctx context.Context, to bot.Address, change func(*bot.Session) []bot.Reply) error
	Transcript(ctx context.Context, a bot.Address) ([]bot.TranscriptEntry, error)
}

// Config is what a Service is built from.
type Config struct {
	Store   bot.Store
	Clock   bot.Clock
	Relay   Relay
	Texts   Texts
	Offices []Office
	Log     *slog.Logger

	// Retention is how long closed tickets and past appointments are kept (default 90 days).
	Retention time.Duration
	// DefaultWait is the typical wait promised before any wait was measured (default 10 min).
	DefaultWait time.Duration

	// Appointments.
	MaxBookingsPerDay  int           // per conversation: bookings, moves and cancellations a day (default 4)
	MaxBookingsPerHour int           // per desk: bookings an hour by everyone, against slot grabbers (default 40)
	MinLead            time.Duration // the earliest slot offered, from now (default 2h)
	SlotsOffered       int           // slots offered at once (default 5)
	RemindBefore       time.Duration // reminder this long before the start (default 24h)

	// Tick is how often Run looks for due reminders, deliveries and retention (default 30s).
	Tick time.Duration
}

// Service implements bot.Desk and everything staff do through the console.
type Service struct {
	cfg     Config
	store   bot.Store
	clock   bot.Clock
	log     *slog.Logger
	offices map[string]*Office
	order   []string
	lock    bot.Locker
}

var _ bot.Desk = (*Service)(nil)

// Errors the console maps to answers.
var (
	ErrNotFound  = errors.New("not found")
	ErrClosed    = errors.New("ticket is closed")
	ErrClaimed   = errors.New("ticket is claimed by someone else")
	ErrForbidden = errors.New("not allowed")
	ErrInvalid   = errors.New("invalid input")
	ErrTaken     = errors.New("slot is taken")
	ErrLimit     = errors.New("too many bookings")
)

// New checks the configuration and returns a Service.
func New(cfg Config) (*Service, error) {
	if cfg.Store == nil || cfg.Relay == nil || cfg.Texts == nil {
		return nil, errors.New("desk: Store, Relay and Texts are required")
	}
	if cfg.Clock == nil {
		cfg.Clock = bot.SystemClock{}
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	def := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&cfg.Retention, 90*24*time.Hour)
	def(&cfg.DefaultWait, 10*time.Minute)
	def(&cfg.MinLead, 2*time.Hour)
	def(&cfg.RemindBefore, 24*time.Hour)
	def(&cfg.Tick, 30*time.Second)
	if cfg.MaxBookingsPerDay <= 0 {
		cfg.MaxBookingsPerDay = 4
	}
	if cfg.MaxBookingsPerHour <= 0 {
		cfg.MaxBookingsPerHour = 40
	}
	if cfg.SlotsOffered <= 0 {
		cfg.SlotsOffered = 5
	}
	s := &Service{cfg: cfg, store: cfg.Store, clock: cfg.Clock, log: cfg.Log, offices: map[string]*Office{},
		lock: bot.Locker{Store: cfg.Store, TTL: 15 * time.Second}}
	for i := range cfg.Offices {
		o := &cfg.Offices[i]
		if o.ID == "" || len(o.ID) > 20 || !idSafe(o.ID) {
			return nil, fmt.Errorf("desk: desk id %q must be 1-20 letters, digits or '-'", o.ID)
		}
		if o.Location == nil {
			o.Location = time.UTC
		}
		if o.Capacity <= 0 {
			o.Capacity = 1
		}
		if o.ReplyWithin <= 0 {
			o.ReplyWithin = 48 * time.Hour
		}
		s.offices[o.ID] = o
		s.order = append(s.order, o.ID)
	}
	return s, nil
}

// Office returns a desk by id.
func (s *Service) Office(id string) (*Office, bool) {
	o, ok := s.offices[id]
	return o, ok
}

// Desks lists the desk ids in configuration order.
func (s *Service) Desks() []string { return append([]string(nil), s.order...) }

// Now is the service's clock.
func (s *Service) Now() time.Time { return s.clock.Now() }

func idSafe(id string) bool {
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r >= 'A' && r <= 'Z') {
			return false
		}
	}
	return true
}

// ---- store keys: every one starts with "desk:" ----

func keyTicket(id string) string          { return "desk:ticket:" + id }
func keyMessages(id string) string        { return "desk:msgs:" + id }
func keyQueue(desk string) string         { return "desk:queue:" + desk }
func keyClosed(desk string) string        { return "desk:closed:" + desk }
func keyConvTickets(a bot.Address) string { return "desk:conv:" + a.Key() }
func keyOpenTicket(a bot.Address) string  { return "desk:open:" + a.Key() }
func keyWaits(desk string) string         { return "desk:waits:" + desk }
func keyTicketLock(id string) string      { return "desk:ticket:" + id }

const keyExpiry = "desk:expiry" // closed tickets and past appointments by the time they go

// ---- events ----

// EventsTopic is the pub/sub topic of console updates. An event only says what changed;
// subscribers read the state again (pub/sub is a best-effort wake-up).
const EventsTopic = "desk:events"

// Event tells consoles that a ticket or an appointment of a desk changed.
type Event struct {
	Desk        string `json:"desk"`
	Ticket      string `json:"ticket,omitempty"`
	Appointment string `json:"appointment,omitempty"`
	Kind        string `json:"kind"` // opened, message, claimed, note, closed, delivered, appointment, slots
}

func (s *Service) publish(ctx context.Context, e Event) {
	raw, _ := json.Marshal(e)
	if err := s.store.Publish(context.WithoutCancel(ctx), EventsTopic, raw); err != nil {
		s.log.Warn("desk event not published", "kind", e.Kind, "err", err)
	}
}

// Subscribe delivers console events until ctx ends.
func (s *Service) Subscribe(ctx context.Context) (<-chan Event, error) {
	raw, err := s.store.Subscribe(ctx, EventsTopic)
	if err != nil {
		return nil, err
	}
	out := make(chan Event, 16)
	go func() {
		defer close(out)
		for msg := range raw {
			var e Event
			if json.Unmarshal(msg, &e) != nil {
				continue
			}
			select {
			case out <- e:
			default: // a slow console misses a wake-up; it re-reads on the next one
			}
		}
	}()
	return out, nil
}

// ---- helpers ----

const idAlphabet = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ" // no 0/O, 1/I: staff read ids aloud

func newID(prefix string, n int) string {
	b := make([]byte, n)
	max := big.NewInt(int64(len(idAlphabet)))
	for i := range b {
		v, err := rand.Int(rand.Reader, max)
		if err != nil {
			panic(err)
		}
		b[i] = idAlphabet[v.Int64()]
	}
	return prefix + string(b)
}

func (s *Service) getJSON(ctx context.Context, key string, v any) error {
	raw, err := s.store.Get(ctx, key)
	if errors.Is(err, bot.ErrNotFound) {
		return ErrNotFound
	}
	if err != nil {
		return err
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("decode %s: %w", key, err)
	}
	return nil
}

func (s *Service) putJSON(ctx context.Context, key string, v any, ttl time.Duration) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return s.store.Put(ctx, key, raw, ttl)
}

func jsonBytes(v any) ([]byte, error) { return json.Marshal(v) }

func ms(t time.Time) float64 { return float64(t.UnixMilli()) }
