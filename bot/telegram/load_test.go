package telegram

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	tgbot "github.com/go-telegram/bot"
	"github.com/go-telegram/bot/models"

	"github.com/sportello/sportello/bot"
	"github.com/sportello/sportello/bot/store/storetest"
	"github.com/sportello/sportello/bot/telegram/telegramtest"
)

// The load harness: N simulated users in a closed loop against the fake Bot API — each sends
// a message, waits for the reply, and sends the next. Latency is measured on the fake's clock,
// from the user's message entering Telegram to the bot's reply arriving there. Rate limits
// are off on both sides (Telegram's own limits would cap every bot alike at 30 msg/s).
//
// A full run (200 users, Sportello on the embedded store and on Redis, and a go-telegram/bot
// echo bot as the baseline) is opt-in:
//
//	SPORTELLO_LOAD=200x10sx3 go test -run TestLoad -v ./bot/telegram/   (users x duration x rounds)

type loadResult struct {
	name             string
	users            int
	dur              time.Duration
	answered         int
	p50, p99         time.Duration
	lost, rejected   int
	perSecond        float64
	duplicateReplies int
}

// plainEcho answers every message with its text: the same work as the baseline echo bot.
type plainEcho struct{}

func (plainEcho) Respond(_ context.Context, _ *bot.Session, in bot.Inbound) ([]bot.Reply, error) {
	return []bot.Reply{{Text: "echo: " + in.Text}}, nil
}

// closedLoop drives users against srv for warmup+dur and measures the replies within dur.
func closedLoop(srv *telegramtest.Server, users int, warmup, dur time.Duration) loadResult {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var (
		mu        sync.Mutex
		latencies []time.Duration
		lost      int
		wg        sync.WaitGroup
	)
	start := time.Now()
	measureFrom, end := start.Add(warmup), start.Add(warmup+dur)
	for range users {
		u := srv.NewUser("en")
		wg.Go(func() {
			for n := 0; time.Now().Before(end); n++ {
				sentAt := time.Now()
				srv.SendText(u, "q"+strconv.Itoa(n))
				wctx, wcancel := context.WithTimeout(ctx, 15*time.Second)
				reply, err := srv.NextSent(wctx, u.ID, n)
				wcancel()
				if err != nil {
					mu.Lock()
					lost++
					mu.Unlock()
					return
				}
				if reply.At.After(measureFrom) && !reply.At.After(end) {
					mu.Lock()
					latencies = append(latencies, reply.At.Sub(sentAt))
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	slices.Sort(latencies)
	r := loadResult{users: users, dur: dur, answered: len(latencies), lost: lost, rejected: len(srv.Rejected())}
	if len(latencies) > 0 {
		r.p50 = latencies[len(latencies)/2]
		r.p99 = latencies[len(latencies)*99/100]
	}
	r.perSecond = float64(r.answered) / dur.Seconds()
	return r
}

// runSportello measures the Telegram channel with a real router on store.
func runSportello(t *testing.T, name string, store bot.Store, users int, warmup, dur time.Duration) loadResult {
	srv := telegramtest.New(t)
	srv.SetLimits(telegramtest.NoLimits)
	srv.RecordCalls(false)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	router := newRouter(store, plainEcho{}, log)
	ch, err := New(context.Background(), Config{Token: srv.Token(), APIURL: srv.URL(), Limits: NoLimits, TypingDelay: time.Minute}, store, router, catalog, log)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ch.Run(ctx) }()
	r := closedLoop(srv, users, warmup, dur)
	cancel()
	<-done
	r.name = name
	r.duplicateReplies = duplicates(srv, users)
	return r
}

// runBaseline measures a minimal echo bot on go-telegram/bot's own loop (Start, async handlers).
func runBaseline(t *testing.T, name string, tuned bool, users int, warmup, dur time.Duration) loadResult {
	srv := telegramtest.New(t)
	srv.SetLimits(telegramtest.NoLimits)
	srv.RecordCalls(false)
	opts := []tgbot.Option{
		tgbot.WithServerURL(srv.URL()),
		tgbot.WithErrorsHandler(func(error) {}),
		tgbot.WithDefaultHandler(func(ctx context.Context, b *tgbot.Bot, u *models.Update) {
			if u.Message != nil {
				_, _ = b.SendMessage(ctx, &tgbot.SendMessageParams{ChatID: u.Message.Chat.ID, Text: "echo: " + u.Message.Text})
			}
		}),
	}
	if tuned {
		opts = append(opts, tgbot.WithHTTPClient(time.Minute, &http.Client{Transport: newTransport(), Timeout: time.Minute}))
	}
	b, err := tgbot.New(srv.Token(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { b.Start(ctx); close(done) }()
	r := closedLoop(srv, users, warmup, dur)
	cancel()
	<-done
	r.name = name
	r.duplicateReplies = duplicates(srv, users)
	return r
}

// duplicates counts replies beyond one per message (every chat's n-th reply answers "q<n>").
func duplicates(srv *telegramtest.Server, users int) int {
	n := 0
	for _, u := range srv.AllChats() {
		for i, m := range srv.Sent(u) {
			if m.Text != "echo: q"+strconv.Itoa(i) {
				n++
			}
		}
	}
	return n
}

func formatTable(rs []loadResult) string {
	var b strings.Builder
	fmt.Fprintf(&b, "| %-36s | users | answered msgs/s | p50 | p99 | lost | rejected | out of order/dup |\n", "bot")
	fmt.Fprintf(&b, "|%s|---|---|---|---|---|---|---|\n", strings.Repeat("-", 38))
	for _, r := range rs {
		fmt.Fprintf(&b, "| %-36s | %d | %.0f | %v | %v | %d | %d | %d |\n", r.name, r.users, r.perSecond,
			r.p50.Round(100*time.Microsecond), r.p99.Round(100*time.Microsecond), r.lost, r.rejected, r.duplicateReplies)
	}
	return b.String()
}

func TestLoadSmoke(t *testing.T) {
	r := runSportello(t, "sportello/bolt", storetest.NewBolt(t, nil), 10, 200*time.Millisecond, 800*time.Millisecond)
	t.Logf("\n%s", formatTable([]loadResult{r}))
	if r.answered == 0 || r.lost != 0 || r.rejected != 0 || r.duplicateReplies != 0 {
		t.Fatalf("smoke load: %+v", r)
	}
}

// redisForLoad is a Redis store whose connection pool fits the concurrency (REDIS_URL's
// pool_size option; go-redis defaults to 10 per CPU, which 200 chats in parallel exhaust).
func redisForLoad(t *testing.T, users int) bot.Store {
	url := os.Getenv("REDIS_URL")
	if url == "" {
		storetest.NewRedis(t) // finds (or starts) a server, or skips
		url = "redis://127.0.0.1:6379/0"
	}
	sep := "?"
	if strings.Contains(url, "?") {
		sep = "&"
	}
	return storetest.NewRedisAt(t, url+sep+"pool_size="+strconv.Itoa(users+50))
}
