package console_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/sportello/sportello/bot"
	"github.com/sportello/sportello/bot/desk"
	"github.com/sportello/sportello/bot/desk/desktest"
	"github.com/sportello/sportello/bot/store/redis"
	"github.com/sportello/sportello/bot/store/storetest"
)

// TestLiveAcrossReplicas: two replicas share one Redis; a console connected to replica B sees
// changes made on replica A at once (Redis pub/sub wakes it; it reads the state from Redis).
// It reports the latency from the change (opening a ticket, its store writes included) to the
// event on the other replica's stream.
func TestLiveAcrossReplicas(t *testing.T) {
	stA := storetest.NewRedis(t)
	// Replica B has its own connections to the same Redis, whatever its topology.
	var clientB goredis.UniversalClient
	switch c := stA.Client().(type) {
	case *goredis.Client:
		clientB = goredis.NewClient(c.Options())
	case *goredis.ClusterClient:
		clientB = goredis.NewClusterClient(c.Options())
	default:
		t.Fatalf("unexpected Redis client %T", c)
	}
	stB := redis.NewFromClient(clientB, stA.Prefix())
	t.Cleanup(func() { stB.Close() })
	clock := storetest.NewClock(desktest.Start)
	a := desktest.New(t, stA, clock)
	b := newEnv(t, desktest.New(t, stB, clock))
	mario := a.Staff(t, "mario", desk.RoleStaff, "ravenna")
	browser := b.login(t, "mario")
	s := openStream(t, browser)

	var lat []time.Duration
	for i := range 20 {
		began := time.Now()
		o, err := a.Desk.Open(ctx, bot.HandoffRequest{Address: desktest.Addr(fmt.Sprint("rep", i)), Desk: "ravenna", Lang: "en", Reason: "user"})
		if err != nil {
			t.Fatal(err)
		}
		ev := s.next(t, 5*time.Second)
		lat = append(lat, time.Since(began))
		if !strings.Contains(ev, o.Ticket) || !strings.Contains(ev, `"kind":"opened"`) {
			t.Fatalf("event %s", ev)
		}
		// The console on B reads the new ticket from the shared store.
		if _, body := browser.Get("/console/api/queue"); !strings.Contains(body, o.Ticket) {
			t.Fatalf("replica B does not list %s", o.Ticket)
		}
	}
	// Staff on replica B answer a ticket opened on A: every replica runs every channel, so
	// B's router sends it.
	if delivered, err := b.Desk.Reply(ctx, mario, mustFirst(t, b, mario), "hello from B"); err != nil || !delivered {
		t.Fatalf("reply on B: %v %v", delivered, err)
	}
	slices.Sort(lat)
	t.Logf("console event latency across replicas (Redis pub/sub, SSE): median %v, max %v over %d events",
		lat[len(lat)/2].Round(10*time.Microsecond), lat[len(lat)-1].Round(10*time.Microsecond), len(lat))
}

func mustFirst(t *testing.T, e *env, who *desk.Account) string {
	t.Helper()
	q, err := e.Desk.Queue(ctx, who, desk.Filter{})
	if err != nil || len(q) == 0 {
		t.Fatalf("queue: %v", err)
	}
	return q[0].ID
}
