package storetest

import (
	"sync"
	"time"

	"github.com/sportello/sportello/bot"
)

// Clock is a manual [bot.Clock] for tests: time stands still until Advance moves it. It is
// safe for concurrent use. The zero Clock starts at 2025-01-01 00:00 UTC.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

var _ bot.Clock = (*Clock)(nil)

// Epoch is where a zero Clock starts.
var Epoch = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// NewClock returns a Clock set to start.
func NewClock(start time.Time) *Clock { return &Clock{now: start} }

// Now returns the clock's current time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.now.IsZero() {
		c.now = Epoch
	}
	return c.now
}

// Advance moves the clock forward by d and returns the new time.
func (c *Clock) Advance(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.now.IsZero() {
		c.now = Epoch
	}
	c.now = c.now.Add(d)
	return c.now
}

// Set moves the clock to t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}
