package main

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/sportello/sportello/bot"
)

// BenchmarkPipeline measures a whole message — inbound, dedupe, lock, session, language,
// rules, retrieval, flow, reply, transcript — with each store, 50 conversations per core at once.
//
//	go test -run '^$' -bench Pipeline -benchmem ./cmd/sportello/
func BenchmarkPipeline(b *testing.B) {
	questions := []string{
		"quanto costa il rinnovo del permesso di soggiorno?",
		"كم تكلفة تجديد الإقامة",
		"how long does citizenship take",
		"скільки часу чекати на громадянство",
		"amar permesso shesh hoye geche ki korbo",
	}
	for _, store := range []string{"bolt", "redis"} {
		b.Run(store, func(b *testing.B) {
			m := openStoreMain(b, store, nil)
			var sent atomic.Int64
			m.Router.Register(countingChannel{&sent})
			var n atomic.Int64
			ctx := context.Background()
			b.ReportAllocs()
			b.SetParallelism(50) // 100 conversations at once on 2 cores, as on a busy desk
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					i := n.Add(1)
					in := bot.Inbound{
						Address:   bot.Address{Channel: "count", Conversation: fmt.Sprint("c", i%200)},
						MessageID: fmt.Sprint(i),
						Text:      questions[i%int64(len(questions))],
					}
					if err := m.Router.Handle(ctx, in); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
			if sent.Load() < int64(b.N) {
				b.Fatalf("%d messages, %d replies", b.N, sent.Load())
			}
		})
	}
}

// countingChannel only counts replies.
type countingChannel struct{ n *atomic.Int64 }

func (c countingChannel) Name() string { return "count" }

func (c countingChannel) Send(_ context.Context, _ bot.Address, replies []bot.Reply) error {
	c.n.Add(int64(len(replies)))
	return nil
}
