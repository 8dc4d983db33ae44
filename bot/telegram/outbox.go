package telegram

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"sync"
	"time"

	tgbot "github.com/go-telegram/bot"
	"github.com/go-telegram/bot/models"

	"github.com/sportello/sportello/bot"
)

// Limits are the outbox's sending rates. Token buckets: a bucket of Burst messages refilled
// at the rate. Burst + rate stays within Telegram's windows (30 per second per bot, 20 per
// minute per group); private chats get Telegram's "one per second, small bursts".
type Limits struct {
	PerSecond      float64 // the whole bot
	Burst          int
	ChatPerSecond  float64 // one private chat
	ChatBurst      int
	GroupPerMinute float64 // one group
	GroupBurst     int
	Off            bool // no limits at all (load tests against a fake server)
}

// DefaultLimits keep Telegram's published limits.
var DefaultLimits = Limits{PerSecond: 28, Burst: 2, ChatPerSecond: 1, ChatBurst: 3, GroupPerMinute: 17, GroupBurst: 3}

// NoLimits turns the outbox's rate limiting off.
var NoLimits = Limits{Off: true}

type bucket struct {
	tokens float64
	last   time.Time
	until  time.Time // paused by a 429 until then
}

// reserve takes a token and returns how long to wait before using it.
func (b *bucket) reserve(now time.Time, rate float64, burst int) time.Duration {
	if b.last.IsZero() {
		b.tokens, b.last = float64(burst), now
	}
	b.tokens = math.Min(float64(burst), b.tokens+now.Sub(b.last).Seconds()*rate)
	b.last = now
	b.tokens--
	var d time.Duration
	if b.tokens < 0 {
		d = time.Duration(-b.tokens / rate * float64(time.Second))
	}
	if wait := b.until.Sub(now); wait > d {
		d = wait
	}
	return d
}

// limiter keeps the global and per-chat rates.
type limiter struct {
	l         Limits
	mu        sync.Mutex
	global    bucket
	chats     map[int64]*bucket
	lastPrune time.Time
}

func (l *limiter) chatBucket(chatID int64, now time.Time) *bucket {
	if now.Sub(l.lastPrune) > time.Minute {
		for id, b := range l.chats {
			if now.Sub(b.last) > 2*time.Minute && now.After(b.until) {
				delete(l.chats, id)
			}
		}
		l.lastPrune = now
	}
	b := l.chats[chatID]
	if b == nil {
		b = &bucket{}
		l.chats[chatID] = b
	}
	return b
}

// wait blocks until a message may go to the chat.
func (l *limiter) wait(ctx context.Context, chatID int64) error {
	if l.l.Off {
		return nil
	}
	l.mu.Lock()
	now := time.Now()
	var d time.Duration
	if chatID < 0 {
		d = l.chatBucket(chatID, now).reserve(now, l.l.GroupPerMinute/60, l.l.GroupBurst)
	} else {
		d = l.chatBucket(chatID, now).reserve(now, l.l.ChatPerSecond, l.l.ChatBurst)
	}
	l.mu.Unlock()
	if d > 0 && !sleep(ctx, d) {
		return ctx.Err()
	}
	l.mu.Lock()
	now = time.Now()
	d = l.global.reserve(now, l.l.PerSecond, l.l.Burst)
	l.mu.Unlock()
	if d > 0 && !sleep(ctx, d) {
		return ctx.Err()
	}
	return nil
}

// pause holds back a chat after a 429.
func (l *limiter) pause(chatID int64, d time.Duration) {
	if l.l.Off {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	b := l.chatBucket(chatID, now)
	if until := now.Add(d); until.After(b.until) {
		b.until = until
	}
}

// fifo gives each chat a first-come, first-served lock, so that the replies of one chat never
// interleave (a staff reply arriving while the bot answers the user waits its turn).
type fifo struct {
	mu    sync.Mutex
	tails map[int64]chan struct{}
}

func (f *fifo) lock(ctx context.Context, key int64) (func(), error) {
	f.mu.Lock()
	prev := f.tails[key]
	mine := make(chan struct{})
	f.tails[key] = mine
	f.mu.Unlock()
	release := func() {
		f.mu.Lock()
		if f.tails[key] == mine {
			delete(f.tails, key)
		}
		f.mu.Unlock()
		close(mine)
	}
	if prev != nil {
		select {
		case <-prev:
		case <-ctx.Done():
			// Keep the line intact: pass the turn on once the one before is done.
			go func() { <-prev; release() }()
			return nil, ctx.Err()
		}
	}
	return release, nil
}

// outbox sends rendered messages within Telegram's limits and remembers how far a batch got,
// so that the router's retry of a half-sent batch does not repeat what arrived.
type outbox struct {
	c        *Channel
	limiter  *limiter
	order    fifo
	writable writable
	mu       sync.Mutex
	progress map[string]progressMark
}

type progressMark struct {
	sent int
	at   time.Time
}

func newOutbox(c *Channel) *outbox {
	return &outbox{
		c:        c,
		limiter:  &limiter{l: c.cfg.Limits, chats: map[int64]*bucket{}},
		order:    fifo{tails: map[int64]chan struct{}{}},
		progress: map[string]progressMark{},
		writable: writable{until: map[int64]time.Time{}},
	}
}

func (o *outbox) sentBefore(key string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.progress[key].sent
}

func (o *outbox) mark(key string, sent int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	now := time.Now()
	if sent <= 0 {
		delete(o.progress, key)
	} else {
		o.progress[key] = progressMark{sent: sent, at: now}
	}
	if len(o.progress) > 1000 {
		for k, m := range o.progress {
			if now.Sub(m.at) > 10*time.Minute {
				delete(o.progress, k)
			}
		}
	}
}

func (c *Channel) blockedKey(chatID int64) string {
	return c.prefix + "blocked:" + strconv.FormatInt(chatID, 10)
}

// writable caches "the bot may write here" for a short while, so that the common case costs
// no store read. "Blocked" is never cached: an unblock seen by another replica counts at once.
type writable struct {
	mu    sync.Mutex
	until map[int64]time.Time
}

const writableFor = 30 * time.Second

func (w *writable) ok(chatID int64, now time.Time) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return now.Before(w.until[chatID])
}

func (w *writable) set(chatID int64, now time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.until) > 10000 {
		for id, t := range w.until {
			if now.After(t) {
				delete(w.until, id)
			}
		}
	}
	w.until[chatID] = now.Add(writableFor)
}

func (w *writable) forget(chatID int64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	delete(w.until, chatID)
}

// markBlocked remembers that the bot may not write to a chat.
func (c *Channel) markBlocked(ctx context.Context, chatID int64) error {
	c.out.writable.forget(chatID)
	return c.store.Put(context.WithoutCancel(ctx), c.blockedKey(chatID), []byte{1}, 0)
}

// Blocked reports whether the bot may not write to a chat (blocked by the user, removed from
// the group, chat gone).
func (c *Channel) Blocked(ctx context.Context, chatID int64) (bool, error) {
	now := time.Now()
	if c.out.writable.ok(chatID, now) {
		return false, nil
	}
	_, err := c.store.Get(ctx, c.blockedKey(chatID))
	if errors.Is(err, bot.ErrNotFound) {
		c.out.writable.set(chatID, now)
		return false, nil
	}
	return err == nil, err
}

func batchKey(to bot.Address, replies []bot.Reply) string {
	raw, _ := json.Marshal(struct {
		To      bot.Address
		Replies []bot.Reply
	}{to, replies})
	sum := sha256.Sum256(raw)
	return hex.EncodeToString(sum[:12])
}

// Send implements bot.Channel: it delivers the replies to the chat in order. Failures come
// back as *bot.SendError: blocked by the user or chat not found → Permanent (and the chat is
// not written to again); 429 → Throttled with Telegram's retry_after; 5xx and network errors
// → Retryable. Replies with Staff set are persisted first and resent after a restart until
// they are delivered.
func (c *Channel) Send(ctx context.Context, to bot.Address, replies []bot.Reply) error {
	return c.send(ctx, to, replies, nil)
}

func (c *Channel) send(ctx context.Context, to bot.Address, replies []bot.Reply, pend *pending) error {
	if to.Channel != "" && to.Channel != Name {
		return &bot.SendError{Failure: bot.Permanent, Reason: "not a telegram address"}
	}
	chatID, err := strconv.ParseInt(to.Conversation, 10, 64)
	if err != nil || chatID == 0 {
		return &bot.SendError{Failure: bot.Permanent, Reason: "bad chat id"}
	}
	blocked, err := c.Blocked(ctx, chatID)
	if err != nil {
		return &bot.SendError{Failure: bot.Retryable, Reason: "store", Err: err}
	}
	if blocked {
		if pend != nil {
			c.dropPending(ctx, pend.ID)
		}
		return &bot.SendError{Failure: bot.Permanent, Reason: "blocked"}
	}
	msgs := c.render(replies)
	if len(msgs) == 0 {
		return nil
	}
	key := batchKey(to, replies)
	if pend == nil && hasStaff(replies) {
		if pend, err = c.persistPending(ctx, key, to, replies); err != nil {
			return &bot.SendError{Failure: bot.Retryable, Reason: "store", Err: err}
		}
	}
	release, err := c.out.order.lock(ctx, chatID)
	if err != nil {
		return &bot.SendError{Failure: bot.Retryable, Reason: "timeout", Err: err}
	}
	defer release()

	start := c.out.sentBefore(key)
	if pend != nil && pend.Sent > start {
		start = pend.Sent
	}
	for i := start; i < len(msgs); i++ {
		if err := c.sendOne(ctx, chatID, msgs[i]); err != nil {
			se := classify(err)
			c.out.mark(key, i)
			switch {
			case se.Failure == bot.Throttled:
				c.out.limiter.pause(chatID, se.RetryAfter)
			case blockedReason(se):
				if err := c.markBlocked(ctx, chatID); err != nil {
					c.log.Warn("telegram: blocked chat not remembered", "err", err)
				}
				c.log.Info("telegram: chat cannot be written to", "conversation", pseudonym(to.Conversation), "reason", se.Reason)
			}
			if se.Failure == bot.Permanent {
				c.out.mark(key, 0)
				if pend != nil {
					c.log.Error("telegram: staff reply cannot be delivered", "conversation", pseudonym(to.Conversation), "reason", se.Reason)
					c.dropPending(ctx, pend.ID)
				}
			}
			return se
		}
		if pend != nil {
			pend.Sent = i + 1
			if i+1 < len(msgs) {
				c.savePending(ctx, pend)
			}
		}
	}
	c.out.mark(key, 0)
	if pend != nil {
		c.dropPending(ctx, pend.ID)
	}
	return nil
}

func hasStaff(replies []bot.Reply) bool {
	for _, r := range replies {
		if r.Staff {
			return true
		}
	}
	return false
}

// takeTurn returns (and consumes) what the update being handled in the chat asks of a send.
func (c *Channel) takeTurn(chatID int64, edit bool) (pressed, replyTo int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.turns[chatID]
	if t == nil {
		return 0, 0
	}
	if edit {
		pressed, t.pressed = t.pressed, 0
	}
	replyTo, t.replyTo = t.replyTo, 0
	return pressed, replyTo
}

var linkPreviewOff = &models.LinkPreviewOptions{IsDisabled: tgbot.True()}

// sendOne sends (or edits in place) one message, within the rate limits.
func (c *Channel) sendOne(ctx context.Context, chatID int64, m outMsg) error {
	if err := c.out.limiter.wait(ctx, chatID); err != nil {
		return err
	}
	pressed, replyTo := c.takeTurn(chatID, m.edit)
	if pressed != 0 {
		p := &tgbot.EditMessageTextParams{ChatID: chatID, MessageID: pressed, Text: m.html,
			ParseMode: models.ParseModeHTML, LinkPreviewOptions: linkPreviewOff}
		if m.keyboard != nil {
			p.ReplyMarkup = m.keyboard
		}
		_, err := c.api.Do(ctx, p)
		switch {
		case err == nil, hasDescription(err, "message is not modified"):
			return nil
		case hasDescription(err, "can't parse entities"):
			c.log.Error("telegram: HTML refused; editing as plain text", "err", err)
			p.Text, p.ParseMode = m.plain, ""
			if _, err = c.api.Do(ctx, p); err == nil || hasDescription(err, "message is not modified") {
				return nil
			}
		case hasDescription(err, "message to edit not found"), hasDescription(err, "message can't be edited"),
			hasDescription(err, "MESSAGE_ID_INVALID"):
			// The menu is gone or too old: send a new message instead.
		default:
			return err
		}
	}
	p := &tgbot.SendMessageParams{ChatID: chatID, Text: m.html, ParseMode: models.ParseModeHTML, LinkPreviewOptions: linkPreviewOff}
	if m.keyboard != nil {
		p.ReplyMarkup = m.keyboard
	}
	if replyTo != 0 {
		p.ReplyParameters = &models.ReplyParameters{MessageID: replyTo, AllowSendingWithoutReply: true}
	}
	_, err := c.api.Do(ctx, p)
	if err != nil && hasDescription(err, "can't parse entities") {
		// Never expected (the renderer escapes everything); never leave the user without an answer.
		c.log.Error("telegram: HTML refused; sending as plain text", "err", err)
		p.Text, p.ParseMode = m.plain, ""
		_, err = c.api.Do(ctx, p)
	}
	return err
}

// Typing implements bot.Typer: "typing…" in the chat for about five seconds.
func (c *Channel) Typing(ctx context.Context, to bot.Address) error {
	chatID, err := strconv.ParseInt(to.Conversation, 10, 64)
	if err != nil {
		return &bot.SendError{Failure: bot.Permanent, Reason: "bad chat id"}
	}
	if _, err := c.api.Do(ctx, &tgbot.SendChatActionParams{ChatID: chatID, Action: models.ChatActionTyping}); err != nil {
		se := classify(err)
		if blockedReason(se) {
			_ = c.markBlocked(ctx, chatID)
		}
		return se
	}
	return nil
}

// ---- staff replies that must survive a restart ----

type pending struct {
	ID      string      `json:"id"`
	To      bot.Address `json:"to"`
	Replies []bot.Reply `json:"replies"`
	Sent    int         `json:"sent"` // messages already delivered
	Created time.Time   `json:"created"`
}

func (c *Channel) pendingIndex() string          { return c.prefix + "pending" }
func (c *Channel) pendingKey(id string) string   { return c.prefix + "pending:" + id }
func (c *Channel) pendingLease(id string) string { return c.prefix + "pending-lease:" + id }

// pendingTTL bounds how long an undeliverable staff reply is kept.
const pendingTTL = 7 * 24 * time.Hour

func (c *Channel) persistPending(ctx context.Context, id string, to bot.Address, replies []bot.Reply) (*pending, error) {
	p := &pending{ID: id, To: to, Replies: replies, Created: time.Now().UTC()}
	raw, _ := json.Marshal(p)
	fresh, err := c.store.PutIfAbsent(ctx, c.pendingKey(id), raw, pendingTTL)
	if err != nil {
		return nil, fmt.Errorf("persist staff reply: %w", err)
	}
	if !fresh { // a retry of the same batch: keep how far it got
		if old, err := c.store.Get(ctx, c.pendingKey(id)); err == nil {
			var prev pending
			if json.Unmarshal(old, &prev) == nil {
				p = &prev
			}
		}
	}
	if err := c.store.IndexAdd(ctx, c.pendingIndex(), id, float64(p.Created.UnixMilli())); err != nil {
		return nil, fmt.Errorf("persist staff reply: %w", err)
	}
	return p, nil
}

func (c *Channel) savePending(ctx context.Context, p *pending) {
	raw, _ := json.Marshal(p)
	if err := c.store.Put(context.WithoutCancel(ctx), c.pendingKey(p.ID), raw, pendingTTL); err != nil {
		c.log.Warn("telegram: staff reply progress not saved", "err", err)
	}
}

func (c *Channel) dropPending(ctx context.Context, id string) {
	ctx = context.WithoutCancel(ctx)
	if err := c.store.Delete(ctx, c.pendingKey(id)); err != nil {
		c.log.Warn("telegram: delivered staff reply not cleared", "err", err)
		return
	}
	_, _ = c.store.IndexRemove(ctx, c.pendingIndex(), id)
}

// resendPending delivers staff replies left over by an earlier process: all of them at start,
// then every 30 s those older than 10 minutes (by then the router has given up on them).
func (c *Channel) resendPending(ctx context.Context) {
	c.resendOnce(ctx, 0)
	t := time.NewTicker(30 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			c.resendOnce(ctx, 10*time.Minute)
		}
	}
}

func (c *Channel) resendOnce(ctx context.Context, minAge time.Duration) {
	upTo := float64(time.Now().Add(-minAge).UnixMilli())
	entries, err := c.store.IndexRange(ctx, c.pendingIndex(), math.Inf(-1), upTo, 100)
	if err != nil {
		if ctx.Err() == nil {
			c.log.Warn("telegram: cannot read pending staff replies", "err", err)
		}
		return
	}
	for _, e := range entries {
		if ctx.Err() != nil {
			return
		}
		id := e.Member
		ok, err := c.store.PutIfAbsent(ctx, c.pendingLease(id), []byte(c.instance), 2*time.Minute)
		if err != nil || !ok {
			continue
		}
		raw, err := c.store.Get(ctx, c.pendingKey(id))
		var p pending
		if errors.Is(err, bot.ErrNotFound) || (err == nil && json.Unmarshal(raw, &p) != nil) {
			_, _ = c.store.IndexRemove(ctx, c.pendingIndex(), id)
		} else if err == nil {
			sctx, cancel := context.WithTimeout(ctx, time.Minute)
			err := c.send(sctx, p.To, p.Replies, &p)
			cancel()
			if err != nil {
				c.log.Warn("telegram: staff reply still not delivered", "conversation", pseudonym(p.To.Conversation), "err", err)
			} else {
				c.log.Info("telegram: staff reply delivered after restart", "conversation", pseudonym(p.To.Conversation))
			}
		}
		_, _ = c.store.DeleteIfEqual(context.WithoutCancel(ctx), c.pendingLease(id), []byte(c.instance))
	}
}
