package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/sync/errgroup"

	"github.com/sportello/sportello/bot"
	"github.com/sportello/sportello/bot/desk"
	"github.com/sportello/sportello/bot/desk/console"
	"github.com/sportello/sportello/bot/store/bolt"
	"github.com/sportello/sportello/bot/store/redis"
	"github.com/sportello/sportello/bot/telegram"
	"github.com/sportello/sportello/bot/webchat"
	"github.com/sportello/sportello/flows"
	"github.com/sportello/sportello/knowledge"
	"github.com/sportello/sportello/locales"
)

// Main is one running Sportello: every part wired together. End-to-end tests build it with
// fakes of Telegram, a ":0" address and their own Redis prefix, exactly as `serve` does.
type Main struct {
	Config   Config
	Log      *slog.Logger
	Clock    bot.Clock
	Store    bot.Store
	Texts    *locales.Catalog
	KB       *knowledge.Base
	Router   *bot.Router
	Engine   *flows.Engine
	Web      *webchat.Channel
	Telegram *telegram.Channel // nil without TELEGRAM_TOKEN
	Desk     *desk.Service     // tickets and appointments (desk.go)
	Console  *console.Console  // the staff console at /console
	Registry *prometheus.Registry

	listener net.Listener
	server   *http.Server
}

// Options are what a caller supplies besides the configuration.
type Options struct {
	Log   *slog.Logger
	Clock bot.Clock
	// IndexDir keeps the built search index between starts ("" builds it in memory).
	IndexDir string
	// Store, if set, is used instead of the one the configuration names (tests pass a
	// Redis store with their own key prefix). Main closes it.
	Store bot.Store
}

// Open builds Sportello from cfg.
func Open(ctx context.Context, cfg Config, opts Options) (m *Main, err error) {
	if opts.Clock == nil {
		opts.Clock = bot.SystemClock{}
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	m = &Main{Config: cfg, Log: opts.Log, Clock: opts.Clock, Store: opts.Store, Registry: prometheus.NewRegistry()}
	defer func() {
		if err != nil {
			m.Close()
		}
	}()
	m.Registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return m, fmt.Errorf("create data dir: %w", err)
	}
	switch {
	case m.Store != nil:
	case cfg.RedisURL != "":
		if m.Store, err = redis.New(ctx, cfg.RedisURL, cfg.RedisPrefix); err != nil {
			return m, fmt.Errorf("connect to Redis: %w", err)
		}
	default:
		if m.Store, err = bolt.Open(filepath.Join(cfg.DataDir, "sportello.db"), m.Clock); err != nil {
			return m, fmt.Errorf("open embedded store: %w", err)
		}
	}
	if m.Texts, err = locales.Load(); err != nil {
		return m, err
	}
	if m.KB, err = knowledge.Open(knowledge.Content, opts.IndexDir); err != nil {
		return m, fmt.Errorf("open knowledge base: %w", err)
	}
	if err := m.wire(); err != nil {
		return m, err
	}
	if err := m.wireDesk(); err != nil {
		return m, err
	}
	if err := m.openChannels(ctx); err != nil {
		return m, err
	}
	return m, nil
}

// Listen binds the HTTP address, so that callers know it (Addr) before Run.
func (m *Main) Listen() error {
	l, err := net.Listen("tcp", m.Config.HTTPAddr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", m.Config.HTTPAddr, err)
	}
	m.listener = l
	m.server = &http.Server{Handler: m.routes(), ReadHeaderTimeout: 10 * time.Second}
	// Open event streams would hold Shutdown until its deadline.
	m.server.RegisterOnShutdown(m.Web.Close)
	return nil
}

// wire builds the router and the flow engine.
func (m *Main) wire() error {
	cfg := m.Config.File
	desks := map[string]bot.DeskInfo{}
	for _, d := range cfg.Desks {
		desks[d.ID] = d.DeskInfo
	}
	langs := cfg.Languages
	if len(langs) == 0 {
		langs = m.Texts.Languages()
	}
	languages := bot.NewLanguages(langs, locales.Source, func(desk string) string { return desks[desk].Lang })
	fl, err := flows.LoadFlows()
	if err != nil {
		return err
	}
	rules, err := flows.LoadRules()
	if err != nil {
		return err
	}
	m.Router = &bot.Router{
		Store:         m.Store,
		Sessions:      bot.Sessions{Store: m.Store, IdleTTL: cfg.Retention.Sessions},
		Locker:        bot.Locker{Store: m.Store, TTL: 30 * time.Second},
		Languages:     languages,
		Texts:         m.Texts,
		Clock:         m.Clock,
		Log:           m.Log,
		Metrics:       bot.NewMetrics(m.Registry),
		DedupeTTL:     cfg.Retention.Dedupe,
		TranscriptTTL: cfg.Retention.Transcripts,
		FloodLimit:    cfg.Flood.Limit,
		FloodWindow:   cfg.Flood.Window,
	}
	m.Engine = &flows.Engine{
		Flows: fl, Rules: rules, KB: m.KB, Texts: m.Texts, Languages: languages,
		Desks: desks, DefaultDesk: cfg.DefaultDesk, Forget: m.forget, Clock: m.Clock,
	}
	m.Router.Responder = m.Engine
	return nil
}

// forget erases a conversation (/forget): the router's session and transcript, and the web
// chat's history, whose open pages clear at once.
func (m *Main) forget(ctx context.Context, a bot.Address) error {
	return errors.Join(m.Router.Forget(ctx, a), m.Web.Forget(ctx, a))
}

// openChannels creates the web chat and, when configured, Telegram.
func (m *Main) openChannels(ctx context.Context) error {
	m.Web = webchat.New(m.Store, m.Router, m.Texts, webchat.Options{HistoryTTL: m.Config.File.Retention.Transcripts})
	m.Router.Register(m.Web)
	if m.Config.TelegramToken != "" {
		tg, err := telegram.New(ctx, telegram.Config{
			Token:         m.Config.TelegramToken,
			APIURL:        m.Config.TelegramAPIURL,
			WebhookURL:    m.Config.TelegramWebhookURL,
			WebhookSecret: m.Config.TelegramWebhookSecret,
		}, m.Store, m.Router, m.Texts, m.Log)
		if err != nil {
			return fmt.Errorf("start Telegram: %w", err)
		}
		m.Telegram = tg
		m.Router.Register(tg)
	}
	if m.Config.DiscordToken != "" {
		m.Log.Warn("DISCORD_TOKEN is set but this build has no Discord channel yet; Discord stays off")
	}
	return nil
}

// routes is the HTTP surface: web chat, health, metrics and the Telegram webhook.
func (m *Main) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok\n")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := m.Store.Ping(ctx); err != nil {
			http.Error(w, "store unreachable", http.StatusServiceUnavailable)
			return
		}
		io.WriteString(w, "ready\n")
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{}))
	if m.Telegram != nil {
		mux.Handle("POST /telegram/webhook", m.Telegram.WebhookHandler())
	}
	m.deskRoutes(mux)
	mux.Handle("/", m.Web.Handler())
	return mux
}

// Addr is the address the HTTP server listens on.
func (m *Main) Addr() string { return m.listener.Addr().String() }

// Run serves until ctx ends, then shuts down gracefully: it stops taking new messages,
// finishes those in flight and closes the store.
func (m *Main) Run(ctx context.Context) error {
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		if err := m.server.Serve(m.listener); !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("http server: %w", err)
		}
		return nil
	})
	if m.Telegram != nil {
		g.Go(func() error { return m.Telegram.Run(gctx) })
	}
	m.startDesk(gctx, g.Go)
	g.Go(func() error {
		<-gctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		err := m.server.Shutdown(shutdown)
		return errors.Join(err, m.Router.Drain(shutdown))
	})
	m.Log.Info("sportello running", "addr", m.Addr(), "telegram", m.Telegram != nil, "redis", m.Config.RedisURL != "")
	return g.Wait()
}

// Close releases everything Open acquired.
func (m *Main) Close() error {
	var errs []error
	if m.listener != nil {
		m.listener.Close()
	}
	if m.KB != nil {
		errs = append(errs, m.KB.Close())
	}
	if m.Store != nil {
		errs = append(errs, m.Store.Close())
	}
	return errors.Join(errs...)
}
