package telegram

import (
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"

	"github.com/go-telegram/bot/models"

	"github.com/sportello/sportello/bot"
)

var spaces = regexp.MustCompile(`[ \t]{2,}`)

// turn is what the outbox needs to know about the update being handled in a chat.
type turn struct {
	pressed int // the bot message whose button was pressed: Reply.Edit edits it
	replyTo int // in groups: the message the bot answers
}

// inbound maps an update to the router's channel-neutral message. It reports false for
// updates Sportello does not answer: service messages, other bots, channel posts, and group
// messages that do not address the bot (they are not even recorded in a transcript).
func (c *Channel) inbound(u *models.Update) (bot.Inbound, turn, bool) {
	switch {
	case u.Message != nil:
		return c.fromMessage(u.Message, false)
	case u.EditedMessage != nil:
		return c.fromMessage(u.EditedMessage, true)
	case u.CallbackQuery != nil:
		return c.fromCallback(u.CallbackQuery)
	}
	return bot.Inbound{}, turn{}, false
}

func address(chatID int64) bot.Address {
	return bot.Address{Channel: Name, Conversation: strconv.FormatInt(chatID, 10)}
}

func isGroup(t models.ChatType) bool {
	return t == models.ChatTypeGroup || t == models.ChatTypeSupergroup
}

func (c *Channel) fromMessage(m *models.Message, edited bool) (bot.Inbound, turn, bool) {
	if m.From == nil || m.From.IsBot {
		return bot.Inbound{}, turn{}, false
	}
	if m.Chat.Type != models.ChatTypePrivate && !isGroup(m.Chat.Type) {
		return bot.Inbound{}, turn{}, false
	}
	text, ents := m.Text, m.Entities
	if text == "" {
		text, ents = m.Caption, m.CaptionEntities
	}
	media := mediaOf(m)
	if strings.TrimSpace(text) == "" && media == bot.MediaNone {
		return bot.Inbound{}, turn{}, false // service message: joined, left, pinned …
	}
	in := bot.Inbound{
		Address:   address(m.Chat.ID),
		User:      strconv.FormatInt(m.From.ID, 10),
		MessageID: strconv.Itoa(m.ID),
		// The intake claims each update_id (done:<id>) before handling it.
		Deduplicated: true,
		LangHint:     m.From.LanguageCode,
		Text:         text,
		Media:        media,
		Edited:       edited,
		At:           time.Unix(int64(m.Date), 0),
	}
	if edited {
		in.MessageID = strconv.Itoa(m.ID) + "e" + strconv.Itoa(m.EditDate)
		if m.EditDate != 0 {
			in.At = time.Unix(int64(m.EditDate), 0)
		}
	}
	var t turn
	addressed, cleaned := c.addressing(m, text, ents)
	in.Text = cleaned
	if isGroup(m.Chat.Type) {
		if !addressed {
			return bot.Inbound{}, turn{}, false
		}
		in.Group, in.Addressed = true, true
		t.replyTo = m.ID
	}
	return in, t, true
}

// addressing reports whether a message addresses the bot — a reply to one of its messages, an
// @mention of it, or a command (not one meant for another bot) — and returns the text without
// the bot's @username ("/start@sportello_bot ravenna" → "/start ravenna").
func (c *Channel) addressing(m *models.Message, text string, ents []models.MessageEntity) (bool, string) {
	addressed := m.ReplyToMessage != nil && m.ReplyToMessage.From != nil && m.ReplyToMessage.From.ID == c.me.ID
	if len(ents) == 0 {
		return addressed, text
	}
	units := utf16.Encode([]rune(text))
	slice := func(off, n int) string {
		if off < 0 || n < 0 || off+n > len(units) {
			return ""
		}
		return string(utf16.Decode(units[off : off+n]))
	}
	me := "@" + strings.ToLower(c.me.Username)
	type cut struct{ from, to int }
	var cuts []cut
	for _, e := range ents {
		switch e.Type {
		case models.MessageEntityTypeMention:
			if strings.ToLower(slice(e.Offset, e.Length)) == me && c.me.Username != "" {
				addressed = true
				cuts = append(cuts, cut{e.Offset, e.Offset + e.Length})
			}
		case models.MessageEntityTypeTextMention:
			if e.User != nil && e.User.ID == c.me.ID {
				addressed = true
			}
		case models.MessageEntityTypeBotCommand:
			if e.Offset != 0 {
				continue
			}
			cmd := slice(e.Offset, e.Length)
			name, target, hasTarget := strings.Cut(cmd, "@")
			switch {
			case !hasTarget:
				addressed = true
			case strings.EqualFold(target, c.me.Username):
				addressed = true
				at := e.Offset + len(utf16.Encode([]rune(name)))
				cuts = append(cuts, cut{at, e.Offset + e.Length})
			}
		}
	}
	if len(cuts) == 0 {
		return addressed, text
	}
	var out []uint16
	prev := 0
	for _, ct := range cuts {
		if ct.from < prev || ct.to > len(units) {
			continue
		}
		out = append(out, units[prev:ct.from]...)
		prev = ct.to
	}
	out = append(out, units[prev:]...)
	// Tidy the spaces the mention leaves behind, keeping the user's line breaks.
	cleaned := spaces.ReplaceAllString(string(utf16.Decode(out)), " ")
	return addressed, strings.TrimSpace(cleaned)
}

func (c *Channel) fromCallback(q *models.CallbackQuery) (bot.Inbound, turn, bool) {
	if q.Data == "" {
		return bot.Inbound{}, turn{}, false
	}
	chatID, chatType, msgID := q.From.ID, models.ChatTypePrivate, 0
	switch {
	case q.Message.Message != nil:
		chatID, chatType, msgID = q.Message.Message.Chat.ID, q.Message.Message.Chat.Type, q.Message.Message.ID
	case q.Message.InaccessibleMessage != nil:
		chatID, chatType, msgID = q.Message.InaccessibleMessage.Chat.ID, q.Message.InaccessibleMessage.Chat.Type, q.Message.InaccessibleMessage.MessageID
	}
	in := bot.Inbound{
		Address:      address(chatID),
		User:         strconv.FormatInt(q.From.ID, 10),
		MessageID:    "cb" + q.ID,
		Deduplicated: true,
		LangHint:     q.From.LanguageCode,
		Action:       q.Data,
		At:           time.Now(),
	}
	if isGroup(chatType) {
		in.Group, in.Addressed = true, true // pressing the bot's button addresses it
	}
	return in, turn{pressed: msgID}, true
}

// mediaOf says what non-text content a message carries.
func mediaOf(m *models.Message) bot.Media {
	switch {
	case len(m.Photo) > 0:
		return bot.MediaPhoto
	case m.Animation != nil: // a GIF also carries a document
		return bot.MediaOther
	case m.Document != nil:
		return bot.MediaDocument
	case m.Voice != nil:
		return bot.MediaVoice
	case m.Video != nil, m.VideoNote != nil:
		return bot.MediaVideo
	case m.Sticker != nil:
		return bot.MediaSticker
	case m.Location != nil, m.Venue != nil:
		return bot.MediaLocation
	case m.Contact != nil:
		return bot.MediaContact
	case m.Audio != nil, m.Poll != nil, m.Dice != nil, m.Game != nil, m.Story != nil, m.PaidMedia != nil,
		m.Checklist != nil, m.Invoice != nil:
		return bot.MediaOther
	}
	return bot.MediaNone
}
