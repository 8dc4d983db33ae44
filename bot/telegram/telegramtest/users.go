package telegramtest

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
)

// Media kinds for Input.Media.
const (
	Photo     = "photo"
	Document  = "document"
	Voice     = "voice"
	Audio     = "audio"
	Video     = "video"
	VideoNote = "video_note"
	Animation = "animation"
	Sticker   = "sticker"
	Location  = "location"
	Venue     = "venue"
	Contact   = "contact"
	Poll      = "poll"
	Dice      = "dice"
)

// NewUser creates a user with the given language_code ("" for none). The user has no chat with
// the bot until it writes.
func (s *Server) NewUser(languageCode string) User {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextUser++
	n := s.nextUser
	return User{ID: n, FirstName: fmt.Sprintf("User%d", n%100000), Username: fmt.Sprintf("user%d", n), LanguageCode: languageCode}
}

// NewGroup creates a group (typ Group) or supergroup (typ Supergroup) the bot is a member of.
func (s *Server) NewGroup(title, typ string) Chat {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextGroup++
	id := -s.nextGroup - 4000000000
	if typ == Supergroup {
		id = -1000000000000 - s.nextGroup
	}
	c := Chat{ID: id, Type: typ, Title: title}
	s.chats[id] = &chatState{chat: c, member: true, messages: map[int]*Message{}}
	return c
}

func privateChat(u User) Chat {
	return Chat{ID: u.ID, Type: Private, FirstName: u.FirstName, LastName: u.LastName, Username: u.Username}
}

func (s *Server) chatForLocked(c Chat) *chatState {
	st := s.chats[c.ID]
	if st == nil {
		st = &chatState{chat: c, member: c.Type != Private, messages: map[int]*Message{}}
		s.chats[c.ID] = st
	}
	return st
}

// Input is something a user posts.
type Input struct {
	From    User
	Chat    Chat   // zero: the private chat with From
	Text    string // a text message
	Caption string // with Media
	Media   string // Photo, Document, Voice, … ("" for text)
	ReplyTo int    // the message (in the same chat) this one replies to
}

var (
	commandRe = regexp.MustCompile(`(^|\s)(/[A-Za-z0-9_]{1,32}(@[A-Za-z0-9_]{3,32})?)`)
	mentionRe = regexp.MustCompile(`(^|[\s(])(@[A-Za-z0-9_]{5,32})`)
	urlRe     = regexp.MustCompile(`https?://[^\s<>"]+`)
)

// detectEntities finds what Telegram's clients mark up in a user's text: bot commands,
// @mentions and URLs.
func detectEntities(text string) []Entity {
	var ents []Entity
	units := func(byteOff int) int { return UTF16Len(text[:byteOff]) }
	add := func(typ string, start, end int) {
		ents = append(ents, Entity{Type: typ, Offset: units(start), Length: units(end) - units(start)})
	}
	for _, m := range commandRe.FindAllStringSubmatchIndex(text, -1) {
		add("bot_command", m[4], m[5])
	}
	for _, m := range mentionRe.FindAllStringSubmatchIndex(text, -1) {
		add("mention", m[4], m[5])
	}
	for _, m := range urlRe.FindAllStringIndex(text, -1) {
		add("url", m[0], m[1])
	}
	slices.SortFunc(ents, func(a, b Entity) int { return a.Offset - b.Offset })
	return ents
}

func mediaPayload(kind string, n int) (func(m *Message), error) {
	id := func(p string) object {
		return object{"file_id": fmt.Sprintf("%s-%d-AgACAgIAAxkBAAI", p, n), "file_unique_id": fmt.Sprintf("AQAD%s%d", p, n)}
	}
	with := func(o object, kv ...any) object {
		for i := 0; i+1 < len(kv); i += 2 {
			o[kv[i].(string)] = kv[i+1]
		}
		return o
	}
	switch kind {
	case Photo:
		return func(m *Message) {
			m.Photo = []object{with(id("ph-s"), "width", 90, "height", 67, "file_size", 1400),
				with(id("ph"), "width", 1280, "height", 960, "file_size", 98000)}
		}, nil
	case Document:
		return func(m *Message) {
			m.Document = with(id("doc"), "file_name", "permesso.pdf", "mime_type", "application/pdf", "file_size", 220000)
		}, nil
	case Voice:
		return func(m *Message) {
			m.Voice = with(id("voice"), "duration", 4, "mime_type", "audio/ogg", "file_size", 9000)
		}, nil
	case Audio:
		return func(m *Message) {
			m.Audio = with(id("audio"), "duration", 180, "mime_type", "audio/mpeg", "title", "song")
		}, nil
	case Video:
		return func(m *Message) {
			m.Video = with(id("video"), "width", 640, "height", 360, "duration", 12, "mime_type", "video/mp4")
		}, nil
	case VideoNote:
		return func(m *Message) { m.VideoNote = with(id("vnote"), "length", 240, "duration", 5) }, nil
	case Animation:
		return func(m *Message) {
			m.Animation = with(id("anim"), "width", 320, "height", 240, "duration", 2, "mime_type", "video/mp4")
			m.Document = with(id("anim"), "file_name", "anim.mp4", "mime_type", "video/mp4")
		}, nil
	case Sticker:
		return func(m *Message) {
			m.Sticker = with(id("sticker"), "type", "regular", "width", 512, "height", 512, "is_animated", false, "is_video", false, "emoji", "👍")
		}, nil
	case Location:
		return func(m *Message) { m.Location = object{"latitude": 44.4173, "longitude": 12.1997} }, nil
	case Venue:
		return func(m *Message) {
			loc := object{"latitude": 44.4173, "longitude": 12.1997}
			m.Location = loc
			m.Venue = object{"location": loc, "title": "Questura", "address": "Piazza del Popolo"}
		}, nil
	case Contact:
		return func(m *Message) {
			m.Contact = object{"phone_number": "+390544000000", "first_name": "Amina", "user_id": 42}
		}, nil
	case Poll:
		return func(m *Message) {
			m.Poll = object{"id": strconv.Itoa(n), "question": "?", "options": []object{{"text": "a", "voter_count": 0}, {"text": "b", "voter_count": 0}},
				"total_voter_count": 0, "is_closed": false, "is_anonymous": true, "type": "regular", "allows_multiple_answers": false}
		}, nil
	case Dice:
		return func(m *Message) { m.Dice = object{"emoji": "🎲", "value": 3} }, nil
	}
	return nil, fmt.Errorf("unknown media kind %q", kind)
}

// Post delivers a user's message to the bot and returns it (with its UpdateID).
func (s *Server) Post(in Input) Message {
	s.t.Helper()
	chat := in.Chat
	if chat.ID == 0 {
		chat = privateChat(in.From)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.chatForLocked(chat)
	st.nextMsg++
	msg := Message{MessageID: st.nextMsg, From: &in.From, Date: time.Now().Unix(), Chat: st.chat}
	if in.Media != "" {
		fill, err := mediaPayload(in.Media, st.nextMsg)
		if err != nil {
			s.t.Fatalf("telegramtest: %v", err)
		}
		fill(&msg)
		msg.Caption, msg.CaptionEntities = in.Caption, detectEntities(in.Caption)
	} else {
		msg.Text, msg.Entities = in.Text, detectEntities(in.Text)
	}
	if in.ReplyTo != 0 {
		r := st.messages[in.ReplyTo]
		if r == nil {
			s.t.Fatalf("telegramtest: message %d to reply to is not in chat %d", in.ReplyTo, chat.ID)
		}
		short := *r
		short.ReplyToMessage = nil
		msg.ReplyToMessage = &short
	}
	stored := msg
	st.messages[msg.MessageID] = &stored
	raw, _ := json.Marshal(Update{Message: &msg})
	msg.UpdateID = s.pushLocked("message", raw)
	return msg
}

// SendText delivers a text message from u in its private chat with the bot.
func (s *Server) SendText(u User, text string) Message {
	s.t.Helper()
	return s.Post(Input{From: u, Text: text})
}

// Start is the deep link t.me/<bot>?start=<payload>: the app sends "/start <payload>".
func (s *Server) Start(u User, payload string) Message {
	s.t.Helper()
	if payload == "" {
		return s.SendText(u, "/start")
	}
	return s.SendText(u, "/start "+payload)
}

// Edit changes the text of a message a user sent earlier; the bot receives edited_message.
func (s *Server) Edit(m Message, text string) Message {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.chats[m.Chat.ID]
	if st == nil || st.messages[m.MessageID] == nil {
		s.t.Fatalf("telegramtest: no message %d in chat %d to edit", m.MessageID, m.Chat.ID)
	}
	cur := st.messages[m.MessageID]
	key := fmt.Sprint(m.Chat.ID, ":", m.MessageID)
	date := max(time.Now().Unix(), s.editDates[key]+1) // edit dates of one message only grow
	s.editDates[key] = date
	cur.Text, cur.Entities, cur.EditDate = text, detectEntities(text), date
	edited := *cur
	raw, _ := json.Marshal(Update{EditedMessage: &edited})
	edited.UpdateID = s.pushLocked("edited_message", raw)
	return edited
}

// Press presses the button labelled label under the bot's message (as it is now, after edits)
// and returns the callback query id. The test fails if there is no such button.
func (s *Server) Press(from User, chatID int64, messageID int, label string) string {
	s.t.Helper()
	s.mu.Lock()
	st := s.chats[chatID]
	var msg *Message
	if st != nil {
		msg = st.messages[messageID]
	}
	if msg == nil || msg.ReplyMarkup == nil {
		s.mu.Unlock()
		s.t.Fatalf("telegramtest: message %d in chat %d has no buttons", messageID, chatID)
		return ""
	}
	data := ""
	for _, row := range msg.ReplyMarkup.InlineKeyboard {
		for _, b := range row {
			if b.Text == label && b.CallbackData != "" {
				data = b.CallbackData
			}
		}
	}
	s.mu.Unlock()
	if data == "" {
		s.t.Fatalf("telegramtest: message %d in chat %d has no callback button %q", messageID, chatID, label)
	}
	return s.PressData(from, chatID, messageID, data)
}

// PressData sends a callback query with any data for a message, as a modified client could.
func (s *Server) PressData(from User, chatID int64, messageID int, data string) string {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.chats[chatID]
	if st == nil || st.messages[messageID] == nil {
		s.t.Fatalf("telegramtest: no message %d in chat %d", messageID, chatID)
	}
	s.nextQuery++
	msg := *st.messages[messageID]
	msg.ReplyToMessage = nil
	q := CallbackQuery{ID: fmt.Sprintf("%d%06d", from.ID, s.nextQuery), From: from, Message: &msg,
		ChatInstance: strconv.FormatInt(chatID*7+13, 10), Data: data}
	s.queries[q.ID] = &query{q: q}
	raw, _ := json.Marshal(Update{CallbackQuery: &q})
	s.pushLocked("callback_query", raw)
	return q.ID
}

// Block is the user blocking the bot: from now on the bot gets 403 in that chat, and it
// receives my_chat_member with status "kicked".
func (s *Server) Block(u User) {
	s.memberChange(u, privateChat(u), "member", "kicked")
}

// Unblock is the user unblocking (restarting) the bot: my_chat_member with status "member".
func (s *Server) Unblock(u User) {
	s.memberChange(u, privateChat(u), "kicked", "member")
}

// AddToGroup adds the bot to a group; RemoveFromGroup kicks it out.
func (s *Server) AddToGroup(by User, g Chat) { s.memberChange(by, g, "left", "member") }

// RemoveFromGroup kicks the bot out of a group.
func (s *Server) RemoveFromGroup(by User, g Chat) { s.memberChange(by, g, "member", "kicked") }

func (s *Server) memberChange(by User, chat Chat, from, to string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.chatForLocked(chat)
	if chat.Type == Private {
		st.blocked = to == "kicked"
	} else {
		st.member, st.kicked = to == "member", to == "kicked"
	}
	me := s.me
	bot := User{ID: me.ID, IsBot: true, FirstName: me.FirstName, Username: me.Username}
	upd := Update{MyChatMember: &ChatMemberUpdated{Chat: st.chat, From: by, Date: time.Now().Unix(),
		OldChatMember: ChatMember{Status: from, User: bot}, NewChatMember: ChatMember{Status: to, User: bot}}}
	raw, _ := json.Marshal(upd)
	s.pushLocked("my_chat_member", raw)
}

// Inject queues an arbitrary update (a JSON object without update_id, which the server
// assigns) and returns its update_id. Use it for malformed or unusual updates.
func (s *Server) Inject(kind string, update string) int64 {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pushLocked(kind, []byte(update))
}

// Redeliver queues an update that was already delivered once more, with the same update_id,
// as Telegram does when it did not see the confirmation.
func (s *Server) Redeliver(updateID int64) {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	q, ok := s.history[updateID]
	if !ok {
		s.t.Fatalf("telegramtest: no update %d to redeliver", updateID)
	}
	i, _ := slices.BinarySearchFunc(s.queue, updateID, func(a queued, id int64) int { return int(a.id - id) })
	s.queue = slices.Insert(s.queue, i, q)
	s.notifyLocked()
}

// ---- what the bot did ----

// Sent returns the messages the bot sent and edited in a chat, in order.
func (s *Server) Sent(chatID int64) []Sent {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.sent[chatID])
}

// AllChats lists the chats the bot has sent messages to.
func (s *Server) AllChats() []int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]int64, 0, len(s.sent))
	for id := range s.sent {
		out = append(out, id)
	}
	slices.Sort(out)
	return out
}

// SentCount is len(Sent(chatID)) without the copy.
func (s *Server) SentCount(chatID int64) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.sent[chatID])
}

// Message returns the bot's or a user's message as it is now (after edits).
func (s *Server) Message(chatID int64, messageID int) (Message, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.chats[chatID]
	if st == nil || st.messages[messageID] == nil {
		return Message{}, false
	}
	return *st.messages[messageID], true
}

// BotMessages counts the distinct messages the bot has in a chat (edits do not add any).
func (s *Server) BotMessages(chatID int64) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	if st := s.chats[chatID]; st != nil {
		for _, m := range st.messages {
			if m.From != nil && m.From.ID == s.me.ID {
				n++
			}
		}
	}
	return n
}

// Calls returns the requests for method ("" for all), in order.
func (s *Server) Calls(method string) []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Call
	for _, c := range s.calls {
		if method == "" || strings.EqualFold(c.Method, method) {
			out = append(out, c)
		}
	}
	return out
}

// Rejected returns the requests the server refused by itself (status ≥ 400, not an injected fault).
func (s *Server) Rejected() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Call
	for _, c := range s.calls {
		if c.Status >= 400 && !c.Fault {
			out = append(out, c)
		}
	}
	return out
}

// Actions returns the chat actions ("typing") the bot sent to a chat.
func (s *Server) Actions(chatID int64) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.actions[chatID])
}

// Answered reports how the bot answered a callback query.
func (s *Server) Answered(queryID string) (Answer, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q := s.queries[queryID]
	if q == nil || !q.answered {
		return Answer{}, false
	}
	return q.answer, true
}

// Commands returns the commands set for a scope type ("default", "all_private_chats", …) and
// language code ("" for all languages).
func (s *Server) Commands(scope, languageCode string) []BotCommand {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.commands[scope+"|"+languageCode])
}

// CommandLanguages lists the language codes with commands in the default scope ("" first).
func (s *Server) CommandLanguages() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for k := range s.commands {
		if scope, lang, _ := strings.Cut(k, "|"); scope == "default" {
			out = append(out, lang)
		}
	}
	slices.Sort(out)
	return out
}

// WaitFor waits until cond holds (checked after every change on the server) or timeout; it
// reports whether cond held.
func (s *Server) WaitFor(timeout time.Duration, cond func() bool) bool {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		ch := s.changed
		s.mu.Unlock()
		if cond() {
			return true
		}
		select {
		case <-ch:
		case <-deadline.C:
			return cond()
		case <-time.After(50 * time.Millisecond): // conditions on state outside the server
		}
	}
}

// WaitSent waits until the bot has sent (or edited) at least n messages in a chat and returns
// them; the test fails after 10 seconds.
func (s *Server) WaitSent(chatID int64, n int) []Sent {
	s.t.Helper()
	if !s.WaitFor(10*time.Second, func() bool { return s.SentCount(chatID) >= n }) {
		got := s.Sent(chatID)
		var texts []string
		for _, m := range got {
			texts = append(texts, m.Text)
		}
		s.t.Fatalf("telegramtest: chat %d: want %d messages from the bot, got %d: %q", chatID, n, len(got), texts)
	}
	return s.Sent(chatID)
}

// Converse posts text from u in its private chat and returns the next n messages the bot
// sends (or edits) there; the test fails after 10 seconds.
func (s *Server) Converse(u User, text string, n int) []Sent {
	s.t.Helper()
	before := s.SentCount(u.ID)
	s.SendText(u, text)
	return s.WaitSent(u.ID, before+n)[before:]
}

// NextSent waits until the bot's message number n (0-based) in a chat exists and returns it.
// It wakes only for that chat, so thousands of simulated users can wait at once.
func (s *Server) NextSent(ctx context.Context, chatID int64, n int) (Sent, error) {
	for {
		s.mu.Lock()
		if got := s.sent[chatID]; len(got) > n {
			m := got[n]
			s.mu.Unlock()
			return m, nil
		}
		st := s.chats[chatID]
		if st == nil {
			s.mu.Unlock()
			return Sent{}, fmt.Errorf("no chat %d", chatID)
		}
		if st.waiters == nil {
			st.waiters = make(chan struct{})
		}
		ch := st.waiters
		s.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return Sent{}, ctx.Err()
		}
	}
}

// Texts is a convenience: the texts of messages.
func Texts(msgs []Sent) []string {
	out := make([]string, len(msgs))
	for i, m := range msgs {
		out[i] = m.Text
	}
	return out
}

// UTF16 returns s as UTF-16 code units (for entity offset checks in tests).
func UTF16(s string) []uint16 { return utf16.Encode([]rune(s)) }
