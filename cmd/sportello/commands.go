package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/sportello/sportello/bot/terminal"
)

// serve runs Sportello until ctx ends (SIGTERM, Ctrl-C).
func serve(ctx context.Context, cfg Config, stderr io.Writer) error {
	log := newLogger(stderr, cfg.LogLevel)
	m, err := Open(ctx, cfg, Options{Log: log, IndexDir: filepath.Join(cfg.DataDir, "index")})
	if err != nil {
		return err
	}
	defer m.Close()
	if err := m.Listen(); err != nil {
		return err
	}
	return m.Run(ctx)
}

// chat talks to Sportello in the terminal. Without Redis it keeps its conversation in a
// temporary store, so it never competes with a running server for the data directory.
func chat(ctx context.Context, cfg Config, lang, desk string, stdin io.Reader, stdout, stderr io.Writer) error {
	if cfg.RedisURL == "" {
		dir, err := os.MkdirTemp("", "sportello-chat-")
		if err != nil {
			return fmt.Errorf("temporary store: %w", err)
		}
		defer os.RemoveAll(dir)
		cfg.DataDir = dir
	}
	if desk != "" {
		cfg.File.DefaultDesk = desk
		if err := cfg.validate(); err != nil {
			return err
		}
	}
	m, err := Open(ctx, cfg, Options{Log: newLogger(stderr, "warn")})
	if err != nil {
		return err
	}
	defer m.Close()
	// Nobody answers a terminal conversation from the staff console: handoffs and appointment
	// requests give the desk's contacts instead of opening a ticket nobody will see.
	m.Engine.Desk, m.Engine.Booker = nil, nil
	term := terminal.New(stdout)
	m.Router.Register(term)
	return term.Run(ctx, stdin, m.Router, lang)
}

// health asks the local server's /healthz, for container health checks (no curl in the image).
func health(ctx context.Context, cfg Config, stdout io.Writer) error {
	_, port, err := net.SplitHostPort(cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("SPORTELLO_HTTP_ADDR: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://127.0.0.1:"+port+"/healthz", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("health: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("health: %s", resp.Status)
	}
	fmt.Fprintln(stdout, "ok")
	return nil
}
