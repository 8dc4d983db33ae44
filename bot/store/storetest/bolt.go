package storetest

import (
	"path/filepath"
	"testing"

	"github.com/sportello/sportello/bot"
	"github.com/sportello/sportello/bot/store/bolt"
)

// NewBolt opens a bolt store in a fresh t.TempDir() with clock (nil: the system clock) and
// closes it at cleanup.
func NewBolt(t testing.TB, clock bot.Clock) *bolt.Store {
	t.Helper()
	s, err := bolt.Open(filepath.Join(t.TempDir(), "sportello.db"), clock)
	if err != nil {
		t.Fatalf("open bolt store: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close bolt store: %v", err)
		}
	})
	return s
}
