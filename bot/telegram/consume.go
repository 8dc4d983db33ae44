package telegram

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"runtime/debug"
	"strconv"
	"time"

	tgbot "github.com/go-telegram/bot"
	"github.com/go-telegram/bot/models"

	"github.com/sportello/sportello/bot"
	"github.com/sportello/sportello/bot/lang"
)

// worker handles the recorded updates of one chat, one at a time, in update_id order.
type worker struct {
	chat   string
	queue  []entry
	signal chan struct{}
}

// consume hands recorded updates to chat workers. Updates recorded here reach their worker
// directly (offerLocal); the consumer picks up the rest — recorded by another replica (it
// publishes a wake), left by a restart, or postponed — on a wake and every scanEvery.
func (c *Channel) consume(ctx, hard context.Context) {
	var published <-chan []byte
	if sub, err := c.store.Subscribe(ctx, c.wakeTopic()); err == nil {
		published = sub
	} else {
		c.log.Warn("telegram: no wake subscription; relying on rescans", "err", err)
	}
	scan := time.NewTicker(c.scanEvery)
	defer scan.Stop()
	c.dispatch(ctx, hard, true)
	for {
		select {
		case <-ctx.Done():
			return
		case msg, ok := <-published:
			if !ok {
				published = nil
				continue
			}
			if string(msg) != c.instance {
				c.dispatch(ctx, hard, false)
			}
		case <-scan.C:
			c.dispatch(ctx, hard, true)
		}
	}
}

// dispatch reads recorded updates (all, or only those above the highest seen) and offers
// them to their chat's worker.
func (c *Channel) dispatch(ctx, hard context.Context, full bool) {
	if c.holdConsume.Load() {
		return
	}
	const batch = 1000
	for {
		c.mu.Lock()
		min := c.lastScore
		c.mu.Unlock()
		if full {
			min = math.Inf(-1)
		} else if !math.IsInf(min, -1) {
			min += 0.5
		}
		entries, err := c.store.IndexRange(ctx, c.intakeKey(), min, math.Inf(1), batch)
		if err != nil {
			if ctx.Err() == nil {
				c.log.Warn("telegram: cannot read recorded updates", "err", err)
			}
			return
		}
		c.mu.Lock()
		for _, ie := range entries {
			c.lastScore = math.Max(c.lastScore, ie.Score)
			if c.inflight[ie.Member] {
				continue
			}
			e, ok := parseMember(ie.Member)
			if !ok {
				c.log.Error("telegram: unreadable intake entry dropped")
				_, _ = c.store.IndexRemove(ctx, c.intakeKey(), ie.Member)
				continue
			}
			c.offerLocked(hard, e)
		}
		c.mu.Unlock()
		if len(entries) < batch || full {
			return
		}
	}
}

// offerLocal hands an update this replica just recorded straight to its chat's worker.
func (c *Channel) offerLocal(e entry) {
	if c.holdConsume.Load() {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.hard == nil { // not running (a webhook before Run): the consumer will find it
		return
	}
	select {
	case <-c.stopping:
		return
	default:
	}
	c.lastScore = math.Max(c.lastScore, float64(e.id))
	c.offerLocked(c.hard, e)
}

// offerLocked queues an entry to its chat's worker, starting one (with the chat's lease) if
// needed. An entry whose chat another replica holds is left for that replica. Called with c.mu.
func (c *Channel) offerLocked(hard context.Context, e entry) {
	if c.inflight[e.member] {
		return
	}
	w := c.workers[e.chat]
	if w == nil {
		if !c.lease(hard, e.chat) {
			return
		}
		w = &worker{chat: e.chat, signal: make(chan struct{}, 1)}
		c.workers[e.chat] = w
		c.workersWG.Add(1)
		go c.runWorker(hard, w)
	}
	c.inflight[e.member] = true
	w.queue = append(w.queue, e)
	select {
	case w.signal <- struct{}{}:
	default:
	}
}

// lease takes the chat for this replica. Called with c.mu held.
func (c *Channel) lease(ctx context.Context, chat string) bool {
	ok, err := c.store.PutIfAbsent(ctx, c.leaseKey(chat), []byte(c.instance), c.leaseTTL)
	if err != nil {
		c.log.Warn("telegram: chat lease failed", "conversation", pseudonym(chat), "err", err)
		return false
	}
	if ok {
		return true
	}
	held, err := c.store.Get(ctx, c.leaseKey(chat))
	return err == nil && string(held) == c.instance
}

// heartbeat renews the leases of the chats this replica is handling.
func (c *Channel) heartbeat(ctx context.Context) {
	t := time.NewTicker(c.leaseTTL / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		c.mu.Lock()
		chats := make([]string, 0, len(c.workers))
		for chat := range c.workers {
			chats = append(chats, chat)
		}
		c.mu.Unlock()
		for _, chat := range chats {
			held, err := c.store.Get(ctx, c.leaseKey(chat))
			if err == nil && string(held) != c.instance {
				c.log.Warn("telegram: chat lease lost to another replica", "conversation", pseudonym(chat))
				continue
			}
			switch {
			case errors.Is(err, bot.ErrNotFound): // expired: take it again unless someone else did
				_, err = c.store.PutIfAbsent(ctx, c.leaseKey(chat), []byte(c.instance), c.leaseTTL)
			case err == nil:
				err = c.store.Put(ctx, c.leaseKey(chat), []byte(c.instance), c.leaseTTL)
			}
			if err != nil && ctx.Err() == nil {
				c.log.Warn("telegram: chat lease not renewed", "conversation", pseudonym(chat), "err", err)
			}
		}
	}
}

func (c *Channel) runWorker(ctx context.Context, w *worker) {
	defer c.workersWG.Done()
	idle := time.NewTimer(c.lingerIdle)
	defer idle.Stop()
	for {
		c.mu.Lock()
		select {
		case <-c.stopping:
			c.retireLocked(ctx, w)
			c.mu.Unlock()
			return
		default:
		}
		if len(w.queue) == 0 {
			c.mu.Unlock()
			if !idle.Stop() {
				select {
				case <-idle.C:
				default:
				}
			}
			idle.Reset(c.lingerIdle)
			select {
			case <-w.signal:
				continue
			case <-c.stopping:
				continue
			case <-idle.C:
			}
			c.mu.Lock()
			if len(w.queue) == 0 {
				c.retireLocked(ctx, w)
				c.mu.Unlock()
				return
			}
			c.mu.Unlock()
			continue
		}
		e := w.queue[0]
		w.queue = w.queue[1:]
		c.mu.Unlock()
		c.handleEntry(ctx, e)
		c.mu.Lock()
		delete(c.inflight, e.member)
		c.mu.Unlock()
	}
}

// retireLocked ends a worker: its unhandled entries stay recorded for a later scan.
func (c *Channel) retireLocked(ctx context.Context, w *worker) {
	for _, e := range w.queue {
		delete(c.inflight, e.member)
	}
	w.queue = nil
	delete(c.workers, w.chat)
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	_, _ = c.store.DeleteIfEqual(rctx, c.leaseKey(w.chat), []byte(c.instance))
}

// errPanic marks a handler panic.
type errPanic struct{ v any }

func (e errPanic) Error() string { return fmt.Sprintf("panic: %v", e.v) }

const maxAttempts = 3

// handleEntry handles one recorded update once. It first claims the update_id (the claim
// stays for DedupeTTL as its handled mark, so a redelivery is dropped), retries a few times on
// transient failures, and skips the update as poison when it keeps failing or panics. At
// shutdown an unfinished update gives its claim back and stays recorded. Like the router's
// own dedupe, a crash in the middle of handling does not repeat the update.
func (c *Channel) handleEntry(ctx context.Context, e entry) {
	fresh, err := c.store.PutIfAbsent(ctx, c.doneKey(e.id), []byte(c.instance), c.cfg.DedupeTTL)
	if err != nil {
		if ctx.Err() == nil {
			c.log.Warn("telegram: cannot claim update", "update_id", e.id, "err", err)
		}
		return // picked up again by a rescan
	}
	if !fresh {
		c.finish(ctx, e) // handled before: a redelivery
		return
	}
	raw := e.raw
	if raw == nil {
		b, err := c.store.Get(ctx, c.bodyKey(e.id))
		if err != nil {
			c.poison(ctx, e, "body missing", err)
			return
		}
		raw = b
	}
	var u models.Update
	if err := json.Unmarshal(raw, &u); err != nil {
		c.poison(ctx, e, "undecodable", err)
		return
	}
	for attempt := 1; ; attempt++ {
		routed, err := c.safeHandle(ctx, &u, e)
		var p errPanic
		switch {
		case err == nil && routed:
			c.dropBody(ctx, e) // the router took it out of the intake
			return
		case err == nil:
			c.finish(ctx, e)
			return
		case errors.Is(err, bot.ErrClosed) || ctx.Err() != nil:
			c.release(ctx, e) // shutting down: stays recorded for the next start
			return
		case errors.As(err, &p):
			c.poison(ctx, e, "panic", err)
			return
		case isSendFailure(err):
			// The router already retried the send as its failure class allows.
			c.log.Warn("telegram: reply not delivered", "update_id", e.id, "conversation", pseudonym(e.chat), "err", err)
			c.finish(ctx, e)
			return
		case attempt >= maxAttempts:
			c.poison(ctx, e, "failed "+strconv.Itoa(attempt)+" times", err)
			return
		}
		c.log.Warn("telegram: handling failed; retrying", "update_id", e.id, "attempt", attempt, "err", err)
		t := time.NewTimer(c.retryBackoff(attempt))
		select {
		case <-t.C:
		case <-c.stopping:
			t.Stop()
			c.release(ctx, e)
			return
		}
	}
}

// release gives back the claim of an update that was not handled.
func (c *Channel) release(ctx context.Context, e entry) {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	if _, err := c.store.DeleteIfEqual(rctx, c.doneKey(e.id), []byte(c.instance)); err != nil {
		c.log.Warn("telegram: claim of an unhandled update not released", "update_id", e.id, "err", err)
	}
}

func isSendFailure(err error) bool {
	var se *bot.SendError
	return errors.As(err, &se)
}

func (c *Channel) safeHandle(ctx context.Context, u *models.Update, e entry) (routed bool, err error) {
	defer func() {
		if p := recover(); p != nil {
			c.log.Error("telegram: panic while handling an update", "update_id", u.ID, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			routed, err = false, errPanic{p}
		}
	}()
	return c.handleUpdate(ctx, u, e)
}

// finish removes a handled (claimed) update from the intake.
func (c *Channel) finish(ctx context.Context, e entry) {
	ctx = context.WithoutCancel(ctx)
	if _, err := c.store.IndexRemove(ctx, c.intakeKey(), e.member); err != nil {
		c.log.Warn("telegram: handled update not removed from the intake", "update_id", e.id, "err", err)
	}
	c.dropBody(ctx, e)
}

// dropBody deletes the body of a large update, kept beside the intake.
func (c *Channel) dropBody(ctx context.Context, e entry) {
	if e.raw == nil {
		_ = c.store.Delete(context.WithoutCancel(ctx), c.bodyKey(e.id))
	}
}

// poison skips an update that cannot be handled: it is logged (without content), recorded
// in the poison log, answered in a private chat, and marked handled.
func (c *Channel) poison(ctx context.Context, e entry, reason string, cause error) {
	ctx = context.WithoutCancel(ctx)
	c.log.Error("telegram: poison update skipped", "update_id", e.id, "conversation", pseudonym(e.chat), "reason", reason, "err", cause)
	rec, _ := json.Marshal(Poisoned{UpdateID: e.id, Chat: pseudonym(e.chat), Reason: reason, At: time.Now().UTC()})
	if _, err := c.store.Append(ctx, c.poisonKey(), 1000, 30*24*time.Hour, rec); err != nil {
		c.log.Warn("telegram: poison update not recorded", "err", err)
	}
	if c.onPoison != nil {
		c.onPoison(e.id, reason)
	}
	raw := e.raw
	if raw == nil {
		raw, _ = c.store.Get(ctx, c.bodyKey(e.id))
	}
	h, _ := decodeHead(raw)
	if h.CallbackQuery != nil {
		c.answerCallbackRaw(ctx, raw)
	}
	if chatID, private := h.chat(); chatID > 0 && private {
		l := lang.Normalize(h.lang())
		text := c.texts.T(l, "error.generic", nil)
		sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		if err := c.Send(sctx, bot.Address{Channel: Name, Conversation: strconv.FormatInt(chatID, 10)}, []bot.Reply{{Text: text, Lang: l}}); err != nil {
			c.log.Warn("telegram: poison update not answered", "update_id", e.id, "err", err)
		}
		cancel()
	}
	c.finish(ctx, e)
}

// answerCallbackRaw answers the callback query of an update that could not be decoded.
func (c *Channel) answerCallbackRaw(ctx context.Context, raw []byte) {
	var q struct {
		CallbackQuery struct {
			ID string `json:"id"`
		} `json:"callback_query"`
	}
	if json.Unmarshal(raw, &q) == nil && q.CallbackQuery.ID != "" {
		c.answerCallback(ctx, q.CallbackQuery.ID)
	}
}

func (c *Channel) answerCallback(ctx context.Context, id string) {
	actx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if _, err := c.api.Do(actx, &tgbot.AnswerCallbackQueryParams{CallbackQueryID: id}); err != nil {
		c.log.Debug("telegram: callback query not answered", "err", err)
	}
}

// handleUpdate turns one update into what it means for Sportello and runs it through the
// router, which takes the update out of the intake with its last write (routed: finish need
// not; should that write fail, a rescan finds the update claimed and finishes it).
func (c *Channel) handleUpdate(ctx context.Context, u *models.Update, e entry) (routed bool, err error) {
	if c.beforeHandle != nil {
		if err := c.beforeHandle(u); err != nil {
			return false, err
		}
	}
	if m := u.MyChatMember; m != nil {
		return false, c.memberChanged(ctx, m)
	}
	if q := u.CallbackQuery; q != nil {
		c.answerCallback(ctx, q.ID) // always, at once: the button stops spinning
	}
	in, t, ok := c.inbound(u)
	if !ok {
		return false, nil
	}
	chatID, _ := strconv.ParseInt(in.Conversation, 10, 64)
	c.mu.Lock()
	c.turns[chatID] = &t
	c.mu.Unlock()
	stopTyping := c.typingAfter(ctx, in.Address)
	defer func() {
		stopTyping()
		c.mu.Lock()
		if c.turns[chatID] == &t {
			delete(c.turns, chatID)
		}
		c.mu.Unlock()
	}()
	in.Commit = []bot.Op{bot.IndexRemoveOp(c.intakeKey(), e.member)}
	hctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	run, err := c.router.Enqueue(hctx, in)
	if err != nil {
		return false, err
	}
	return true, run()
}

// typingAfter shows "typing…" in the chat if handling takes longer than TypingDelay, renewed
// every 4 s (an action lasts 5 s) until the returned func is called.
func (c *Channel) typingAfter(ctx context.Context, to bot.Address) func() {
	done := make(chan struct{})
	go func() {
		t := time.NewTimer(c.cfg.TypingDelay)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
			}
			tctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			err := c.Typing(tctx, to)
			cancel()
			if err != nil {
				return
			}
			t.Reset(4 * time.Second)
		}
	}()
	return func() { close(done) }
}

// memberChanged follows the bot's membership in a chat: a user who blocks the bot (kicked) or
// a group that removes it is not written to again until the bot is back.
func (c *Channel) memberChanged(ctx context.Context, m *models.ChatMemberUpdated) error {
	chat := strconv.FormatInt(m.Chat.ID, 10)
	switch m.NewChatMember.Type {
	case models.ChatMemberTypeBanned, models.ChatMemberTypeLeft:
		if err := c.markBlocked(ctx, m.Chat.ID); err != nil {
			return fmt.Errorf("remember blocked chat: %w", err)
		}
		c.log.Info("telegram: bot blocked or removed", "conversation", pseudonym(chat), "chat_type", string(m.Chat.Type))
	default:
		if err := c.store.Delete(ctx, c.blockedKey(m.Chat.ID)); err != nil {
			return fmt.Errorf("forget blocked chat: %w", err)
		}
		c.log.Info("telegram: bot unblocked or added", "conversation", pseudonym(chat), "chat_type", string(m.Chat.Type))
	}
	return nil
}
