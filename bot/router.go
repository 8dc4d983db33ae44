package bot

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"
)

// Responder decides what to answer: the flow engine implements it.
type Responder interface {
	Respond(ctx context.Context, s *Session, in Inbound) ([]Reply, error)
}

// Texts gives the router the few UI strings it needs itself (errors, throttling), in a language.
type Texts interface {
	T(lang, id string, data map[string]any) string
}

// Router gives every channel the same behaviour: it drops duplicate deliveries, serializes
// each conversation (in this process and across replicas), settles the language, keeps the
// session and transcript, asks the Responder for replies, recovers from panics and sends
// the replies back through the conversation's channel.
type Router struct {
	Store     Store
	Sessions  Sessions
	Locker    Locker
	Responder Responder
	Languages *Languages
	Texts     Texts
	Clock     Clock
	Log       *slog.Logger
	Metrics   *Metrics // optional

	DedupeTTL     time.Duration // how long a delivery id is remembered (Telegram redelivers for 24 h)
	TranscriptTTL time.Duration // retention of conversation transcripts
	FloodLimit    int           // messages a conversation may send per FloodWindow; 0: no limit
	FloodWindow   time.Duration

	mu       sync.RWMutex
	channels map[string]Channel
	serial   serial
	inflight sync.WaitGroup
	closed   bool
}

// Register makes a channel available for replies, including replies sent days later.
func (r *Router) Register(c Channel) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.channels == nil {
		r.channels = make(map[string]Channel)
	}
	r.channels[c.Name()] = c
}

// ErrClosed is returned for messages that arrive while the router shuts down.
var ErrClosed = errors.New("router closed")

// Handle processes one inbound message to the end: when it returns, the replies were sent.
// Messages of one conversation are processed in the order Handle was called.
func (r *Router) Handle(ctx context.Context, in Inbound) error {
	run, err := r.Enqueue(ctx, in)
	if err != nil {
		return err
	}
	return run()
}

// Enqueue takes the message's place in its conversation's line at once and returns a func
// that processes it when its turn comes. Adapters that read a channel's updates in order call
// Enqueue in that order and may run the returned funcs concurrently.
func (r *Router) Enqueue(ctx context.Context, in Inbound) (func() error, error) {
	r.mu.RLock()
	if r.closed {
		r.mu.RUnlock()
		return nil, ErrClosed
	}
	r.inflight.Add(1)
	r.mu.RUnlock()
	wait, done := r.serial.enter(in.Key())
	return func() error {
		defer r.inflight.Done()
		defer done()
		wait()
		return r.process(ctx, in)
	}, nil
}

// Drain stops taking new messages and waits for those in flight, or for ctx.
func (r *Router) Drain(ctx context.Context) error {
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
	finished := make(chan struct{})
	go func() { r.inflight.Wait(); close(finished) }()
	select {
	case <-finished:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("drain: %w", ctx.Err())
	}
}

func (r *Router) process(ctx context.Context, in Inbound) (err error) {
	start := r.Clock.Now()
	if in.At.IsZero() {
		in.At = start
	}
	if in.MessageID != "" && !in.Deduplicated {
		seen := "seen:" + in.Key() + ":" + in.MessageID
		fresh, derr := r.Store.PutIfAbsent(ctx, seen, []byte{1}, r.DedupeTTL)
		if derr != nil {
			return fmt.Errorf("dedupe: %w", derr)
		}
		if !fresh {
			r.Metrics.duplicate(in.Channel)
			return nil
		}
		defer func() {
			// A message that failed before its replies went out may be delivered again.
			if err != nil && !isSendFailure(err) {
				_ = r.Store.Delete(context.WithoutCancel(ctx), seen)
			}
		}()
	}
	// The conversation's lock and its session, in one round trip.
	lease, raw, err := r.Locker.Acquire(ctx, "conv:"+in.Key(), sessionKey(in.Address))
	if err != nil {
		return err
	}
	committed := false
	defer func() {
		if !committed {
			lease.Release()
		}
	}()
	s := decodeSession(raw, in.Address, start)
	if in.User != "" {
		s.User = in.User
	}
	problem := normalize(&in)
	r.Languages.Settle(s, in)
	s.Updated = start
	s.Messages++
	r.Metrics.inbound(in.Channel, s.Lang)

	var replies []Reply
	throttled := false
	if problem != ProblemNone {
		replies = []Reply{{Text: r.Texts.T(s.Lang, "error."+string(problem), map[string]any{"Max": MaxTextRunes}), Lang: s.Lang}}
	} else if replies, throttled, err = r.respond(ctx, s, in); err != nil {
		return err
	}
	sent, err := r.deliver(ctx, in.Address, replies)
	save, lines := s, append([]TranscriptEntry{{At: start, From: "user", Text: in.Text}}, sent...)
	if throttled { // a flood is neither remembered nor recorded
		save, lines = nil, sent
	}
	committed = true
	r.commit(ctx, lease, in.Address, save, lines, in.Commit...)
	r.Metrics.handled(in.Channel, s.Lang, r.Clock.Now().Sub(start), err)
	return err
}

// commit ends the handling of a conversation's message in one store round trip: it saves the
// session (unless nil), records the transcript lines, does the channel's extra writes and
// releases the lock. The replies are already out, so a store failure is logged rather than
// returned (handling the message again would send them twice), and the lock released alone.
func (r *Router) commit(ctx context.Context, lease *Lease, a Address, s *Session, lines []TranscriptEntry, extra ...Op) {
	ops := make([]Op, 0, 3+len(extra))
	if s != nil {
		op, err := r.Sessions.SaveOp(s)
		if err != nil {
			r.Log.Error("session not saved", "conversation", Pseudonym(a.Key()), "err", err)
		} else {
			ops = append(ops, op)
		}
	}
	var raws [][]byte
	for _, e := range lines {
		if e.Text != "" {
			raw, _ := json.Marshal(e)
			raws = append(raws, raw)
		}
	}
	if len(raws) > 0 {
		ops = append(ops, AppendOp(transcriptKey(a), transcriptMax, r.TranscriptTTL, raws...))
	}
	ops = append(ops, extra...)
	ops = append(ops, lease.ReleaseOp())
	if err := r.Store.Batch(context.WithoutCancel(ctx), ops...); err != nil {
		r.Log.Warn("session and transcript not saved", "conversation", Pseudonym(a.Key()), "err", err)
		lease.Release()
	}
}

// normalize cleans the inbound text and button payload in place and reports what is wrong with them.
// A forged or oversized payload is dropped here; the Responder then treats the press as stale.
func normalize(in *Inbound) Problem {
	if in.Action != "" && (len(in.Action) > MaxActionBytes || !utf8.ValidString(in.Action)) {
		in.Action = "\x00invalid"
	}
	if in.Text == "" && (in.Action != "" || in.Media != MediaNone) {
		return ProblemNone
	}
	text, problem := NormalizeText(in.Text)
	in.Text = text
	if problem == ProblemEmpty && in.Media != MediaNone {
		return ProblemNone
	}
	return problem
}

// respond asks the Responder for replies after the router's own checks, recovering from panics.
func (r *Router) respond(ctx context.Context, s *Session, in Inbound) (replies []Reply, throttled bool, err error) {
	if r.FloodLimit > 0 && !in.Group {
		window := r.Clock.Now().UnixNano() / int64(r.FloodWindow)
		n, err := r.Store.Incr(ctx, "flood:"+in.Key()+":"+strconv.FormatInt(window, 10), 2*r.FloodWindow)
		if err != nil {
			return nil, false, fmt.Errorf("flood counter: %w", err)
		}
		if n > int64(r.FloodLimit) {
			r.Metrics.throttled(in.Channel)
			if n == int64(r.FloodLimit)+1 {
				return []Reply{{Text: r.Texts.T(s.Lang, "error.slow_down", nil), Lang: s.Lang}}, true, nil
			}
			return nil, true, nil
		}
	}
	defer func() {
		if p := recover(); p != nil {
			r.Log.Error("panic while handling a message", "channel", in.Channel,
				"conversation", Pseudonym(in.Key()), "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			r.Metrics.failed(in.Channel)
			replies, err = []Reply{{Text: r.Texts.T(s.Lang, "error.generic", nil), Lang: s.Lang}}, nil
		}
	}()
	replies, err = r.Responder.Respond(ctx, s, in)
	if err != nil {
		r.Log.Error("responder failed", "channel", in.Channel, "conversation", Pseudonym(in.Key()), "err", err)
		r.Metrics.failed(in.Channel)
		return []Reply{{Text: r.Texts.T(s.Lang, "error.generic", nil), Lang: s.Lang}}, false, nil
	}
	s.Offered = s.Offered[:0]
	for _, rep := range replies {
		for _, row := range rep.Buttons {
			for _, b := range row {
				if b.Action != "" {
					s.Offered = append(s.Offered, b.Action)
				}
			}
		}
	}
	return replies, false, nil
}

func isSendFailure(err error) bool {
	var se *SendError
	return errors.As(err, &se)
}

// Notify changes a conversation's session and sends replies outside of a user's message —
// a staff reply days later, a closed ticket, a reminder. It creates the session if it expired.
func (r *Router) Notify(ctx context.Context, to Address, change func(*Session) []Reply) error {
	now := r.Clock.Now()
	lease, raw, err := r.Locker.Acquire(ctx, "conv:"+to.Key(), sessionKey(to))
	if err != nil {
		return err
	}
	s := decodeSession(raw, to, now)
	replies := change(s)
	s.Updated = now
	sent, err := r.deliver(ctx, to, replies)
	r.commit(ctx, lease, to, s, sent)
	return err
}

// Forget erases what the router keeps about a conversation: session and transcript.
func (r *Router) Forget(ctx context.Context, a Address) error {
	if err := r.Store.Delete(ctx, sessionKey(a), transcriptKey(a)); err != nil {
		return fmt.Errorf("forget conversation: %w", err)
	}
	return nil
}

// deliver sends replies through the conversation's channel: the one place that decides
// about retries, from the failure class the adapter reported. It returns the transcript lines
// of the replies that went out.
func (r *Router) deliver(ctx context.Context, to Address, replies []Reply) ([]TranscriptEntry, error) {
	if len(replies) == 0 {
		return nil, nil
	}
	r.mu.RLock()
	ch := r.channels[to.Channel]
	r.mu.RUnlock()
	if ch == nil {
		return nil, fmt.Errorf("deliver to %s: no such channel", to.Channel)
	}
	backoff := 200 * time.Millisecond
	for attempt := 1; ; attempt++ {
		err := ch.Send(ctx, to, replies)
		if err == nil {
			r.Metrics.outbound(to.Channel, len(replies))
			now := r.Clock.Now()
			sent := make([]TranscriptEntry, 0, len(replies))
			for _, rep := range replies {
				from := "bot"
				if rep.Staff {
					from = "staff"
				}
				sent = append(sent, TranscriptEntry{At: now, From: from, Text: rep.Text, Article: rep.Article})
			}
			return sent, nil
		}
		failure, after := Classify(err)
		if failure == Permanent || attempt == 5 {
			r.Metrics.sendFailed(to.Channel, failure)
			return nil, fmt.Errorf("deliver to %s: %w", to.Channel, err)
		}
		wait := backoff
		if failure == Throttled && after > 0 {
			wait = after
		}
		backoff *= 2
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("deliver to %s: %w (after %v)", to.Channel, ctx.Err(), err)
		case <-t.C:
		}
	}
}

// TranscriptEntry is one line of a conversation as kept for staff handoffs.
type TranscriptEntry struct {
	At      time.Time `json:"at"`
	From    string    `json:"from"` // user, bot, staff
	Text    string    `json:"text"`
	Article string    `json:"article,omitempty"`
}

const transcriptMax = 200

func transcriptKey(a Address) string { return "transcript:" + a.Key() }

// Transcript returns the recorded conversation, oldest first.
func (r *Router) Transcript(ctx context.Context, a Address) ([]TranscriptEntry, error) {
	raws, err := r.Store.Range(ctx, transcriptKey(a), 0)
	if err != nil {
		return nil, fmt.Errorf("read transcript: %w", err)
	}
	out := make([]TranscriptEntry, 0, len(raws))
	for _, raw := range raws {
		var e TranscriptEntry
		if json.Unmarshal(raw, &e) == nil {
			out = append(out, e)
		}
	}
	return out, nil
}

// Pseudonym turns an identifier into a short stable hash for logs: conversations can be
// correlated across log lines without writing chat or phone numbers.
func Pseudonym(id string) string {
	sum := sha256.Sum256([]byte("sportello:" + id))
	return hex.EncodeToString(sum[:6])
}
