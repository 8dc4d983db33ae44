package main

import (
	"context"
	"fmt"
	"net/http"

	"github.com/sportello/sportello/bot/desk"
	"github.com/sportello/sportello/bot/desk/console"
)

// The desk: handoff tickets, appointments and the staff console. Open calls wireDesk after
// wire, routes calls deskRoutes, and Run calls startDesk.

// offices turns the configured desks into the desk package's offices (hours, capacity).
func offices(cfg FileConfig) ([]desk.Office, error) {
	var out []desk.Office
	for _, d := range cfg.Desks {
		o, err := desk.NewOffice(d.DeskInfo, d.Hours.Timezone, d.Hours.Weekly, d.Hours.ReplyWithin, d.Capacity)
		if err != nil {
			return nil, fmt.Errorf("config: %w", err)
		}
		out = append(out, o)
	}
	return out, nil
}

// wireDesk builds the desk service and the staff console, and connects the flow engine to
// them: handoffs open tickets, the appointment flow books slots.
func (m *Main) wireDesk() error {
	offs, err := offices(m.Config.File)
	if err != nil {
		return err
	}
	m.Desk, err = desk.New(desk.Config{
		Store: m.Store, Clock: m.Clock, Relay: m.Router, Texts: m.Texts, Offices: offs, Log: m.Log,
		Retention: m.Config.File.Retention.Tickets,
	})
	if err != nil {
		return err
	}
	m.Engine.Desk = m.Desk
	m.Engine.Booker = m.Desk
	m.Console, err = console.New(console.Config{Desk: m.Desk, Store: m.Store, Texts: m.Texts, Log: m.Log})
	return err
}

// deskRoutes mounts the staff console at /console.
func (m *Main) deskRoutes(mux *http.ServeMux) {
	mux.Handle("/console/", m.Console)
	mux.Handle("/console", m.Console)
}

// startDesk runs the desk's scheduled work (reminders, retried deliveries, retention) until ctx
// ends, and makes a graceful shutdown end the console's live streams.
func (m *Main) startDesk(ctx context.Context, goroutine func(func() error)) {
	m.server.RegisterOnShutdown(m.Console.Shutdown)
	goroutine(func() error { return m.Desk.Run(ctx) })
}
