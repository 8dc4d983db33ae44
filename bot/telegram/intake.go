package telegram

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	tgbot "github.com/go-telegram/bot"

	"github.com/sportello/sportello/bot"
)

// The intake records every update in the Store before Telegram is told it arrived. Updates
// sit in one sorted index (score = update_id) until they are handled. The channel's keys, all
// under the prefix "tg:<bot id>:":
//
//	intake              index of "<update_id>|<chat>|<raw JSON>" (or "…|@" with the JSON at u:<id>)
//	done:<update_id>    the claim of an update being or having been handled, kept DedupeTTL
//	chat:<chat>         the lease of the replica that handles a chat (renewed while it does)
//	wake                topic: new updates were recorded (wakes the other replicas)
//	blocked:<chat>      the bot may not write to this chat (blocked, removed, chat gone)
//	pending, pending:<id>, pending-lease:<id>   staff replies not yet delivered
//	poison              the last 1000 updates skipped as poison (no content)
const inlineMax = 8 << 10 // larger updates are stored beside the index entry

func (c *Channel) intakeKey() string           { return c.prefix + "intake" }
func (c *Channel) bodyKey(id int64) string     { return c.prefix + "u:" + strconv.FormatInt(id, 10) }
func (c *Channel) doneKey(id int64) string     { return c.prefix + "done:" + strconv.FormatInt(id, 10) }
func (c *Channel) leaseKey(chat string) string { return c.prefix + "chat:" + chat }
func (c *Channel) wakeTopic() string           { return c.prefix + "wake" }

// errMalformed marks an update that cannot be recorded (no update_id).
var errMalformed = errors.New("malformed update")

// head is the little of an update the intake needs: its id, its chat and a language for
// answering it if it turns out to be poison. Decoding is lenient on purpose.
type head struct {
	UpdateID      int64    `json:"update_id"`
	Message       *headMsg `json:"message"`
	EditedMessage *headMsg `json:"edited_message"`
	CallbackQuery *struct {
		From    headUser `json:"from"`
		Message *headMsg `json:"message"`
	} `json:"callback_query"`
	MyChatMember *headMsg `json:"my_chat_member"`
}

type headMsg struct {
	Chat struct {
		ID   int64  `json:"id"`
		Type string `json:"type"`
	} `json:"chat"`
	From *headUser `json:"from"`
}

type headUser struct {
	ID           int64  `json:"id"`
	LanguageCode string `json:"language_code"`
}

func decodeHead(raw []byte) (head, error) {
	var h head
	err := json.Unmarshal(raw, &h)
	var typeErr *json.UnmarshalTypeError
	if err != nil && !errors.As(err, &typeErr) {
		h = head{}
		var id struct {
			UpdateID int64 `json:"update_id"`
		}
		if json.Unmarshal(raw, &id) != nil {
			return h, errMalformed
		}
		h.UpdateID = id.UpdateID
	}
	if h.UpdateID <= 0 {
		return h, errMalformed
	}
	return h, nil
}

// chat is the conversation an update belongs to, "0" if none.
func (h head) chat() (id int64, private bool) {
	for _, m := range []*headMsg{h.Message, h.EditedMessage, h.MyChatMember} {
		if m != nil && m.Chat.ID != 0 {
			return m.Chat.ID, m.Chat.Type == "private"
		}
	}
	if q := h.CallbackQuery; q != nil {
		if q.Message != nil && q.Message.Chat.ID != 0 {
			return q.Message.Chat.ID, q.Message.Chat.Type == "private"
		}
		return q.From.ID, true
	}
	return 0, false
}

func (h head) lang() string {
	for _, m := range []*headMsg{h.Message, h.EditedMessage} {
		if m != nil && m.From != nil {
			return m.From.LanguageCode
		}
	}
	if h.CallbackQuery != nil {
		return h.CallbackQuery.From.LanguageCode
	}
	return ""
}

// entry is one recorded update as the index holds it.
type entry struct {
	member string
	id     int64
	chat   string
	raw    []byte // nil: stored at bodyKey(id)
}

func parseMember(m string) (entry, bool) {
	idStr, rest, ok1 := strings.Cut(m, "|")
	chat, raw, ok2 := strings.Cut(rest, "|")
	id, err := strconv.ParseInt(idStr, 10, 64)
	if !ok1 || !ok2 || err != nil {
		return entry{}, false
	}
	e := entry{member: m, id: id, chat: chat}
	if raw != "@" {
		e.raw = []byte(raw)
	}
	return e, true
}

// entryFor prepares the record of one update: its entry and the store writes that keep it
// (the index member, and for a large update its body beside the index).
func (c *Channel) entryFor(raw []byte, h head) (entry, []bot.Op, error) {
	var compact bytes.Buffer
	if err := json.Compact(&compact, raw); err != nil {
		return entry{}, nil, errMalformed
	}
	chatID, _ := h.chat()
	e := entry{id: h.UpdateID, chat: strconv.FormatInt(chatID, 10)}
	member := strconv.FormatInt(h.UpdateID, 10) + "|" + e.chat + "|"
	var ops []bot.Op
	if compact.Len() <= inlineMax {
		e.raw = compact.Bytes()
		member += compact.String()
	} else {
		member += "@"
		ops = append(ops, bot.PutOp(c.bodyKey(h.UpdateID), compact.Bytes(), c.cfg.DedupeTTL))
	}
	e.member = member
	return e, append(ops, bot.IndexAddOp(c.intakeKey(), member, float64(h.UpdateID))), nil
}

// record stores a batch of updates in one store round trip and returns the highest update_id
// in it; then it hands each update, in order, to its chat's worker. Updates without an
// update_id are skipped; a store failure fails the batch (Telegram then sends it again, and
// what was recorded is recorded once: the same member).
func (c *Channel) record(ctx context.Context, raws []json.RawMessage) (int64, error) {
	var (
		maxID   int64
		entries []entry
		ops     []bot.Op
	)
	for _, raw := range raws {
		h, err := decodeHead(raw)
		if err != nil {
			c.log.Error("telegram: malformed update skipped")
			continue
		}
		maxID = max(maxID, h.UpdateID)
		e, eops, err := c.entryFor(raw, h)
		if err != nil {
			c.log.Error("telegram: malformed update skipped", "update_id", h.UpdateID)
			continue
		}
		entries, ops = append(entries, e), append(ops, eops...)
	}
	if len(ops) == 0 {
		return maxID, nil
	}
	if err := c.store.Batch(ctx, ops...); err != nil {
		return maxID, fmt.Errorf("record updates: %w", err)
	}
	for _, e := range entries {
		c.offerLocal(e)
	}
	c.signal(ctx)
	return maxID, nil
}

// signal wakes the consumers of other replicas (this one has its updates already).
func (c *Channel) signal(ctx context.Context) {
	if err := c.store.Publish(ctx, c.wakeTopic(), []byte(c.instance)); err != nil {
		c.log.Debug("telegram: wake not published", "err", err)
	}
}

// poll is the long-polling loop. The offset that confirms updates to Telegram is advanced
// only after they are recorded: a crash before that gets them delivered again.
func (c *Channel) poll(ctx context.Context) {
	var offset int64
	backoff := time.Duration(0)
	webhookDeleted := false
	for ctx.Err() == nil {
		if backoff > 0 {
			if !sleep(ctx, backoff) {
				return
			}
		}
		if !webhookDeleted {
			if _, err := c.api.Do(ctx, &tgbot.DeleteWebhookParams{}); err != nil {
				c.log.Warn("telegram: deleteWebhook failed", "err", redact(err.Error(), c.cfg.Token))
			} else {
				webhookDeleted = true
			}
		}
		updates, err := c.getUpdates(ctx, offset)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			var ae *apiError
			switch {
			case errors.As(err, &ae) && ae.Code == http.StatusUnauthorized:
				c.log.Error("telegram: the bot token was revoked (401); polling paused", "err", err)
				backoff = time.Minute
			case errors.As(err, &ae) && ae.Code == http.StatusConflict:
				c.log.Warn("telegram: getUpdates conflict (another poller or a webhook)", "err", err)
				webhookDeleted = !strings.Contains(strings.ToLower(ae.Description), "webhook")
				backoff = nextBackoff(backoff, 5*time.Second, 30*time.Second)
			case errors.As(err, &ae) && ae.RetryAfter > 0:
				backoff = time.Duration(ae.RetryAfter) * time.Second
			default:
				c.log.Warn("telegram: getUpdates failed", "err", err)
				backoff = nextBackoff(backoff, 200*time.Millisecond, 15*time.Second)
			}
			continue
		}
		backoff = 0
		if len(updates) == 0 {
			continue
		}
		maxID, err := c.record(ctx, updates)
		if err != nil {
			// Not confirmed: Telegram sends the same updates again.
			c.log.Error("telegram: updates not recorded; will fetch them again", "err", err)
			backoff = nextBackoff(backoff, 500*time.Millisecond, 10*time.Second)
			continue
		}
		if maxID >= offset {
			offset = maxID + 1
		}
	}
}

func nextBackoff(cur, first, limit time.Duration) time.Duration {
	if cur <= 0 {
		return first
	}
	return min(2*cur, limit)
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// keepWebhook registers the webhook with Telegram, retrying until it succeeds.
func (c *Channel) keepWebhook(ctx context.Context) {
	backoff := time.Duration(0)
	for ctx.Err() == nil {
		if backoff > 0 && !sleep(ctx, backoff) {
			return
		}
		_, err := c.api.Do(ctx, &tgbot.SetWebhookParams{
			URL:            c.cfg.WebhookURL,
			SecretToken:    c.secret,
			AllowedUpdates: allowedUpdates,
			MaxConnections: 40,
		})
		if err == nil {
			c.log.Info("telegram webhook set")
			return
		}
		c.log.Error("telegram: setWebhook failed; retrying", "err", redact(err.Error(), c.cfg.Token))
		backoff = nextBackoff(backoff, time.Second, time.Minute)
	}
}

// WebhookSecret is the secret Telegram sends in X-Telegram-Bot-Api-Secret-Token.
func (c *Channel) WebhookSecret() string { return c.secret }

// WebhookHandler receives updates from Telegram (mount it at the path of WebhookURL). A request
// without the right X-Telegram-Bot-Api-Secret-Token gets 401; an update is answered 200 only
// after it is recorded in the store (a store failure answers 500, and Telegram retries); the
// update is handled afterwards by Run's consumer, on this replica or another.
func (c *Channel) WebhookHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		got := r.Header.Get("X-Telegram-Bot-Api-Secret-Token")
		if subtle.ConstantTimeCompare([]byte(got), []byte(c.secret)) != 1 {
			c.log.Warn("telegram webhook: wrong secret token", "remote", r.RemoteAddr)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		body, err := io.ReadAll(io.LimitReader(r.Body, 16<<20))
		if err != nil {
			http.Error(w, "cannot read body", http.StatusBadRequest)
			return
		}
		maxID, err := c.record(r.Context(), []json.RawMessage{body})
		switch {
		case errors.Is(err, errMalformed) || (err == nil && maxID == 0):
			http.Error(w, "malformed update", http.StatusBadRequest)
		case err != nil:
			c.log.Error("telegram webhook: update not recorded; Telegram will retry", "err", err)
			http.Error(w, "not recorded", http.StatusInternalServerError)
		default:
			w.WriteHeader(http.StatusOK)
		}
	})
}

// Poisoned is one update that was skipped because handling it failed.
type Poisoned struct {
	UpdateID int64     `json:"update_id"`
	Chat     string    `json:"chat"` // a pseudonym (bot.Pseudonym), not the chat id
	Reason   string    `json:"reason"`
	At       time.Time `json:"at"`
}

func (c *Channel) poisonKey() string { return c.prefix + "poison" }

// Poisoned lists the updates skipped as poison, oldest first (the last 1000, for 30 days).
func (c *Channel) Poisoned(ctx context.Context) ([]Poisoned, error) {
	raws, err := c.store.Range(ctx, c.poisonKey(), 0)
	if err != nil {
		return nil, err
	}
	out := make([]Poisoned, 0, len(raws))
	for _, raw := range raws {
		var p Poisoned
		if json.Unmarshal(raw, &p) == nil {
			out = append(out, p)
		}
	}
	return out, nil
}

func pseudonym(chat string) string { return bot.Pseudonym(Name + ":" + chat) }
