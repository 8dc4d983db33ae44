// Package webchat is Sportello's web chat channel: the page served at "/" by `sportello serve`
// and the small JSON + Server-Sent Events API behind it. Everything is embedded in the binary
// (no build step, no CDN).
//
// A conversation is named by a random 128-bit id kept in an HttpOnly, SameSite=Lax cookie that
// carries a MAC, so a client can neither pick nor forge the conversation it talks in; the API
// never takes a conversation id from the client.
//
// Everything shown in the chat — the user's own messages and every reply, including staff
// replies sent days later through Router.Notify — is an Entry in a capped list in the
// bot.Store ("web:out:<conversation>", with a TTL), numbered by a per-conversation sequence.
// After each write the channel publishes a wake-up on "web:<conversation>", so the event
// streams of every replica read the new entries at once. A page reload reads the list again.
//
// Reply text reaches the page as spans (bot.ParseMarkup) that app.js renders with DOM nodes
// and textContent only; the page itself is an html/template.
package webchat

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/sportello/sportello/bot"
	"github.com/sportello/sportello/bot/lang"
	"github.com/sportello/sportello/locales"
)

// Name is the channel name in bot.Address.
const Name = "web"

// Who wrote an entry.
const (
	FromUser  = "user"
	FromBot   = "bot"
	FromStaff = "staff"
)

// Entry is one message shown in the web chat, as stored and as sent to the page.
type Entry struct {
	Seq     int64          `json:"seq"`               // per-conversation sequence, from 1
	From    string         `json:"from"`              // FromUser, FromBot or FromStaff
	Spans   []bot.Span     `json:"spans"`             // the text; user text is a single literal span
	Buttons [][]bot.Button `json:"buttons,omitempty"` // choices under a reply
	Lang    string         `json:"lang,omitempty"`    // the language of a reply
	Dir     string         `json:"dir"`               // "rtl" or "ltr"
	Article string         `json:"article,omitempty"` // the knowledge article a reply answers with
	Staff   bool           `json:"staff,omitempty"`   // written by desk staff
	At      time.Time      `json:"at"`
}

// Options tune the channel; the zero value is a working configuration.
type Options struct {
	// DeskName is shown under the title (e.g. "Sportello Immigrazione · Ravenna"); empty shows
	// the app's tagline.
	DeskName string
	// Desk is the desk id a new conversation starts with ("/start <desk>"); empty: the default desk.
	Desk string
	// Languages offered in the page's language menu; default: the router's supported
	// languages that the catalog has (all catalog languages without a router).
	Languages []string
	// DefaultLang is used when neither the user nor the browser decides; default the router's
	// default language, else English.
	DefaultLang string
	// HistoryMax is how many entries a conversation keeps (default 200); HistoryTTL how long
	// they are kept after the last one (default 30 days).
	HistoryMax int
	HistoryTTL time.Duration
	// CookieMaxAge is the lifetime of the conversation cookie (default HistoryTTL).
	CookieMaxAge time.Duration
	// Secure forces the Secure cookie attribute; without it the cookie is Secure when the request
	// came over TLS or through a proxy that says X-Forwarded-Proto: https.
	Secure bool
	// Secret keys the MAC of the conversation cookie. Empty: a random key shared through the
	// store ("web:secret"), so every replica accepts every replica's cookies.
	Secret []byte
	// Heartbeat is how often an idle event stream sends a comment (default 15 s); it also
	// re-checks the store, in case a wake-up was lost. StreamMax ends a stream after this long
	// (default 30 min); the browser reconnects and resumes with Last-Event-ID.
	Heartbeat time.Duration
	StreamMax time.Duration
	// HandleTimeout bounds the handling of one posted message (default 60 s). The handling does
	// not stop when the browser goes away: the replies then appear with the next read.
	HandleTimeout time.Duration
	// DedupeTTL is how long an Idempotency-Key is remembered (default the router's DedupeTTL,
	// else 24 h).
	DedupeTTL time.Duration
	Clock     bot.Clock    // default the router's clock, else the system clock
	Log       *slog.Logger // default the router's logger, else discarded
}

// Channel is the web chat. It implements bot.Channel.
type Channel struct {
	store  bot.Store
	router *bot.Router
	cat    *locales.Catalog
	opts   Options
	clock  bot.Clock
	log    *slog.Logger
	locker bot.Locker
	langs  []string

	secretMu sync.Mutex
	secret   []byte

	closeOnce sync.Once
	done      chan struct{}
}

var _ bot.Channel = (*Channel)(nil)

// New builds the web chat and registers it with the router (registering again is harmless).
func New(store bot.Store, router *bot.Router, cat *locales.Catalog, opts Options) *Channel {
	if opts.HistoryMax <= 0 {
		opts.HistoryMax = 200
	}
	if opts.HistoryTTL <= 0 {
		opts.HistoryTTL = 30 * 24 * time.Hour
	}
	if opts.CookieMaxAge <= 0 {
		opts.CookieMaxAge = opts.HistoryTTL
	}
	if opts.Heartbeat <= 0 {
		opts.Heartbeat = 15 * time.Second
	}
	if opts.StreamMax <= 0 {
		opts.StreamMax = 30 * time.Minute
	}
	if opts.HandleTimeout <= 0 {
		opts.HandleTimeout = 60 * time.Second
	}
	if opts.DedupeTTL <= 0 && router != nil {
		opts.DedupeTTL = router.DedupeTTL
	}
	if opts.DedupeTTL <= 0 {
		opts.DedupeTTL = 24 * time.Hour
	}
	c := &Channel{
		store:  store,
		router: router,
		cat:    cat,
		opts:   opts,
		clock:  opts.Clock,
		log:    opts.Log,
		locker: bot.Locker{Store: store, TTL: 10 * time.Second},
		done:   make(chan struct{}),
	}
	if c.clock == nil && router != nil {
		c.clock = router.Clock
	}
	if c.clock == nil {
		c.clock = bot.SystemClock{}
	}
	if c.log == nil && router != nil {
		c.log = router.Log
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	c.log = c.log.With("channel", Name)
	if len(opts.Secret) > 0 {
		c.secret = slices.Clone(opts.Secret)
	}
	c.langs = c.offeredLanguages()
	if opts.DefaultLang == "" || !slices.Contains(c.langs, opts.DefaultLang) {
		c.opts.DefaultLang = c.defaultLanguage()
	}
	if router != nil {
		router.Register(c)
	}
	return c
}

func (c *Channel) offeredLanguages() []string {
	have := c.cat.Languages()
	var out []string
	switch {
	case len(c.opts.Languages) > 0:
		for _, l := range c.opts.Languages {
			if l = lang.Normalize(l); slices.Contains(have, l) && !slices.Contains(out, l) {
				out = append(out, l)
			}
		}
	case c.router != nil && c.router.Languages != nil:
		for _, l := range c.router.Languages.Supported {
			if slices.Contains(have, l) && !slices.Contains(out, l) {
				out = append(out, l)
			}
		}
	}
	if len(out) == 0 {
		out = have
	}
	slices.Sort(out)
	return out
}

func (c *Channel) defaultLanguage() string {
	if c.router != nil && c.router.Languages != nil && slices.Contains(c.langs, c.router.Languages.Default) {
		return c.router.Languages.Default
	}
	if slices.Contains(c.langs, locales.Source) {
		return locales.Source
	}
	return c.langs[0]
}

// Name implements bot.Channel.
func (c *Channel) Name() string { return Name }

// Send implements bot.Channel: it appends the replies to the conversation's list and wakes
// the conversation's event streams on every replica.
func (c *Channel) Send(ctx context.Context, to bot.Address, replies []bot.Reply) error {
	if to.Channel != Name || !validConversation(to.Conversation) {
		return &bot.SendError{Failure: bot.Permanent, Reason: "not a web chat conversation"}
	}
	now := c.clock.Now()
	entries := make([]*Entry, 0, len(replies))
	for _, rep := range replies {
		if e := c.replyEntry(rep, now); e != nil {
			entries = append(entries, e)
		}
	}
	if len(entries) == 0 {
		return nil
	}
	if err := c.appendEntries(ctx, to.Conversation, entries); err != nil {
		return &bot.SendError{Failure: bot.Retryable, Reason: "store", Err: err}
	}
	return nil
}

// replyEntry turns a reply into an entry; a reply with neither text nor buttons gives nil.
func (c *Channel) replyEntry(rep bot.Reply, now time.Time) *Entry {
	e := &Entry{From: FromBot, Spans: bot.ParseMarkup(rep.Text), Lang: rep.Lang, Article: rep.Article, Staff: rep.Staff, At: now}
	if rep.Staff {
		e.From = FromStaff
	}
	for _, row := range rep.Buttons {
		var keep []bot.Button
		for _, b := range row {
			if b.Label == "" || (b.Action == "" && b.URL == "") {
				continue
			}
			if b.URL != "" && !webURL(b.URL) {
				continue // never a javascript: or data: link on the page
			}
			keep = append(keep, b)
		}
		if len(keep) > 0 {
			e.Buttons = append(e.Buttons, keep)
		}
	}
	if len(e.Spans) == 0 && len(e.Buttons) == 0 {
		return nil
	}
	if e.Spans == nil {
		e.Spans = []bot.Span{}
	}
	e.Dir = c.dirOf(rep.Lang, rep.Text)
	return e
}

func webURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != ""
}

// maxUserRunes clips what is shown of a user's own (over-long) message.
const maxUserRunes = bot.MaxTextRunes

// userEntry is the user's own message as shown back to them: literal text, never markup.
func (c *Channel) userEntry(text string, now time.Time) *Entry {
	text = strings.ToValidUTF8(text, "\uFFFD")
	if strings.TrimSpace(text) == "" {
		return nil
	}
	if utf8.RuneCountInString(text) > maxUserRunes {
		text = string([]rune(text)[:maxUserRunes]) + "…"
	}
	return &Entry{From: FromUser, Spans: []bot.Span{{Text: text}}, Dir: textDir(text), At: now}
}

// rtlScripts are written right to left; a language missing from the catalog still gets its
// direction right.
var rtlLangs = map[string]bool{"ar": true, "ur": true, "fa": true, "he": true, "ps": true, "ckb": true, "sd": true, "ug": true, "yi": true, "dv": true}

// dirOf is the writing direction of a language (or, without one, of the text).
func (c *Channel) dirOf(code, text string) string {
	if code == "" {
		return textDir(text)
	}
	if c.cat.Has(code, "language.dir") {
		if c.cat.RTL(code) {
			return "rtl"
		}
		return "ltr"
	}
	if rtlLangs[lang.Normalize(code)] {
		return "rtl"
	}
	return "ltr"
}

// textDir is the direction of the first strongly directional letter of s.
func textDir(s string) string {
	for _, r := range s {
		switch {
		case unicode.In(r, unicode.Arabic, unicode.Hebrew, unicode.Syriac, unicode.Thaana, unicode.Nko, unicode.Samaritan, unicode.Mandaic, unicode.Adlam):
			return "rtl"
		case unicode.IsLetter(r):
			return "ltr"
		}
	}
	return "ltr"
}

// ---- the per-conversation list ----

func listKey(conv string) string { return "web:out:" + conv }
func seqKey(conv string) string  { return "web:seq:" + conv }
func topic(conv string) string   { return "web:" + conv }
func idemKey(conv, key string) string {
	return "web:idem:" + conv + ":" + key
}

// wake is what is published on a conversation's topic: no text, only "look again".
type wake struct {
	Seq   int64 `json:"seq,omitempty"`
	Reset bool  `json:"reset,omitempty"`
}

// appendEntries numbers entries and appends them under a short lock (so that a staff reply
// and the user's own message never get the same number), then wakes the streams.
func (c *Channel) appendEntries(ctx context.Context, conv string, entries []*Entry) error {
	unlock, err := c.locker.Lock(ctx, "web:out:"+conv)
	if err != nil {
		return err
	}
	last, err := c.head(ctx, conv)
	if err != nil {
		unlock()
		return err
	}
	raws := make([][]byte, len(entries))
	for i, e := range entries {
		e.Seq = last + int64(i) + 1
		if raws[i], err = json.Marshal(e); err != nil {
			unlock()
			return fmt.Errorf("encode entry: %w", err)
		}
	}
	last += int64(len(entries))
	// The number first: a crash between the two leaves a gap, never a repeated number.
	err = c.store.Put(ctx, seqKey(conv), []byte(strconv.FormatInt(last, 10)), c.opts.HistoryTTL)
	if err == nil {
		_, err = c.store.Append(ctx, listKey(conv), c.opts.HistoryMax, c.opts.HistoryTTL, raws...)
	}
	unlock()
	if err != nil {
		return fmt.Errorf("append to web chat: %w", err)
	}
	c.publish(ctx, conv, wake{Seq: last})
	return nil
}

func (c *Channel) publish(ctx context.Context, conv string, w wake) {
	raw, _ := json.Marshal(w)
	if err := c.store.Publish(context.WithoutCancel(ctx), topic(conv), raw); err != nil {
		// Streams also re-check the store on every heartbeat.
		c.log.Warn("web chat wake-up not published", "conversation", bot.Pseudonym(conv), "err", err)
	}
}

// head is the last sequence number given out in conv (0 for a new conversation).
func (c *Channel) head(ctx context.Context, conv string) (int64, error) {
	raw, err := c.store.Get(ctx, seqKey(conv))
	if err == nil {
		if n, perr := strconv.ParseInt(string(raw), 10, 64); perr == nil && n >= 0 {
			return n, nil
		}
	} else if !errors.Is(err, bot.ErrNotFound) {
		return 0, fmt.Errorf("read web chat sequence: %w", err)
	}
	// Missing or unreadable: continue after the newest entry still in the list.
	entries, err := c.entries(ctx, conv)
	if err != nil {
		return 0, err
	}
	if len(entries) == 0 {
		return 0, nil
	}
	return entries[len(entries)-1].Seq, nil
}

// entries reads the whole list of conv, oldest first.
func (c *Channel) entries(ctx context.Context, conv string) ([]Entry, error) {
	raws, err := c.store.Range(ctx, listKey(conv), 0)
	if err != nil {
		return nil, fmt.Errorf("read web chat: %w", err)
	}
	out := make([]Entry, 0, len(raws))
	for _, raw := range raws {
		var e Entry
		if json.Unmarshal(raw, &e) == nil && e.Seq > 0 {
			out = append(out, e)
		}
	}
	return out, nil
}

// Page is a read of a conversation after a cursor.
type Page struct {
	Entries []Entry `json:"entries"`
	// Last is the sequence number of the newest entry (0: none); the next cursor.
	Last int64 `json:"last"`
	// Reset says the conversation was erased or expired since the cursor: the page must drop
	// what it shows and show Entries, which then hold the whole conversation.
	Reset bool `json:"reset,omitempty"`
}

// Since returns the entries of a conversation with a sequence number after `after`.
func (c *Channel) Since(ctx context.Context, conv string, after int64) (Page, error) {
	all, err := c.entries(ctx, conv)
	if err != nil {
		return Page{}, err
	}
	p := Page{Entries: []Entry{}}
	if len(all) > 0 {
		p.Last = all[len(all)-1].Seq
	}
	if after > p.Last {
		p.Reset, after = true, 0
	}
	for _, e := range all {
		if e.Seq > after {
			p.Entries = append(p.Entries, e)
		}
	}
	return p, nil
}

// Forget erases a conversation's web chat history (its list and sequence) and tells open
// pages to clear. /forget should call it next to Router.Forget.
func (c *Channel) Forget(ctx context.Context, a bot.Address) error {
	if a.Channel != Name {
		return nil
	}
	if err := c.store.Delete(ctx, listKey(a.Conversation), seqKey(a.Conversation)); err != nil {
		return fmt.Errorf("forget web chat: %w", err)
	}
	c.publish(ctx, a.Conversation, wake{Reset: true})
	return nil
}

// Close ends every open event stream (call it when the HTTP server shuts down, e.g. with
// http.Server.RegisterOnShutdown, so that Shutdown does not wait for them).
func (c *Channel) Close() {
	c.closeOnce.Do(func() { close(c.done) })
}

// ---- conversation ids ----

const convBytes = 16

var b64 = base64.RawURLEncoding

func newConversation() string {
	var b [convBytes]byte
	if _, err := io.ReadFull(rand.Reader, b[:]); err != nil {
		panic("webchat: no randomness: " + err.Error())
	}
	return b64.EncodeToString(b[:])
}

// validConversation reports whether s looks like an id newConversation makes.
func validConversation(s string) bool {
	if len(s) != b64.EncodedLen(convBytes) {
		return false
	}
	b, err := b64.DecodeString(s)
	return err == nil && len(b) == convBytes
}
