// Package bot is Sportello's channel-neutral core: the messages that flow between users and
// the bot, the contract channel adapters implement, and the router that gives every channel
// the same behaviour (dedupe, per-conversation order, language, safety rules, handoff relay).
package bot

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Address names one conversation on one channel: where replies go.
type Address struct {
	Channel      string `json:"channel"`      // "telegram", "discord", "web", "terminal"
	Conversation string `json:"conversation"` // the channel's chat id
}

// Key is the address as a store key fragment, e.g. "telegram:12345".
func (a Address) Key() string { return a.Channel + ":" + a.Conversation }

func (a Address) String() string { return a.Key() }

// Media is the kind of non-text content a message carried.
type Media string

const (
	MediaNone     Media = ""
	MediaPhoto    Media = "photo"
	MediaDocument Media = "document"
	MediaVoice    Media = "voice"
	MediaVideo    Media = "video"
	MediaSticker  Media = "sticker"
	MediaLocation Media = "location"
	MediaContact  Media = "contact"
	MediaOther    Media = "other"
)

// Inbound is one message from a user, as every channel adapter reports it.
type Inbound struct {
	Address
	User      string // the channel's user id
	MessageID string // the channel's id for this delivery, used to drop duplicates ("" = never a duplicate)
	// Deduplicated: the channel already makes sure each delivery is handled once (Telegram
	// claims every update_id durably), so the router need not check MessageID again.
	Deduplicated bool
	// Commit are store writes the channel wants done with the conversation's last write of this
	// message, saving it a round trip (Telegram takes the update out of its intake).
	Commit    []Op
	LangHint  string    // the channel's language hint, e.g. Telegram's language_code ("bn-Latn", "pt-BR")
	Lang      string    // a language the user chose in the channel itself (web chat picker, chat --lang)
	Text      string    // what the user typed (a caption for media)
	Action    string    // the payload of a pressed button; empty for typed text
	Media     Media     // non-text content, if any
	Edited    bool      // an edit of an earlier message
	Group     bool      // sent in a group chat: no personal flows there
	Addressed bool      // in a group: the bot was mentioned, replied to or commanded
	At        time.Time // when the channel received it
}

// Reply is one message from the bot to a user. Text uses the light markup parsed by ParseMarkup.
type Reply struct {
	Text    string     `json:"text"`
	Buttons [][]Button `json:"buttons,omitempty"`
	Lang    string     `json:"lang,omitempty"`    // the language Text is written in
	Article string     `json:"article,omitempty"` // the knowledge article this reply answers with
	Handoff string     `json:"handoff,omitempty"` // the ticket this reply concerns, or HandoffUnassigned
	Staff   bool       `json:"staff,omitempty"`   // written by desk staff, relayed by the bot
	// Edit asks the adapter to replace the message that carried the pressed button (menus edit in place).
	Edit bool `json:"edit,omitempty"`
}

// HandoffUnassigned marks a reply that hands the user to staff when no desk queue is
// connected (the reply gives the desk's contacts instead of a ticket).
const HandoffUnassigned = "unassigned"

// Button is one choice offered under a reply. Action is an opaque payload of at most
// MaxActionBytes bytes, checked against the session when it comes back.
type Button struct {
	Label  string `json:"label"`
	Action string `json:"action,omitempty"`
	URL    string `json:"url,omitempty"`
}

// MaxActionBytes is the largest button payload any channel carries (Telegram's callback_data).
const MaxActionBytes = 64

// Channel is what every adapter implements for the core: sending replies to a conversation.
// Send delivers the replies in order; on failure it returns a *SendError classifying it.
type Channel interface {
	Name() string
	Send(ctx context.Context, to Address, replies []Reply) error
}

// Typer is implemented by channels that can show "typing…" while a reply is prepared.
type Typer interface {
	Typing(ctx context.Context, to Address) error
}

// SendFailure classifies why a send failed, so that one place decides about retries.
type SendFailure int

const (
	// Retryable failures (network errors, 5xx) are tried again with backoff.
	Retryable SendFailure = iota
	// Throttled failures are tried again after SendError.RetryAfter.
	Throttled
	// Permanent failures (blocked by the user, chat not found, bad request) are never retried.
	Permanent
)

func (f SendFailure) String() string {
	switch f {
	case Throttled:
		return "throttled"
	case Permanent:
		return "permanent"
	default:
		return "retryable"
	}
}

// SendError is the classified error adapters return from Send.
type SendError struct {
	Failure    SendFailure
	RetryAfter time.Duration // with Throttled
	Reason     string        // short, no user data: "blocked", "chat not found", "http 502"
	Err        error
}

func (e *SendError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("send %s (%s): %v", e.Failure, e.Reason, e.Err)
	}
	return fmt.Sprintf("send %s (%s)", e.Failure, e.Reason)
}

func (e *SendError) Unwrap() error { return e.Err }

// Classify returns how err should be treated; unclassified errors count as retryable.
func Classify(err error) (SendFailure, time.Duration) {
	var se *SendError
	if errors.As(err, &se) {
		return se.Failure, se.RetryAfter
	}
	return Retryable, 0
}

// Clock tells the time; tests inject a fake one for TTLs and reminders.
type Clock interface {
	Now() time.Time
}

// SystemClock is the real clock.
type SystemClock struct{}

func (SystemClock) Now() time.Time { return time.Now() }
