//go:build load

package telegram

// The load comparison runs for minutes, so it is built only on request:
//
//	SPORTELLO_LOAD=200x8sx5 go test -tags load -run 'TestLoad$' -v ./bot/telegram/
//
// SPORTELLO_LOAD is <users>x<duration>[x<rounds>].

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sportello/sportello/bot/store/storetest"
)

func TestLoad(t *testing.T) {
	spec := os.Getenv("SPORTELLO_LOAD")
	if spec == "" {
		spec = "200x8sx5"
	}
	parts := strings.Split(spec, "x")
	users, err := strconv.Atoi(parts[0])
	if err != nil || len(parts) < 2 {
		t.Fatalf("SPORTELLO_LOAD=%q: want <users>x<duration>[x<rounds>]", spec)
	}
	dur, err := time.ParseDuration(parts[1])
	if err != nil {
		t.Fatalf("SPORTELLO_LOAD=%q: %v", spec, err)
	}
	rounds := 1
	if len(parts) > 2 {
		if rounds, err = strconv.Atoi(parts[2]); err != nil || rounds < 1 {
			t.Fatalf("SPORTELLO_LOAD=%q: bad rounds", spec)
		}
	}
	warmup := 2 * time.Second
	only := os.Getenv("SPORTELLO_LOAD_ONLY") // profiling one configuration: echo, bolt or redis
	type config struct {
		name string
		run  func() loadResult
	}
	var configs []config
	if only == "" || only == "echo" {
		configs = append(configs,
			config{"echo: go-telegram/bot defaults", func() loadResult {
				return runBaseline(t, "echo: go-telegram/bot defaults", false, users, warmup, dur)
			}},
			config{"echo: go-telegram/bot, pooled HTTP", func() loadResult {
				return runBaseline(t, "echo: go-telegram/bot, pooled HTTP", true, users, warmup, dur)
			}})
	}
	if only == "" || only == "bolt" {
		configs = append(configs, config{"sportello: embedded store (bolt)", func() loadResult {
			return runSportello(t, "sportello: embedded store (bolt)", storetest.NewBolt(t, nil), users, warmup, dur)
		}})
	}
	if only == "" || only == "redis" {
		configs = append(configs, config{"sportello: Redis", func() loadResult {
			return runSportello(t, "sportello: Redis", redisForLoad(t, users), users, warmup, dur)
		}})
	}
	// Rounds interleave the configurations, so that a busy machine slows them alike; the table
	// shows each configuration's median round (by throughput).
	results := make([][]loadResult, len(configs))
	for round := range rounds {
		var line []string
		for i, c := range configs {
			r := c.run()
			results[i] = append(results[i], r)
			line = append(line, fmt.Sprintf("%s %.0f/s", c.name, r.perSecond))
		}
		t.Logf("round %d: %s", round+1, strings.Join(line, "; "))
	}
	var table []loadResult
	for i := range configs {
		rs := results[i]
		slices.SortFunc(rs, func(a, b loadResult) int { return int(a.perSecond - b.perSecond) })
		med := rs[len(rs)/2]
		for _, r := range rs { // failures in any round count
			med.lost, med.rejected, med.duplicateReplies = max(med.lost, r.lost), max(med.rejected, r.rejected), max(med.duplicateReplies, r.duplicateReplies)
		}
		table = append(table, med)
	}
	t.Logf("%d users, closed loop, %v measured after %v warm-up, rate limits off, median of %d round(s)\n%s",
		users, dur, warmup, rounds, formatTable(table))
	if only == "" {
		echo := max(table[0].perSecond, table[1].perSecond)
		t.Logf("Sportello/Redis at %.2f× the echo bot's throughput; bolt at %.2f×", table[3].perSecond/echo, table[2].perSecond/echo)
	}
	for _, r := range table {
		if strings.HasPrefix(r.name, "sportello") && (r.lost != 0 || r.rejected != 0 || r.duplicateReplies != 0) {
			t.Errorf("%s: %d lost, %d rejected, %d duplicate replies", r.name, r.lost, r.rejected, r.duplicateReplies)
		}
	}
}
