package bot

import "sync"

// serial runs the work of one key strictly in the order it was submitted, while different keys
// run in parallel. Within one process this gives per-conversation order; the Store lock adds
// mutual exclusion across replicas.
type serial struct {
	mu    sync.Mutex
	tails map[string]chan struct{} // closed when the last submitted work of the key is done
}

// enter reserves the next place in key's line and returns a wait func (blocks until it is this
// work's turn) and a done func (lets the next one go). The place is taken when enter returns.
func (s *serial) enter(key string) (wait func(), done func()) {
	s.mu.Lock()
	if s.tails == nil {
		s.tails = make(map[string]chan struct{})
	}
	prev := s.tails[key]
	mine := make(chan struct{})
	s.tails[key] = mine
	s.mu.Unlock()
	wait = func() {
		if prev != nil {
			<-prev
		}
	}
	done = func() {
		s.mu.Lock()
		if s.tails[key] == mine {
			delete(s.tails, key)
		}
		s.mu.Unlock()
		close(mine)
	}
	return wait, done
}
