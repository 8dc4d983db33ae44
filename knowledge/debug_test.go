package knowledge

import (
	"context"
	"fmt"
	"github.com/blevesearch/bleve/v2/search"
	"io/fs"
	"os"
	"strings"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/blevesearch/bleve/v2"
)

func TestDebugExplain(t *testing.T) {
	text := os.Getenv("Q")
	if text == "" {
		t.Skip()
	}
	var fsys fs.FS = os.DirFS("testdata/kb")
	if os.Getenv("REAL") != "" {
		fsys = Content
	}
	b, err := Open(fsys, "")
	if err != nil {
		t.Fatal(err)
	}
	x := b.idx
	qw := words(fold(text))
	bq := x.query(text, os.Getenv("L"), x.gloss.match(qw), &defaultParams)
	for _, bq := range bq {
		req := bleve.NewSearchRequestOptions(bq, 3, 0, true)
		sr, _ := x.bi.SearchInContext(context.Background(), req)
		for _, h := range sr.Hits {
			var leaves func(e *search.Explanation, depth int)
			out := ""
			leaves = func(e *search.Explanation, depth int) {
				if strings.HasPrefix(e.Message, "weight(") {
					out += fmt.Sprintf("  %.3f %s\n", e.Value, e.Message[:strings.Index(e.Message, " in ")])
					return
				}
				for _, c := range e.Children {
					leaves(c, depth+1)
				}
			}
			leaves(h.Expl, 0)
			t.Logf("%s %.3f\n%s", h.ID, h.Score, out)
		}
	}
}

func TestDebugCoverage(t *testing.T) {
	text := os.Getenv("Q")
	if text == "" {
		t.Skip()
	}
	b, err := Open(catalogFS(t), "")
	if err != nil {
		t.Fatal(err)
	}
	x := b.idx
	qw := words(fold(text))
	c := x.coverage(qw, x.gloss.match(qw))
	t.Logf("concepts %v", x.gloss.match(qw))
	for k := range c.weights {
		var ex, nr []string
		for i, a := range b.Articles() {
			if c.exact[k].has(i) {
				ex = append(ex, a.ID)
			}
			if c.near[k].has(i) {
				nr = append(nr, a.ID)
			}
		}
		t.Logf("w=%.2f exact=%v near=%v", c.weights[k], ex, nr)
	}
	res, f, _ := b.search(context.Background(), Query{Text: text}, &defaultParams)
	t.Logf("%+v %v", f, res.Hits[0].Article.ID)
}

// TestDebugRealCatalog runs the stand-in questions whose article exists against the real content.
func TestDebugRealCatalog(t *testing.T) {
	if os.Getenv("REALCAT") == "" {
		t.Skip()
	}
	qs, _ := loadQuestions("testdata/catalog_questions.yaml")
	b, err := Open(Content, "")
	if err != nil {
		t.Fatal(err)
	}
	var keep []evalQuestion
	for _, q := range qs {
		if q.Expect == "unsure" || b.Article(q.Expect) != nil {
			keep = append(keep, q)
		}
	}
	outs, _ := runEval(b, keep, &defaultParams)
	per, all, langs := summarize(outs)
	t.Logf("\n%s", table(per, all, langs))
	for _, o := range outs {
		if o.Expect != "unsure" && !o.top1() || o.Expect == "unsure" && o.confident {
			t.Logf("miss [%s] %q: want %s, got %v (conf %.2f)", o.Lang, o.Q, o.Expect, o.hits, o.conf)
		}
	}
}

func TestDebugStats(t *testing.T) {
	if os.Getenv("STATS") == "" {
		t.Skip()
	}
	b, err := Load(Content)
	if err != nil {
		t.Fatal(err)
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	WriteStats(tw, Stats(b, Langs))
	tw.Flush()
	n := 0
	for _, is := range Lint(b, time.Now(), Langs) {
		if n < 5 || is.Severity == "error" {
			fmt.Println(is)
		}
		n++
	}
	fmt.Println(n, "issues")
}

func TestDebugFeatures(t *testing.T) {
	if os.Getenv("FEAT") == "" {
		t.Skip()
	}
	qs, _ := loadQuestions(os.Getenv("FEAT"))
	b, err := Open(Content, "")
	if err != nil {
		t.Fatal(err)
	}
	outs, _ := runEval(b, qs, &defaultParams)
	for _, o := range outs {
		fmt.Printf("%-8s %5v cov=%.2f top=%.2f sec=%.2f margin=%.2f conf=%.2f %q\n", o.Expect[:min(8, len(o.Expect))], o.top1(), o.f.Cov, o.f.Top, o.f.Second, 1-o.f.Second/o.f.Top, o.conf, o.Q)
	}
}
