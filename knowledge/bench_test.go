package knowledge

import (
	"context"
	"io/fs"
	"os"
	"runtime"
	"sort"
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

// BenchmarkOpen builds the index over the whole content in memory; it reports the heap the
// open base holds (index-MB).
func BenchmarkOpen(b *testing.B) {
	fsys := Content
	var before, after runtime.MemStats
	for i := 0; i < b.N; i++ {
		runtime.GC()
		runtime.ReadMemStats(&before)
		kb, err := Open(fsys, "")
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/1e6, "index-MB")
		kb.Close()
		b.StartTimer()
	}
}

// BenchmarkOpenCached is a start-up with an index built before (reused from cacheDir).
func BenchmarkOpenCached(b *testing.B) {
	fsys := Content
	dir := b.TempDir()
	kb, err := Open(fsys, dir)
	if err != nil {
		b.Fatal(err)
	}
	kb.Close()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		kb, err := Open(fsys, dir)
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		kb.Close()
		b.StartTimer()
	}
}

// benchQueries are the evaluation questions by language.
func benchQueries() map[string][]Query {
	out := map[string][]Query{}
	qs, _ := loadQuestions(evalFile)
	for _, q := range qs {
		out[q.Lang] = append(out[q.Lang], Query{Text: q.Q, Lang: q.Lang, Jurisdictions: deskJurisdictions[q.Desk]})
	}
	return out
}

// BenchmarkSearch runs the questions of each language; it reports p50 and p99 per query.
func BenchmarkSearch(b *testing.B) {
	fsys := Content
	kb, err := Open(fsys, "")
	if err != nil {
		b.Fatal(err)
	}
	defer kb.Close()
	byLang := benchQueries()
	langs := make([]string, 0, len(byLang))
	for l := range byLang {
		langs = append(langs, l)
	}
	sort.Strings(langs)
	ctx := context.Background()
	for _, l := range langs {
		qs := byLang[l]
		b.Run(l, func(b *testing.B) {
			times := make([]time.Duration, 0, b.N)
			for i := 0; i < b.N; i++ {
				start := time.Now()
				if _, err := kb.Search(ctx, qs[i%len(qs)]); err != nil {
					b.Fatal(err)
				}
				times = append(times, time.Since(start))
			}
			sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
			b.ReportMetric(float64(times[len(times)/2].Microseconds()), "p50-µs")
			b.ReportMetric(float64(times[len(times)*99/100].Microseconds()), "p99-µs")
		})
	}
}

func TestMain(m *testing.M) { os.Exit(m.Run()) }

// scaledFS copies every English version into each of Langs, to measure a fully translated base.
func scaledFS(b testing.TB) fs.FS {
	src := Content
	m := fstest.MapFS{}
	fs.WalkDir(src, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, "/en.md") {
			return err
		}
		raw, _ := fs.ReadFile(src, p)
		for _, l := range Langs {
			m[strings.TrimSuffix(p, "en.md")+l+".md"] = &fstest.MapFile{Data: raw}
		}
		return nil
	})
	return m
}

// BenchmarkOpenScaled and BenchmarkOpenCachedScaled: the same with every article in all 12
// languages (English text copied), the size the base will have once translated.
func BenchmarkOpenScaled(b *testing.B) {
	fsys := scaledFS(b)
	var before, after runtime.MemStats
	for i := 0; i < b.N; i++ {
		runtime.GC()
		runtime.ReadMemStats(&before)
		kb, err := Open(fsys, "")
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/1e6, "index-MB")
		kb.Close()
		b.StartTimer()
	}
}

func BenchmarkOpenCachedScaled(b *testing.B) {
	fsys := scaledFS(b)
	dir := b.TempDir()
	kb, err := Open(fsys, dir)
	if err != nil {
		b.Fatal(err)
	}
	kb.Close()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		kb, err := Open(fsys, dir)
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		kb.Close()
		b.StartTimer()
	}
}

// BenchmarkSearchScaled runs all evaluation questions on the fully translated stand-in.
func BenchmarkSearchScaled(b *testing.B) {
	kb, err := Open(scaledFS(b), "")
	if err != nil {
		b.Fatal(err)
	}
	defer kb.Close()
	var qs []Query
	for _, l := range benchQueries() {
		qs = append(qs, l...)
	}
	times := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		if _, err := kb.Search(context.Background(), qs[i%len(qs)]); err != nil {
			b.Fatal(err)
		}
		times = append(times, time.Since(start))
	}
	sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
	b.ReportMetric(float64(times[len(times)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(times[len(times)*99/100].Microseconds()), "p99-µs")
}
