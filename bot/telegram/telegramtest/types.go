package telegramtest

// The JSON objects of the Bot API as Telegram writes them (https://core.telegram.org/bots/api).
// They are the fake's own definitions, independent of any client library, so that a client's
// decoding is tested against Telegram's wire format rather than against itself.

// User is a Telegram user or bot.
type User struct {
	ID           int64  `json:"id"`
	IsBot        bool   `json:"is_bot"`
	FirstName    string `json:"first_name"`
	LastName     string `json:"last_name,omitempty"`
	Username     string `json:"username,omitempty"`
	LanguageCode string `json:"language_code,omitempty"`

	// Returned by getMe only.
	CanJoinGroups           bool `json:"can_join_groups,omitempty"`
	CanReadAllGroupMessages bool `json:"can_read_all_group_messages,omitempty"`
	SupportsInlineQueries   bool `json:"supports_inline_queries,omitempty"`
}

// Chat types.
const (
	Private    = "private"
	Group      = "group"
	Supergroup = "supergroup"
)

// Chat is a private chat (ID = the user's ID), a group (negative ID) or a supergroup (-100…).
type Chat struct {
	ID        int64  `json:"id"`
	Type      string `json:"type"`
	Title     string `json:"title,omitempty"`
	Username  string `json:"username,omitempty"`
	FirstName string `json:"first_name,omitempty"`
	LastName  string `json:"last_name,omitempty"`
}

// Entity is a MessageEntity; Offset and Length count UTF-16 code units.
type Entity struct {
	Type     string `json:"type"`
	Offset   int    `json:"offset"`
	Length   int    `json:"length"`
	URL      string `json:"url,omitempty"`
	User     *User  `json:"user,omitempty"`
	Language string `json:"language,omitempty"`
	EmojiID  string `json:"custom_emoji_id,omitempty"`
}

// Button is one InlineKeyboardButton.
type Button struct {
	Text         string `json:"text"`
	URL          string `json:"url,omitempty"`
	CallbackData string `json:"callback_data,omitempty"`
}

// Keyboard is an InlineKeyboardMarkup.
type Keyboard struct {
	InlineKeyboard [][]Button `json:"inline_keyboard"`
}

// Message is a Message object. Media payloads are kept as generic JSON objects.
type Message struct {
	MessageID       int            `json:"message_id"`
	From            *User          `json:"from,omitempty"`
	Date            int64          `json:"date"`
	Chat            Chat           `json:"chat"`
	EditDate        int64          `json:"edit_date,omitempty"`
	ReplyToMessage  *Message       `json:"reply_to_message,omitempty"`
	Text            string         `json:"text,omitempty"`
	Entities        []Entity       `json:"entities,omitempty"`
	Caption         string         `json:"caption,omitempty"`
	CaptionEntities []Entity       `json:"caption_entities,omitempty"`
	Photo           []object       `json:"photo,omitempty"`
	Animation       object         `json:"animation,omitempty"`
	Document        object         `json:"document,omitempty"`
	Audio           object         `json:"audio,omitempty"`
	Voice           object         `json:"voice,omitempty"`
	Video           object         `json:"video,omitempty"`
	VideoNote       object         `json:"video_note,omitempty"`
	Sticker         object         `json:"sticker,omitempty"`
	Location        object         `json:"location,omitempty"`
	Venue           object         `json:"venue,omitempty"`
	Contact         object         `json:"contact,omitempty"`
	Poll            object         `json:"poll,omitempty"`
	Dice            object         `json:"dice,omitempty"`
	NewChatMembers  []User         `json:"new_chat_members,omitempty"`
	LeftChatMember  *User          `json:"left_chat_member,omitempty"`
	ReplyMarkup     *Keyboard      `json:"reply_markup,omitempty"`
	LinkPreview     map[string]any `json:"link_preview_options,omitempty"`

	// UpdateID is the update that carried a user's message to the bot (not part of the JSON).
	UpdateID int64 `json:"-"`
}

type object = map[string]any

// CallbackQuery is a press of an inline button.
type CallbackQuery struct {
	ID           string   `json:"id"`
	From         User     `json:"from"`
	Message      *Message `json:"message,omitempty"`
	ChatInstance string   `json:"chat_instance"`
	Data         string   `json:"data,omitempty"`
}

// ChatMember is the bot's membership in a chat, as my_chat_member reports it.
type ChatMember struct {
	Status    string `json:"status"` // creator, administrator, member, restricted, left, kicked
	User      User   `json:"user"`
	UntilDate int64  `json:"until_date,omitempty"`
}

// ChatMemberUpdated is the payload of my_chat_member.
type ChatMemberUpdated struct {
	Chat          Chat       `json:"chat"`
	From          User       `json:"from"`
	Date          int64      `json:"date"`
	OldChatMember ChatMember `json:"old_chat_member"`
	NewChatMember ChatMember `json:"new_chat_member"`
}

// Update is one update. Exactly one of the optional fields is set.
type Update struct {
	UpdateID      int64              `json:"update_id"`
	Message       *Message           `json:"message,omitempty"`
	EditedMessage *Message           `json:"edited_message,omitempty"`
	CallbackQuery *CallbackQuery     `json:"callback_query,omitempty"`
	MyChatMember  *ChatMemberUpdated `json:"my_chat_member,omitempty"`
}

// BotCommand is one entry of setMyCommands.
type BotCommand struct {
	Command     string `json:"command"`
	Description string `json:"description"`
}

// WebhookInfo is what getWebhookInfo answers.
type WebhookInfo struct {
	URL                  string   `json:"url"`
	HasCustomCertificate bool     `json:"has_custom_certificate"`
	PendingUpdateCount   int      `json:"pending_update_count"`
	LastErrorDate        int64    `json:"last_error_date,omitempty"`
	LastErrorMessage     string   `json:"last_error_message,omitempty"`
	MaxConnections       int      `json:"max_connections,omitempty"`
	AllowedUpdates       []string `json:"allowed_updates,omitempty"`
}
