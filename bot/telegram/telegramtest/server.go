// Package telegramtest is a fake Telegram Bot API server for tests: an httptest server that
// speaks the methods Sportello uses (getMe, getUpdates, setWebhook, deleteWebhook,
// getWebhookInfo, sendMessage, editMessageText, answerCallbackQuery, sendChatAction,
// setMyCommands, getMyCommands, deleteMyCommands, getChat) at /bot<token>/<method>, with JSON,
// urlencoded and multipart bodies, and validates them the way Telegram does: the token, HTML,
// MarkdownV2 and Markdown entity parsing, text length in UTF-16 code units, inline keyboards
// (callback_data ≤ 64 bytes, ≤ 100 buttons), unknown chats, users who blocked the bot, and
// Telegram's rate limits (429 with retry_after).
//
// Tests play the users: they post text, edits, button presses, media, locations, contacts,
// block and unblock the bot, and talk in groups. Updates reach the bot by getUpdates (long
// polling with offset confirmation) or by webhook (POST with the secret header, retried until
// answered 2xx). Everything the bot sends is recorded per chat, and faults are injected on
// demand: 429 with retry_after, 5xx, slow answers and dropped connections.
//
// A test wires the real client to it through TELEGRAM_TOKEN / TELEGRAM_API_URL:
//
//	srv := telegramtest.New(t)
//	ch, err := telegram.New(ctx, telegram.Config{Token: srv.Token(), APIURL: srv.URL()}, store, router, texts, log)
//	go ch.Run(ctx)
//	u := srv.NewUser("ar")
//	srv.Start(u, "ravenna")                     // t.me/<bot>?start=ravenna
//	replies := srv.Converse(u, "كم يكلف التجديد؟", 1)
//	srv.Press(u, u.ID, replies[0].MessageID, "…") // a button, by its label
//
// Known differences from Telegram: webhooks may use http:// URLs (httptest), updates are kept
// until confirmed without Telegram's 24-hour expiry, and webhook deliveries go one at a time.
package telegramtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"
)

// MaxTextUnits is Telegram's limit for a message text, in UTF-16 code units after entity parsing.
const MaxTextUnits = 4096

// MaxCallbackData is Telegram's limit for callback_data, in bytes.
const MaxCallbackData = 64

// MaxButtons is the most buttons an inline keyboard may have.
const MaxButtons = 100

// Limits are the rate limits the server enforces; a zero field means no limit.
type Limits struct {
	PerSecond      int     // messages per second per bot (sliding one-second window)
	ChatPerSecond  float64 // messages per second per private chat (token bucket refill)
	ChatBurst      int     // token bucket size per private chat
	GroupPerMinute int     // messages per minute per group (sliding one-minute window)
}

// TelegramLimits are Telegram's published limits: about 30 messages per second per bot, one
// message per second per chat with small bursts, 20 messages per minute per group.
var TelegramLimits = Limits{PerSecond: 30, ChatPerSecond: 1, ChatBurst: 4, GroupPerMinute: 20}

// NoLimits turns rate limiting off (load tests).
var NoLimits = Limits{}

// Sent is a message the bot sent or edited, as the user sees it.
type Sent struct {
	Method    string // sendMessage or editMessageText
	ChatID    int64
	MessageID int
	Text      string   // after entity parsing: what the user reads
	Raw       string   // the text parameter as the bot sent it
	ParseMode string   // as sent
	Entities  []Entity // offsets in UTF-16 code units of Text
	Keyboard  [][]Button
	ReplyTo   int  // the message this one replies to
	NoPreview bool // link previews disabled
	At        time.Time
}

// Links returns the text_link entities of the message as label → URL.
func (s Sent) Links() map[string]string {
	out := map[string]string{}
	for _, e := range s.Entities {
		if e.Type == "text_link" {
			out[Slice(s.Text, e.Offset, e.Length)] = e.URL
		}
	}
	return out
}

// Buttons returns the keyboard's buttons in order.
func (s Sent) Buttons() []Button {
	var out []Button
	for _, row := range s.Keyboard {
		out = append(out, row...)
	}
	return out
}

// Call is one request the server answered (or dropped).
type Call struct {
	Method      string
	ChatID      int64
	Status      int // HTTP status; 0 for a dropped connection
	Description string
	RetryAfter  int
	Fault       bool // the answer was an injected fault
	At          time.Time
}

// Delivery is one webhook POST the server made.
type Delivery struct {
	UpdateID int64
	Status   int // 0 for a transport error
	Err      string
	At       time.Time
}

// Answer is how the bot answered a callback query.
type Answer struct {
	Text      string
	ShowAlert bool
	URL       string
	At        time.Time
}

type chatState struct {
	chat     Chat
	blocked  bool // private chat: the user blocked the bot
	member   bool // group: the bot is a member
	kicked   bool
	nextMsg  int
	messages map[int]*Message
	waiters  chan struct{} // closed when the bot sends to this chat
}

type queued struct {
	id   int64
	kind string
	raw  []byte
}

type query struct {
	q        CallbackQuery
	answered bool
	answer   Answer
}

type webhookState struct {
	url      string
	secret   string
	maxConns int
	stop     chan struct{}
	lastErr  string
	lastAt   int64
}

type bucket struct {
	tokens float64
	last   time.Time
}

// Server is a fake Bot API server. Create it with New.
type Server struct {
	t     testing.TB
	http  *httptest.Server
	token string
	me    User

	mu            sync.Mutex
	changed       chan struct{} // closed and replaced on every change
	closed        chan struct{}
	closeOnce     sync.Once
	nextUpdate    int64
	queue         []queued
	history       map[int64]queued
	allowed       []string // nil: Telegram's default set
	pollGen       uint64
	hook          *webhookState
	hookDone      chan struct{}
	chats         map[int64]*chatState
	nextUser      int64
	nextGroup     int64
	sent          map[int64][]Sent
	calls         []Call
	queries       map[string]*query
	nextQuery     int
	commands      map[string][]BotCommand
	actions       map[int64][]string
	faults        []*faultEntry
	limits        Limits
	global        []time.Time
	buckets       map[int64]*bucket
	groupWindows  map[int64][]time.Time
	deliveries    []Delivery
	webhookRetry  time.Duration
	editDates     map[string]int64
	recordCalls   bool
	webhookClient *http.Client
}

// New starts a fake server with a random bot token and Telegram's rate limits; it is closed
// when the test ends.
func New(t testing.TB) *Server {
	t.Helper()
	var b [16]byte
	_, _ = rand.Read(b[:])
	botID := int64(7000000000) + int64(b[0])<<16 + int64(b[1])<<8 + int64(b[2])
	s := &Server{
		t:     t,
		token: strconv.FormatInt(botID, 10) + ":AA" + hex.EncodeToString(b[3:]),
		me: User{ID: botID, IsBot: true, FirstName: "Sportello", Username: "sportello_test_bot",
			CanJoinGroups: true},
		changed:       make(chan struct{}),
		closed:        make(chan struct{}),
		nextUpdate:    500000000 + int64(b[4])*1000,
		history:       map[int64]queued{},
		chats:         map[int64]*chatState{},
		nextUser:      100000000,
		nextGroup:     1,
		sent:          map[int64][]Sent{},
		queries:       map[string]*query{},
		commands:      map[string][]BotCommand{},
		actions:       map[int64][]string{},
		limits:        TelegramLimits,
		buckets:       map[int64]*bucket{},
		groupWindows:  map[int64][]time.Time{},
		webhookRetry:  50 * time.Millisecond,
		editDates:     map[string]int64{},
		recordCalls:   true,
		webhookClient: &http.Client{Timeout: 10 * time.Second},
	}
	s.http = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

// Close stops webhook deliveries and the HTTP server. Tests need not call it.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		close(s.closed)
		s.stopWebhookLocked()
		s.mu.Unlock()
		s.http.CloseClientConnections()
		s.http.Close()
	})
}

// URL is the server's base URL, the value for TELEGRAM_API_URL.
func (s *Server) URL() string { return s.http.URL }

// Token is the bot token the server accepts.
func (s *Server) Token() string { return s.token }

// Bot is the bot's own user, as getMe returns it.
func (s *Server) Bot() User { return s.me }

// SetLimits replaces the rate limits (NoLimits turns them off).
func (s *Server) SetLimits(l Limits) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.limits = l
	s.global, s.buckets, s.groupWindows = nil, map[int64]*bucket{}, map[int64][]time.Time{}
}

// RecordCalls turns the log of successful requests (Calls) on or off; failures are always
// logged. Load tests turn it off.
func (s *Server) RecordCalls(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.recordCalls = on
}

// ---- faults ----

type faultKind int

const (
	faultRetryAfter faultKind = iota + 1
	faultStatus
	faultSlow
	faultDrop
	faultDropAfter
)

// Fault is an injected failure for FailNext.
type Fault struct {
	kind       faultKind
	retryAfter int
	status     int
	delay      time.Duration
}

// RetryAfter answers 429 Too Many Requests with parameters.retry_after = seconds.
func RetryAfter(seconds int) Fault { return Fault{kind: faultRetryAfter, retryAfter: seconds} }

// ServerError answers with a 5xx status (e.g. 500, 502).
func ServerError(status int) Fault { return Fault{kind: faultStatus, status: status} }

// Slow answers normally after d.
func Slow(d time.Duration) Fault { return Fault{kind: faultSlow, delay: d} }

// Drop closes the connection without an answer, before the request takes effect.
func Drop() Fault { return Fault{kind: faultDrop} }

// DropAfter carries out the request, then closes the connection without an answer: the client
// cannot know that it took effect.
func DropAfter() Fault { return Fault{kind: faultDropAfter} }

type faultEntry struct {
	method string
	left   int
	fault  Fault
}

// FailNext makes the next n calls of method ("" for any method) fail with f.
func (s *Server) FailNext(method string, n int, f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &faultEntry{method: strings.ToLower(method), left: n, fault: f})
}

// ClearFaults drops the faults not yet used.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

func (s *Server) takeFault(method string) *Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, f := range s.faults {
		if f.method == "" || f.method == method {
			f.left--
			if f.left <= 0 {
				s.faults = slices.Delete(s.faults, i, i+1)
			}
			return &f.fault
		}
	}
	return nil
}

// ---- HTTP ----

type apiError struct {
	code       int
	desc       string
	retryAfter int
}

func (e *apiError) Error() string { return e.desc }

func badRequest(format string, args ...any) *apiError {
	return &apiError{code: 400, desc: "Bad Request: " + fmt.Sprintf(format, args...)}
}

type params map[string]string

func (p params) get(k string) (string, bool) {
	v, ok := p[k]
	if !ok || v == "null" {
		return "", false
	}
	return v, true
}

func (p params) str(k string) string { v, _ := p.get(k); return v }

func (p params) int(k string) (int64, bool, *apiError) {
	v, ok := p.get(k)
	if !ok || v == "" {
		return 0, false, nil
	}
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil {
		return 0, true, badRequest("invalid %s specified", k)
	}
	return n, true, nil
}

func (p params) bool(k string) bool {
	v, _ := p.get(k)
	return v == "true" || v == "1" || v == "True"
}

func (p params) json(k string, dst any) (bool, *apiError) {
	v, ok := p.get(k)
	if !ok || v == "" {
		return false, nil
	}
	if err := json.Unmarshal([]byte(v), dst); err != nil {
		return true, badRequest("can't parse %s JSON object", k)
	}
	return true, nil
}

func readParams(r *http.Request) (params, error) {
	p := params{}
	for k, v := range r.URL.Query() {
		p[k] = v[0]
	}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	body, err := io.ReadAll(io.LimitReader(r.Body, 64<<20))
	if err != nil {
		return nil, err
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return p, nil // e.g. go-telegram/bot's getMe: a multipart body without parts
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	switch ct {
	case "application/json":
		var m map[string]json.RawMessage
		dec := json.NewDecoder(r.Body)
		if err := dec.Decode(&m); err != nil && err.Error() != "EOF" {
			return nil, err
		}
		for k, raw := range m {
			var s string
			if json.Unmarshal(raw, &s) == nil {
				p[k] = s
			} else {
				p[k] = string(raw)
			}
		}
	case "multipart/form-data":
		if err := r.ParseMultipartForm(32 << 20); err != nil {
			return nil, err
		}
		for k, v := range r.MultipartForm.Value {
			p[k] = v[0]
		}
	case "application/x-www-form-urlencoded":
		if err := r.ParseForm(); err != nil {
			return nil, err
		}
		for k, v := range r.PostForm {
			p[k] = v[0]
		}
	}
	return p, nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, e *apiError) {
	body := map[string]any{"ok": false, "error_code": e.code, "description": e.desc}
	if e.retryAfter > 0 {
		body["parameters"] = map[string]any{"retry_after": e.retryAfter}
	}
	writeJSON(w, e.code, body)
}

func drop(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			_ = conn.Close()
			return
		}
	}
	panic(http.ErrAbortHandler)
}

func (s *Server) record(c Call) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.recordCalls || c.Status >= 400 || c.Fault {
		c.At = time.Now()
		s.calls = append(s.calls, c)
	}
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	rest, ok := strings.CutPrefix(r.URL.Path, "/bot")
	token, method, found := strings.Cut(rest, "/")
	if !ok || !found {
		writeError(w, &apiError{code: 404, desc: "Not Found"})
		return
	}
	if token != s.token {
		s.record(Call{Method: method, Status: 401, Description: "Unauthorized"})
		writeError(w, &apiError{code: 401, desc: "Unauthorized"})
		return
	}
	m := strings.ToLower(method)
	p, err := readParams(r)
	if err != nil {
		writeError(w, badRequest("can't parse request body"))
		return
	}
	chatID, _ := strconv.ParseInt(p.str("chat_id"), 10, 64)
	dropAfter := false
	if f := s.takeFault(m); f != nil {
		switch f.kind {
		case faultDrop:
			s.record(Call{Method: method, ChatID: chatID, Fault: true, Description: "dropped"})
			drop(w)
			return
		case faultDropAfter:
			dropAfter = true
		case faultRetryAfter:
			e := &apiError{code: 429, desc: fmt.Sprintf("Too Many Requests: retry after %d", f.retryAfter), retryAfter: f.retryAfter}
			s.record(Call{Method: method, ChatID: chatID, Status: 429, Description: e.desc, RetryAfter: f.retryAfter, Fault: true})
			writeError(w, e)
			return
		case faultStatus:
			e := &apiError{code: f.status, desc: http.StatusText(f.status)}
			s.record(Call{Method: method, ChatID: chatID, Status: f.status, Description: e.desc, Fault: true})
			writeError(w, e)
			return
		case faultSlow:
			t := time.NewTimer(f.delay)
			select {
			case <-t.C:
			case <-r.Context().Done():
				t.Stop()
				return
			case <-s.closed:
				t.Stop()
				return
			}
		}
	}
	result, desc, aerr := s.dispatch(r.Context(), m, p)
	if dropAfter {
		s.record(Call{Method: method, ChatID: chatID, Fault: true, Description: "dropped after"})
		drop(w)
		return
	}
	if aerr != nil {
		s.record(Call{Method: method, ChatID: chatID, Status: aerr.code, Description: aerr.desc, RetryAfter: aerr.retryAfter})
		writeError(w, aerr)
		return
	}
	if result == nil { // the client went away during a long poll
		return
	}
	s.record(Call{Method: method, ChatID: chatID, Status: 200})
	body := map[string]any{"ok": true, "result": result}
	if desc != "" {
		body["description"] = desc
	}
	writeJSON(w, 200, body)
}

func (s *Server) dispatch(ctx context.Context, method string, p params) (any, string, *apiError) {
	switch method {
	case "getme":
		return s.me, "", nil
	case "getupdates":
		res, err := s.getUpdates(ctx, p)
		return res, "", err
	case "setwebhook":
		return s.setWebhook(p)
	case "deletewebhook":
		return s.deleteWebhook(p)
	case "getwebhookinfo":
		return s.WebhookInfo(), "", nil
	case "sendmessage":
		res, err := s.sendMessage(p)
		return res, "", err
	case "editmessagetext":
		res, err := s.editMessageText(p)
		return res, "", err
	case "answercallbackquery":
		res, err := s.answerCallbackQuery(p)
		return res, "", err
	case "sendchataction":
		res, err := s.sendChatAction(p)
		return res, "", err
	case "setmycommands":
		res, err := s.setMyCommands(p)
		return res, "", err
	case "getmycommands":
		res, err := s.getMyCommands(p)
		return res, "", err
	case "deletemycommands":
		res, err := s.deleteMyCommands(p)
		return res, "", err
	case "getchat":
		s.mu.Lock()
		defer s.mu.Unlock()
		c, err := s.chatLocked(p)
		if err != nil {
			return nil, "", err
		}
		return c.chat, "", nil
	case "logout", "close":
		return true, "", nil
	}
	return nil, "", &apiError{code: 404, desc: "Not Found"}
}

// ---- chats ----

func (s *Server) chatLocked(p params) (*chatState, *apiError) {
	v, ok := p.get("chat_id")
	if !ok || v == "" {
		return nil, badRequest("chat_id is empty")
	}
	if strings.HasPrefix(v, "@") {
		for _, c := range s.chats {
			if c.chat.Username != "" && strings.EqualFold("@"+c.chat.Username, v) {
				return c, nil
			}
		}
		return nil, badRequest("chat not found")
	}
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return nil, badRequest("chat not found")
	}
	c := s.chats[id]
	if c == nil {
		return nil, badRequest("chat not found")
	}
	return c, nil
}

// writableLocked checks that the bot may write to the chat.
func (s *Server) writableLocked(c *chatState) *apiError {
	switch {
	case c.chat.Type == Private && c.blocked:
		return &apiError{code: 403, desc: "Forbidden: bot was blocked by the user"}
	case c.chat.Type != Private && c.kicked:
		return &apiError{code: 403, desc: "Forbidden: bot was kicked from the " + groupWord(c.chat) + " chat"}
	case c.chat.Type != Private && !c.member:
		return &apiError{code: 403, desc: "Forbidden: bot is not a member of the " + groupWord(c.chat) + " chat"}
	}
	return nil
}

func groupWord(c Chat) string {
	if c.Type == Supergroup {
		return "supergroup"
	}
	return "group"
}

// ---- rate limits ----

// admitLocked applies the rate limits to one outgoing message; it returns retry_after seconds
// (> 0) when the message is refused.
func (s *Server) admitLocked(c *chatState, now time.Time) int {
	l := s.limits
	wait := time.Duration(0)
	if l.PerSecond > 0 {
		s.global = pruneWindow(s.global, now.Add(-time.Second))
		if len(s.global) >= l.PerSecond {
			wait = max(wait, s.global[len(s.global)-l.PerSecond].Add(time.Second).Sub(now))
		}
	}
	var bk *bucket
	if c.chat.Type == Private && l.ChatPerSecond > 0 {
		bk = s.buckets[c.chat.ID]
		if bk == nil {
			bk = &bucket{tokens: float64(max(l.ChatBurst, 1)), last: now}
			s.buckets[c.chat.ID] = bk
		}
		bk.tokens = min(float64(max(l.ChatBurst, 1)), bk.tokens+now.Sub(bk.last).Seconds()*l.ChatPerSecond)
		bk.last = now
		if bk.tokens < 1 {
			wait = max(wait, time.Duration((1-bk.tokens)/l.ChatPerSecond*float64(time.Second)))
		}
	}
	if c.chat.Type != Private && l.GroupPerMinute > 0 {
		w := pruneWindow(s.groupWindows[c.chat.ID], now.Add(-time.Minute))
		s.groupWindows[c.chat.ID] = w
		if len(w) >= l.GroupPerMinute {
			wait = max(wait, w[len(w)-l.GroupPerMinute].Add(time.Minute).Sub(now))
		}
	}
	if wait > 0 {
		return int((wait + time.Second - 1) / time.Second)
	}
	if l.PerSecond > 0 {
		s.global = append(s.global, now)
	}
	if bk != nil {
		bk.tokens--
	}
	if c.chat.Type != Private && l.GroupPerMinute > 0 {
		s.groupWindows[c.chat.ID] = append(s.groupWindows[c.chat.ID], now)
	}
	return 0
}

func pruneWindow(w []time.Time, after time.Time) []time.Time {
	i := 0
	for i < len(w) && !w[i].After(after) {
		i++
	}
	return w[i:]
}

// ---- sending ----

type keyboardButton struct {
	Text         *string                `json:"text"`
	URL          *string                `json:"url"`
	CallbackData *string                `json:"callback_data"`
	CopyText     *struct{ Text string } `json:"copy_text"`
	WebApp       json.RawMessage        `json:"web_app"`
	LoginURL     json.RawMessage        `json:"login_url"`
	Switch       *string                `json:"switch_inline_query"`
	SwitchCur    *string                `json:"switch_inline_query_current_chat"`
	SwitchChosen json.RawMessage        `json:"switch_inline_query_chosen_chat"`
	Game         json.RawMessage        `json:"callback_game"`
	Pay          bool                   `json:"pay"`
}

// parseMarkup validates reply_markup; it returns the inline keyboard, if any.
func parseMarkup(p params) ([][]Button, *apiError) {
	raw, ok := p.get("reply_markup")
	if !ok || raw == "" {
		return nil, nil
	}
	var m struct {
		InlineKeyboard *[][]keyboardButton `json:"inline_keyboard"`
		Keyboard       json.RawMessage     `json:"keyboard"`
		RemoveKeyboard bool                `json:"remove_keyboard"`
		ForceReply     bool                `json:"force_reply"`
	}
	if err := json.Unmarshal([]byte(raw), &m); err != nil {
		return nil, badRequest("can't parse reply keyboard markup JSON object")
	}
	if m.InlineKeyboard == nil {
		if m.Keyboard == nil && !m.RemoveKeyboard && !m.ForceReply {
			return nil, badRequest("can't parse reply keyboard markup JSON object")
		}
		return nil, nil
	}
	var out [][]Button
	total := 0
	for _, row := range *m.InlineKeyboard {
		var r []Button
		for _, b := range row {
			total++
			if b.Text == nil {
				return nil, badRequest("can't parse inline keyboard button: Text must be a String")
			}
			if strings.TrimSpace(*b.Text) == "" {
				return nil, badRequest("BUTTON_TEXT_INVALID")
			}
			kinds := 0
			btn := Button{Text: *b.Text}
			if b.URL != nil {
				kinds++
				if !validURL(*b.URL) {
					return nil, badRequest("BUTTON_URL_INVALID")
				}
				btn.URL = *b.URL
			}
			if b.CallbackData != nil {
				kinds++
				if len(*b.CallbackData) == 0 || len(*b.CallbackData) > MaxCallbackData || !utf8.ValidString(*b.CallbackData) {
					return nil, badRequest("BUTTON_DATA_INVALID")
				}
				btn.CallbackData = *b.CallbackData
			}
			// go-telegram/bot's models.InlineKeyboardButton always carries "copy_text":{"text":""};
			// Telegram takes an empty one as absent and refuses one over 256 characters.
			if b.CopyText != nil && b.CopyText.Text != "" {
				if utf8.RuneCountInString(b.CopyText.Text) > 256 {
					return nil, badRequest("BUTTON_COPY_TEXT_INVALID")
				}
				kinds++
			}
			for _, other := range []bool{b.WebApp != nil, b.LoginURL != nil, b.Switch != nil, b.SwitchCur != nil, b.SwitchChosen != nil, b.Game != nil, b.Pay} {
				if other {
					kinds++
				}
			}
			if kinds == 0 {
				return nil, badRequest("can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard")
			}
			r = append(r, btn)
		}
		out = append(out, r)
	}
	if total > MaxButtons {
		return nil, badRequest("REPLY_MARKUP_TOO_LONG")
	}
	return out, nil
}

// parseMessageText validates text and parse_mode and returns what the user will read.
func parseMessageText(p params) (string, []Entity, *apiError) {
	text := p.str("text")
	if !utf8.ValidString(text) {
		return "", nil, badRequest("strings must be encoded in UTF-8")
	}
	mode := p.str("parse_mode")
	plain, ents, err := parseText(text, mode)
	if err != nil {
		if _, ok := err.(*parseError); ok {
			return "", nil, badRequest("%s", err.Error())
		}
		return "", nil, badRequest("unsupported parse_mode")
	}
	if mode == "" {
		var given []Entity
		if _, aerr := p.json("entities", &given); aerr != nil {
			return "", nil, aerr
		}
		ents = given
	}
	if plain == "" {
		return "", nil, badRequest("message text is empty")
	}
	if UTF16Len(plain) > MaxTextUnits {
		return "", nil, badRequest("message is too long")
	}
	return plain, ents, nil
}

func noPreview(p params) bool {
	var lp struct {
		IsDisabled bool `json:"is_disabled"`
	}
	_, _ = p.json("link_preview_options", &lp)
	return lp.IsDisabled || p.bool("disable_web_page_preview")
}

func (s *Server) sendMessage(p params) (any, *apiError) {
	plain, ents, aerr := parseMessageText(p)
	if aerr != nil {
		return nil, aerr
	}
	kb, aerr := parseMarkup(p)
	if aerr != nil {
		return nil, aerr
	}
	var rp struct {
		MessageID int  `json:"message_id"`
		Allow     bool `json:"allow_sending_without_reply"`
	}
	if _, aerr := p.json("reply_parameters", &rp); aerr != nil {
		return nil, aerr
	}
	if id, ok, aerr := p.int("reply_to_message_id"); aerr != nil {
		return nil, aerr
	} else if ok {
		rp.MessageID, rp.Allow = int(id), p.bool("allow_sending_without_reply")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, aerr := s.chatLocked(p)
	if aerr != nil {
		return nil, aerr
	}
	if aerr := s.writableLocked(c); aerr != nil {
		return nil, aerr
	}
	var replyTo *Message
	if rp.MessageID != 0 {
		replyTo = c.messages[rp.MessageID]
		if replyTo == nil && !rp.Allow {
			return nil, badRequest("message to be replied not found")
		}
	}
	now := time.Now()
	if ra := s.admitLocked(c, now); ra > 0 {
		return nil, &apiError{code: 429, desc: fmt.Sprintf("Too Many Requests: retry after %d", ra), retryAfter: ra}
	}
	c.nextMsg++
	me := s.me
	msg := &Message{
		MessageID: c.nextMsg, From: &User{ID: me.ID, IsBot: true, FirstName: me.FirstName, Username: me.Username},
		Date: now.Unix(), Chat: c.chat, Text: plain, Entities: ents,
	}
	if kb != nil {
		msg.ReplyMarkup = &Keyboard{InlineKeyboard: kb}
	}
	if replyTo != nil {
		short := *replyTo
		short.ReplyToMessage = nil
		msg.ReplyToMessage = &short
	}
	c.messages[msg.MessageID] = msg
	sent := Sent{Method: "sendMessage", ChatID: c.chat.ID, MessageID: msg.MessageID, Text: plain, Raw: p.str("text"),
		ParseMode: p.str("parse_mode"), Entities: ents, Keyboard: kb, NoPreview: noPreview(p), At: now}
	if replyTo != nil {
		sent.ReplyTo = replyTo.MessageID
	}
	s.addSentLocked(c, sent)
	return msg, nil
}

func (s *Server) addSentLocked(c *chatState, sent Sent) {
	s.sent[c.chat.ID] = append(s.sent[c.chat.ID], sent)
	if c.waiters != nil {
		close(c.waiters)
		c.waiters = nil
	}
	s.notifyLocked()
}

func (s *Server) editMessageText(p params) (any, *apiError) {
	if p.str("inline_message_id") != "" {
		return nil, badRequest("message to edit not found")
	}
	plain, ents, aerr := parseMessageText(p)
	if aerr != nil {
		return nil, aerr
	}
	kb, aerr := parseMarkup(p)
	if aerr != nil {
		return nil, aerr
	}
	id, _, aerr := p.int("message_id")
	if aerr != nil {
		return nil, aerr
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, aerr := s.chatLocked(p)
	if aerr != nil {
		return nil, aerr
	}
	if aerr := s.writableLocked(c); aerr != nil {
		return nil, aerr
	}
	msg := c.messages[int(id)]
	if msg == nil {
		return nil, badRequest("message to edit not found")
	}
	if msg.From == nil || msg.From.ID != s.me.ID {
		return nil, badRequest("message can't be edited")
	}
	var oldKB [][]Button
	if msg.ReplyMarkup != nil {
		oldKB = msg.ReplyMarkup.InlineKeyboard
	}
	if msg.Text == plain && sameJSON(msg.Entities, ents) && sameJSON(oldKB, kb) {
		return nil, badRequest("message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message")
	}
	now := time.Now()
	if ra := s.admitLocked(c, now); ra > 0 {
		return nil, &apiError{code: 429, desc: fmt.Sprintf("Too Many Requests: retry after %d", ra), retryAfter: ra}
	}
	msg.Text, msg.Entities, msg.EditDate = plain, ents, now.Unix()
	msg.ReplyMarkup = nil
	if kb != nil {
		msg.ReplyMarkup = &Keyboard{InlineKeyboard: kb}
	}
	s.addSentLocked(c, Sent{Method: "editMessageText", ChatID: c.chat.ID, MessageID: msg.MessageID, Text: plain, Raw: p.str("text"),
		ParseMode: p.str("parse_mode"), Entities: ents, Keyboard: kb, NoPreview: noPreview(p), At: now})
	return msg, nil
}

func sameJSON(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	if string(x) == "null" {
		x = []byte("[]")
	}
	if string(y) == "null" {
		y = []byte("[]")
	}
	return bytes.Equal(x, y)
}

func (s *Server) answerCallbackQuery(p params) (any, *apiError) {
	id := p.str("callback_query_id")
	text := p.str("text")
	if utf8.RuneCountInString(text) > 200 {
		return nil, badRequest("MESSAGE_TOO_LONG")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	q := s.queries[id]
	if q == nil || q.answered {
		return nil, badRequest("query is too old and response timeout expired or query ID is invalid")
	}
	q.answered = true
	q.answer = Answer{Text: text, ShowAlert: p.bool("show_alert"), URL: p.str("url"), At: time.Now()}
	s.notifyLocked()
	return true, nil
}

var chatActions = []string{"typing", "upload_photo", "record_video", "upload_video", "record_voice", "upload_voice",
	"upload_document", "choose_sticker", "find_location", "record_video_note", "upload_video_note"}

func (s *Server) sendChatAction(p params) (any, *apiError) {
	action := p.str("action")
	if !slices.Contains(chatActions, action) {
		return nil, badRequest("wrong parameter action in request")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, aerr := s.chatLocked(p)
	if aerr != nil {
		return nil, aerr
	}
	if aerr := s.writableLocked(c); aerr != nil {
		return nil, aerr
	}
	s.actions[c.chat.ID] = append(s.actions[c.chat.ID], action)
	s.notifyLocked()
	return true, nil
}

var commandName = regexp.MustCompile(`^[a-z0-9_]{1,32}$`)
var languageCode = regexp.MustCompile(`^[a-z]{2}$`)

func commandsKey(p params) (string, *apiError) {
	var scope struct {
		Type   string `json:"type"`
		ChatID any    `json:"chat_id"`
	}
	if _, aerr := p.json("scope", &scope); aerr != nil {
		return "", aerr
	}
	if scope.Type == "" {
		scope.Type = "default"
	}
	switch scope.Type {
	case "default", "all_private_chats", "all_group_chats", "all_chat_administrators", "chat", "chat_administrators", "chat_member":
	default:
		return "", badRequest("unsupported bot command scope type")
	}
	lang := p.str("language_code")
	if lang != "" && !languageCode.MatchString(lang) {
		return "", badRequest("invalid language code specified")
	}
	if scope.ChatID != nil {
		scope.Type += fmt.Sprint(":", scope.ChatID)
	}
	return scope.Type + "|" + lang, nil
}

func (s *Server) setMyCommands(p params) (any, *apiError) {
	var cmds []BotCommand
	if ok, aerr := p.json("commands", &cmds); aerr != nil {
		return nil, aerr
	} else if !ok {
		return nil, badRequest("parameter \"commands\" is required")
	}
	if len(cmds) > 100 {
		return nil, badRequest("BOT_COMMANDS_TOO_MUCH")
	}
	for _, c := range cmds {
		if !commandName.MatchString(c.Command) {
			return nil, badRequest("BOT_COMMAND_INVALID")
		}
		if n := utf8.RuneCountInString(strings.TrimSpace(c.Description)); n == 0 || n > 256 {
			return nil, badRequest("BOT_COMMAND_DESCRIPTION_INVALID")
		}
	}
	key, aerr := commandsKey(p)
	if aerr != nil {
		return nil, aerr
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.commands[key] = cmds
	return true, nil
}

func (s *Server) getMyCommands(p params) (any, *apiError) {
	key, aerr := commandsKey(p)
	if aerr != nil {
		return nil, aerr
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.commands[key]; c != nil {
		return c, nil
	}
	return []BotCommand{}, nil
}

func (s *Server) deleteMyCommands(p params) (any, *apiError) {
	key, aerr := commandsKey(p)
	if aerr != nil {
		return nil, aerr
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.commands, key)
	return true, nil
}

// ---- updates ----

var defaultAllowed = []string{"message", "edited_message", "channel_post", "edited_channel_post", "business_connection",
	"business_message", "edited_business_message", "deleted_business_messages", "inline_query", "chosen_inline_result",
	"callback_query", "shipping_query", "pre_checkout_query", "purchased_paid_media", "poll", "poll_answer",
	"my_chat_member", "chat_join_request", "chat_boost", "removed_chat_boost"}

func (s *Server) notifyLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

func (s *Server) allowedLocked(kind string) bool {
	if s.allowed == nil {
		return slices.Contains(defaultAllowed, kind)
	}
	return slices.Contains(s.allowed, kind)
}

// pushLocked queues an update; it returns the update_id (0 when allowed_updates filters it out).
func (s *Server) pushLocked(kind string, raw []byte) int64 {
	if !s.allowedLocked(kind) {
		return 0
	}
	s.nextUpdate++
	id := s.nextUpdate
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		s.t.Errorf("telegramtest: update is not a JSON object: %v", err)
		return 0
	}
	m["update_id"] = json.RawMessage(strconv.FormatInt(id, 10))
	full, _ := json.Marshal(m)
	q := queued{id: id, kind: kind, raw: full}
	s.queue = append(s.queue, q)
	s.history[id] = q
	s.notifyLocked()
	return id
}

func (s *Server) getUpdates(ctx context.Context, p params) (any, *apiError) {
	offset, _, aerr := p.int("offset")
	if aerr != nil {
		return nil, aerr
	}
	limit, ok, aerr := p.int("limit")
	if aerr != nil {
		return nil, aerr
	}
	if !ok || limit < 1 || limit > 100 {
		limit = 100
	}
	timeout, _, aerr := p.int("timeout")
	if aerr != nil {
		return nil, aerr
	}
	var allowed []string
	hasAllowed, aerr := p.json("allowed_updates", &allowed)
	if aerr != nil {
		return nil, aerr
	}
	s.mu.Lock()
	if s.hook != nil {
		s.mu.Unlock()
		return nil, &apiError{code: 409, desc: "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first"}
	}
	if hasAllowed {
		if len(allowed) == 0 {
			s.allowed = nil
		} else {
			s.allowed = allowed
		}
	}
	s.pollGen++
	gen := s.pollGen
	s.notifyLocked() // a waiting older request ends with 409
	switch {
	case offset > 0:
		i := 0
		for i < len(s.queue) && s.queue[i].id < offset {
			i++
		}
		s.queue = s.queue[i:]
	case offset < 0:
		if n := int(-offset); n < len(s.queue) {
			s.queue = s.queue[len(s.queue)-n:]
		}
	}
	deadline := time.Now().Add(time.Duration(timeout) * time.Second)
	for {
		if s.pollGen != gen {
			s.mu.Unlock()
			return nil, &apiError{code: 409, desc: "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"}
		}
		if len(s.queue) > 0 || !time.Now().Before(deadline) {
			n := min(int(limit), len(s.queue))
			var b bytes.Buffer
			b.WriteByte('[')
			for i, q := range s.queue[:n] {
				if i > 0 {
					b.WriteByte(',')
				}
				b.Write(q.raw)
			}
			b.WriteByte(']')
			s.mu.Unlock()
			return json.RawMessage(b.Bytes()), nil
		}
		ch := s.changed
		s.mu.Unlock()
		t := time.NewTimer(time.Until(deadline))
		select {
		case <-ch:
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil, nil
		case <-s.closed:
			t.Stop()
			return nil, nil
		}
		t.Stop()
		s.mu.Lock()
	}
}

// Pending is the number of updates not yet confirmed by the bot.
func (s *Server) Pending() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.queue)
}

// ---- webhooks ----

var secretToken = regexp.MustCompile(`^[A-Za-z0-9_-]{1,256}$`)

func (s *Server) setWebhook(p params) (any, string, *apiError) {
	raw := p.str("url")
	if raw == "" {
		return s.deleteWebhook(p)
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, "", badRequest("bad webhook: An HTTPS URL must be provided for webhook")
	}
	secret := p.str("secret_token")
	if secret != "" && !secretToken.MatchString(secret) {
		return nil, "", badRequest("bad webhook: secret token contains unallowed characters")
	}
	maxConns, ok, aerr := p.int("max_connections")
	if aerr != nil {
		return nil, "", aerr
	}
	if !ok {
		maxConns = 40
	}
	var allowed []string
	hasAllowed, aerr := p.json("allowed_updates", &allowed)
	if aerr != nil {
		return nil, "", aerr
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if hasAllowed {
		s.allowed = allowed
		if len(allowed) == 0 {
			s.allowed = nil
		}
	}
	if p.bool("drop_pending_updates") {
		s.queue = nil
	}
	if s.hook != nil && s.hook.url == raw && s.hook.secret == secret {
		s.hook.maxConns = int(maxConns)
		return true, "Webhook is already set", nil
	}
	s.stopWebhookLocked()
	h := &webhookState{url: raw, secret: secret, maxConns: int(maxConns), stop: make(chan struct{})}
	s.hook = h
	s.pollGen++ // a pending getUpdates ends
	s.notifyLocked()
	done := make(chan struct{})
	s.hookDone = done
	go s.deliver(h, done)
	return true, "Webhook was set", nil
}

func (s *Server) deleteWebhook(p params) (any, string, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p.bool("drop_pending_updates") {
		s.queue = nil
	}
	if s.hook == nil {
		return true, "Webhook is already deleted", nil
	}
	s.stopWebhookLocked()
	return true, "Webhook was deleted", nil
}

func (s *Server) stopWebhookLocked() {
	if s.hook != nil {
		close(s.hook.stop)
		s.hook = nil
	}
}

// WebhookInfo is what getWebhookInfo answers.
func (s *Server) WebhookInfo() WebhookInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	info := WebhookInfo{PendingUpdateCount: len(s.queue), AllowedUpdates: s.allowed}
	if h := s.hook; h != nil {
		info.URL, info.MaxConnections = h.url, h.maxConns
		info.LastErrorDate, info.LastErrorMessage = h.lastAt, h.lastErr
	}
	return info
}

// Deliveries lists the webhook POSTs made so far.
func (s *Server) Deliveries() []Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.deliveries)
}

// deliver posts queued updates to the webhook one at a time, in order, retrying each until it
// is answered 2xx, like Telegram.
func (s *Server) deliver(h *webhookState, done chan struct{}) {
	defer close(done)
	backoff := s.webhookRetry
	for {
		s.mu.Lock()
		for len(s.queue) == 0 {
			ch := s.changed
			s.mu.Unlock()
			select {
			case <-ch:
			case <-h.stop:
				return
			}
			s.mu.Lock()
		}
		q := s.queue[0]
		s.mu.Unlock()

		req, err := http.NewRequest(http.MethodPost, h.url, bytes.NewReader(q.raw))
		if err != nil {
			return
		}
		req.Header.Set("Content-Type", "application/json")
		if h.secret != "" {
			req.Header.Set("X-Telegram-Bot-Api-Secret-Token", h.secret)
		}
		ctx, cancel := context.WithCancel(context.Background())
		go func() {
			select {
			case <-h.stop:
				cancel()
			case <-ctx.Done():
			}
		}()
		resp, err := s.webhookClient.Do(req.WithContext(ctx))
		d := Delivery{UpdateID: q.id, At: time.Now()}
		if err != nil {
			d.Err = err.Error()
		} else {
			d.Status = resp.StatusCode
			_ = resp.Body.Close()
		}
		cancel()
		ok := err == nil && resp.StatusCode >= 200 && resp.StatusCode < 300
		s.mu.Lock()
		select {
		case <-h.stop:
			s.mu.Unlock()
			return
		default:
		}
		s.deliveries = append(s.deliveries, d)
		if ok {
			if len(s.queue) > 0 && s.queue[0].id == q.id {
				s.queue = s.queue[1:]
			}
			backoff = s.webhookRetry
		} else {
			h.lastAt = time.Now().Unix()
			if err != nil {
				h.lastErr = "Connection refused"
			} else {
				h.lastErr = fmt.Sprintf("Wrong response from the webhook: %d %s", resp.StatusCode, http.StatusText(resp.StatusCode))
			}
		}
		s.notifyLocked()
		s.mu.Unlock()
		if !ok {
			t := time.NewTimer(backoff)
			select {
			case <-t.C:
			case <-h.stop:
				t.Stop()
				return
			}
			backoff = min(2*backoff, 2*time.Second)
		}
	}
}
