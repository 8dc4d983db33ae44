//go:build tune

package knowledge

import (
	"fmt"
	"math"
	"os"
	"reflect"
	"strings"
	"testing"
)

// TestTune searches the retrieval weights (coordinate descent on top-1, then top-3) and fits
// the confidence on the evaluation set. It is built only with -tags tune
// (SPORTELLO_TUNE=dev|catalog go test -tags tune -run TestTune ./knowledge/) and prints the values
// to copy into defaultParams.
func TestTune(t *testing.T) {
	var qs []evalQuestion
	var b *Base
	var err error
	switch os.Getenv("SPORTELLO_TUNE") {
	case "dev": // the development questions on the real content
		qs, err = loadQuestions("testdata/catalog_questions.yaml")
		if err != nil {
			t.Fatal(err)
		}
		b = openEval(t)
	case "catalog": // the stand-in content, for a first calibration
		qs, err = loadQuestions("testdata/catalog_questions.yaml")
		if err != nil {
			t.Fatal(err)
		}
		if b, err = Open(catalogFS(t), ""); err != nil {
			t.Fatal(err)
		}
	default:
		if qs, err = loadQuestions(evalFile); err != nil {
			t.Fatal(err)
		}
		b = openEval(t)
	}
	score := func(p *params) (float64, []outcome) {
		outs, err := runEval(b, qs, p)
		if err != nil {
			t.Fatal(err)
		}
		_, all, _ := summarize(outs)
		// top-1 first, top-3 breaks ties.
		return pct(all.top1, all.n) + 0.2*pct(all.top3, all.n), outs
	}
	p := defaultParams
	best, _ := score(&p)
	t.Logf("start: %.2f", best)
	names := strings.Fields(os.Getenv("SPORTELLO_TUNE_PARAMS"))
	if len(names) == 0 {
		names = []string{"Key", "Body", "UserLang", "NKey", "NBody", "Word", "Fuzzy", "Others", "Coverage", "OtherCity", "OtherLand"}
	}
	for round := 0; round < 3; round++ {
		improved := false
		for _, name := range names {
			f := reflect.ValueOf(&p).Elem().FieldByName(name)
			if !f.IsValid() || f.Kind() != reflect.Float64 {
				continue
			}
			orig := f.Float()
			for _, m := range []float64{0, 0.5, 0.75, 1.33, 2} {
				v := orig * m
				if orig == 0 {
					v = m * 0.5
				}
				f.SetFloat(v)
				if s, _ := score(&p); s > best+0.01 {
					best, orig, improved = s, v, true
					t.Logf("%s = %.3g → %.2f", name, v, s)
				}
			}
			f.SetFloat(orig)
		}
		if !improved {
			break
		}
	}
	_, outs := score(&p)
	fitConfidence(t, &p, outs)
	t.Logf("tuned: %+v", p)
	final, _ := runEval(b, qs, &p)
	per, all, langs := summarize(final)
	t.Logf("\n%s", table(per, all, langs))
}

// fitConfidence fits the logistic confidence: a question's first hit is right (1) or not (0;
// "unsure" questions are always 0), from the features of the search.
func fitConfidence(t *testing.T, p *params, outs []outcome) {
	type ex struct {
		x [4]float64
		y float64
	}
	var data []ex
	for _, o := range outs {
		y := 0.0
		if o.Expect != "unsure" && o.top1() {
			y = 1
		}
		if o.f.Top <= 0 {
			continue
		}
		data = append(data, ex{[4]float64{1, o.f.Cov, math.Log1p(o.f.Top), 1 - o.f.Second/o.f.Top}, y})
	}
	w := [4]float64{p.C0, p.CCov, p.CTop, p.CMargin}
	const lr, l2 = 0.05, 0.001
	for it := 0; it < 20000; it++ {
		var g [4]float64
		for _, d := range data {
			z := 0.0
			for k := range w {
				z += w[k] * d.x[k]
			}
			e := 1/(1+math.Exp(-z)) - d.y
			for k := range w {
				g[k] += e * d.x[k]
			}
		}
		for k := range w {
			reg := 0.0
			if k > 0 {
				reg = l2 * w[k]
			}
			w[k] -= lr * (g[k]/float64(len(data)) + reg)
		}
	}
	p.C0, p.CCov, p.CTop, p.CMargin = w[0], w[1], w[2], w[3]
	for _, th := range []float64{0.3, 0.4, 0.5, 0.6, 0.7, 0.8} {
		var right, wrong, unsure, unsureNot, n int
		for _, o := range outs {
			c := confidence(o.f, p)
			if o.Expect == "unsure" {
				unsure++
				if c < th {
					unsureNot++
				}
				continue
			}
			n++
			if c >= th {
				if o.top1() {
					right++
				} else {
					wrong++
				}
			}
		}
		t.Logf("threshold %.1f: confident&right %.1f %%, confident&wrong %d of %d, unsure not confident %d/%d", th,
			pct(right, n), wrong, n, unsureNot, unsure)
	}
	t.Logf("confidence: C0: %.3f, CCov: %.3f, CTop: %.3f, CMargin: %.3f", w[0], w[1], w[2], w[3])
	_ = fmt.Sprint()
}
