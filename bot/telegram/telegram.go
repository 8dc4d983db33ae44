// Package telegram is Sportello's Telegram channel, built on github.com/go-telegram/bot as the
// Bot API client. The adapter owns everything between Telegram and the router:
//
//   - Intake. Updates arrive by long polling (getUpdates, the default) or by webhook. An update
//     is confirmed to Telegram — the offset advanced, the webhook answered 2xx — only after it
//     is recorded in the Store (an index ordered by update_id), so a crash never loses one.
//   - Consumption. A consumer hands recorded updates to the router in update order, one worker
//     per chat (chats in parallel, each chat strictly in order, across replicas through a chat
//     lease), and remembers every handled update_id for DedupeTTL (≥ Telegram's 24 h of
//     redelivery). An update whose handling fails repeatedly or panics is answered, recorded in
//     a poison log and skipped.
//   - Sending. Replies are rendered to Telegram HTML (escaped, split at 4096 UTF-16 code units
//     between words, never inside a link or a tag), with inline keyboards for buttons; menus
//     edit the message whose button was pressed. An outbox keeps Telegram's rate limits, keeps
//     per-chat order, honours 429 retry_after, and classifies failures for the router's retries
//     (bot.SendError). Staff replies are persisted until sent and resent after a restart.
//   - Users who block the bot (my_chat_member "kicked", or 403 on a send) are not written to
//     again until they unblock it.
//
// Nothing outside this package imports go-telegram/bot: the library sits behind the client
// interface in api.go.
package telegram

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	tgbot "github.com/go-telegram/bot"
	"github.com/go-telegram/bot/models"

	"github.com/sportello/sportello/bot"
)

// Name is the channel name in bot.Address.
const Name = "telegram"

// DefaultAPIURL is the public Bot API server.
const DefaultAPIURL = "https://api.telegram.org"

// Mode is how updates reach Sportello.
type Mode string

const (
	// ModePolling calls getUpdates in a loop: one process polls (the default).
	ModePolling Mode = "polling"
	// ModeWebhook lets Telegram POST updates to WebhookHandler: for several replicas.
	ModeWebhook Mode = "webhook"
)

// Config configures the channel.
type Config struct {
	Token  string // the bot token from @BotFather (TELEGRAM_TOKEN)
	APIURL string // the Bot API server (TELEGRAM_API_URL); default DefaultAPIURL
	// Mode defaults to ModeWebhook when WebhookURL is set and to ModePolling otherwise.
	Mode          Mode
	WebhookURL    string // the public URL of WebhookHandler (webhook mode)
	WebhookSecret string // X-Telegram-Bot-Api-Secret-Token; derived from the token if empty
	BotUsername   string // filled in by New from getMe

	PollTimeout  time.Duration // long-poll timeout of getUpdates; default 50 s
	DedupeTTL    time.Duration // how long a handled update_id is remembered; default 25 h
	Limits       Limits        // the outbox's sending rates; zero value: DefaultLimits
	TypingDelay  time.Duration // "typing…" once a reply takes longer than this; default 1 s
	DrainTimeout time.Duration // how long Run waits for handling in flight at shutdown; default 10 s
	HTTPClient   *http.Client  // optional; default a client with sensible timeouts
}

// Texts is what the channel needs of the locale catalog (*locales.Catalog).
type Texts interface {
	T(lang, id string, data map[string]any) string
	Languages() []string
}

// Channel is the Telegram channel. It implements bot.Channel and bot.Typer.
type Channel struct {
	cfg      Config
	api      client
	apiURL   string
	poller   *http.Client
	me       models.User
	store    bot.Store
	router   *bot.Router
	texts    Texts
	log      *slog.Logger
	prefix   string // store key prefix: "tg:<bot id>:"
	secret   string
	instance string

	out *outbox

	running atomic.Bool

	mu        sync.Mutex
	workers   map[string]*worker
	inflight  map[string]bool
	turns     map[int64]*turn
	lastScore float64
	hard      context.Context // handling context while Run runs
	stopping  chan struct{}
	workersWG sync.WaitGroup

	// test hooks
	holdConsume  atomic.Bool                         // record updates but do not handle them
	beforeHandle func(u *models.Update) error        // called before an update is handled
	scanEvery    time.Duration                       // full rescan of the intake; default 1 s
	lingerIdle   time.Duration                       // an idle chat worker keeps its lease this long
	leaseTTL     time.Duration                       // chat lease; refreshed while the worker lives
	retryBackoff func(attempt int) time.Duration     // between attempts at a failing update
	onPoison     func(updateID int64, reason string) // observes poison updates
}

// New checks the token with getMe, prepares the channel and registers it with the router.
// It does not start polling: call Run.
func New(ctx context.Context, cfg Config, store bot.Store, router *bot.Router, texts Texts, log *slog.Logger) (*Channel, error) {
	if strings.TrimSpace(cfg.Token) == "" {
		return nil, errors.New("telegram: no bot token (set TELEGRAM_TOKEN)")
	}
	if store == nil || router == nil || texts == nil {
		return nil, errors.New("telegram: store, router and texts are required")
	}
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	cfg.APIURL = strings.TrimRight(strings.TrimSpace(cfg.APIURL), "/")
	if cfg.APIURL == "" {
		cfg.APIURL = DefaultAPIURL
	}
	switch cfg.Mode {
	case "":
		cfg.Mode = ModePolling
		if cfg.WebhookURL != "" {
			cfg.Mode = ModeWebhook
		}
	case ModePolling, ModeWebhook:
	default:
		return nil, fmt.Errorf("telegram: unknown mode %q (polling or webhook)", cfg.Mode)
	}
	if cfg.Mode == ModeWebhook && cfg.WebhookURL == "" {
		return nil, errors.New("telegram: webhook mode needs a webhook URL (TELEGRAM_WEBHOOK_URL)")
	}
	if cfg.PollTimeout <= 0 {
		cfg.PollTimeout = 50 * time.Second
	}
	if cfg.DedupeTTL <= 0 {
		cfg.DedupeTTL = 25 * time.Hour
	}
	if cfg.Limits == (Limits{}) {
		cfg.Limits = DefaultLimits
	}
	if cfg.TypingDelay <= 0 {
		cfg.TypingDelay = time.Second
	}
	if cfg.DrainTimeout <= 0 {
		cfg.DrainTimeout = 10 * time.Second
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Transport: newTransport(), Timeout: 60 * time.Second}
	}
	lib, err := tgbot.New(cfg.Token,
		tgbot.WithServerURL(cfg.APIURL),
		tgbot.WithHTTPClient(cfg.PollTimeout, hc),
		tgbot.WithSkipGetMe(), // checked below, with a clear message
		tgbot.WithErrorsHandler(func(err error) { log.Debug("telegram client", "err", redact(err.Error(), cfg.Token)) }),
		tgbot.WithDefaultHandler(func(context.Context, *tgbot.Bot, *models.Update) {}),
	)
	if err != nil {
		return nil, fmt.Errorf("telegram: %w", err)
	}
	var inst [8]byte
	_, _ = rand.Read(inst[:])
	c := &Channel{
		cfg:          cfg,
		api:          libClient{lib},
		apiURL:       cfg.APIURL,
		poller:       &http.Client{Transport: hc.Transport},
		store:        store,
		router:       router,
		texts:        texts,
		log:          log.With("channel", Name),
		instance:     hex.EncodeToString(inst[:]),
		workers:      map[string]*worker{},
		inflight:     map[string]bool{},
		turns:        map[int64]*turn{},
		stopping:     make(chan struct{}),
		scanEvery:    time.Second,
		lingerIdle:   5 * time.Second,
		leaseTTL:     30 * time.Second,
		retryBackoff: func(attempt int) time.Duration { return time.Duration(attempt*attempt) * 250 * time.Millisecond },
	}
	c.out = newOutbox(c)

	checkCtx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	res, err := c.api.Do(checkCtx, getMe{})
	if err != nil {
		msg := redact(err.Error(), cfg.Token)
		if errors.Is(err, tgbot.ErrorUnauthorized) || errors.Is(err, tgbot.ErrorNotFound) {
			return nil, fmt.Errorf("telegram: the Bot API at %s rejected the bot token (%s): check TELEGRAM_TOKEN", cfg.APIURL, msg)
		}
		return nil, fmt.Errorf("telegram: cannot check the bot token with getMe at %s: %s", cfg.APIURL, msg)
	}
	me, _ := res.(*models.User)
	if me == nil || me.ID == 0 {
		return nil, fmt.Errorf("telegram: getMe at %s returned no bot", cfg.APIURL)
	}
	c.me = *me
	c.cfg.BotUsername = me.Username
	c.prefix = "tg:" + strconv.FormatInt(me.ID, 10) + ":"
	c.secret = cfg.WebhookSecret
	if c.secret == "" {
		sum := sha256.Sum256([]byte("sportello-telegram-webhook:" + cfg.Token))
		c.secret = hex.EncodeToString(sum[:16])
	}
	router.Register(c)
	c.log.Info("telegram bot ready", "bot", me.Username, "mode", string(cfg.Mode))
	return c, nil
}

func newTransport() *http.Transport {
	return &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:          512,
		MaxIdleConnsPerHost:   256,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
		ForceAttemptHTTP2:     true,
	}
}

// Name implements bot.Channel.
func (c *Channel) Name() string { return Name }

// BotUsername is the bot's @username (without the @), from getMe.
func (c *Channel) BotUsername() string { return c.me.Username }

// BotID is the bot's user id.
func (c *Channel) BotID() int64 { return c.me.ID }

// Config returns the configuration in effect (defaults filled in).
func (c *Channel) Config() Config { return c.cfg }

// Run connects to Telegram — setMyCommands, then setWebhook (webhook mode) or deleteWebhook
// and long polling — resends staff replies that were not delivered, and handles recorded
// updates until ctx ends. It then stops taking updates and waits up to DrainTimeout for those
// in flight; what is not finished stays recorded for the next start.
func (c *Channel) Run(ctx context.Context) error {
	if !c.running.CompareAndSwap(false, true) {
		return errors.New("telegram: Run called twice")
	}
	hard, hardCancel := context.WithCancel(context.WithoutCancel(ctx))
	defer hardCancel()
	c.mu.Lock()
	c.hard = hard
	c.lastScore = math.Inf(-1)
	c.mu.Unlock()

	var bg sync.WaitGroup
	bg.Go(func() {
		if err := c.setCommands(ctx); err != nil && ctx.Err() == nil {
			c.log.Warn("telegram commands not set", "err", err)
		}
	})
	switch c.cfg.Mode {
	case ModeWebhook:
		bg.Go(func() { c.keepWebhook(ctx) })
	default:
		bg.Go(func() { c.poll(ctx) })
	}
	bg.Go(func() { c.consume(ctx, hard) })
	bg.Go(func() { c.resendPending(ctx) })
	bg.Go(func() { c.heartbeat(ctx) })
	<-ctx.Done()
	bg.Wait()

	c.mu.Lock()
	close(c.stopping)
	c.mu.Unlock()
	done := make(chan struct{})
	go func() { c.workersWG.Wait(); close(done) }()
	t := time.NewTimer(c.cfg.DrainTimeout)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
		c.log.Warn("telegram: handling still in flight at shutdown; cancelling it")
		hardCancel()
		<-done
	}
	return nil
}

// redact removes the token from error texts (the library's URLs contain it).
func redact(s, token string) string {
	if token == "" {
		return s
	}
	return strings.ReplaceAll(s, token, "<token>")
}
