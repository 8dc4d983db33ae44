package knowledge

import (
	"context"
	"errors"
	"math"
	"math/bits"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/analysis"
	"github.com/blevesearch/bleve/v2/registry"
	"github.com/blevesearch/bleve/v2/search/query"
)

// Query is a user's question.
type Query struct {
	Text          string
	Lang          string   // the user's language (may be "")
	Jurisdictions []string // the user's desk, most specific first, e.g. ["it-ravenna", "it"]
}

// Hit is an article that matches a query.
type Hit struct {
	Article *Article
	Score   float64
}

// Result is what Search found.
type Result struct {
	Hits       []Hit   // best first, at most 5, one per article
	Confidence float64 // 0..1
	Confident  bool    // Confidence >= ConfidenceThreshold: answer with Hits[0]; else offer the top 3 and a human
}

// ConfidenceThreshold is the confidence from which Search answers with its first hit.
const ConfidenceThreshold = 0.5

// RelatedThreshold is the confidence below which a result is not even offered as "did you
// mean": an off-topic message ("who won the match?") gets the honest "I only answer about…"
// and the human option rather than three unrelated topics.
const RelatedThreshold = 0.08

// MaxHits is the number of hits a Result holds at most.
const MaxHits = 5

// params are the retrieval's weights (tuned on knowledge/eval/questions.yaml).
type params struct {
	Key, Body   float64 // language fields: title+aliases, body
	UserLang    float64 // multiplier for the fields of the user's language
	NKey, NBody float64 // language-neutral trigram fields
	Word        float64 // the word-level part against the trigram part
	Fuzzy       float64 // boost of a near miss (one edit) of a long term; 0: none
	Prune       bool    // leave out terms no document has
	MaxShare    float64 // leave out trigram and concept terms more than this share of documents have
	Concept     float64 // glossary concepts against the word-level part
	Others      float64 // aggregation: weight of an article's other versions after its best one
	Coverage    float64 // re-ranking: weight of query-word coverage
	OtherCity   float64 // factor for an article of another city of the user's country
	OtherLand   float64 // factor for an article of another country
	NamedOther  float64 // factor for an article outside the place the question names
	CityNamed   float64 // factor for a country-level article when the question names the city
	Candidates  int     // documents fetched from bleve
	// Confidence: logistic regression on the features (see confidence).
	C0, CCov, CTop, CMargin float64
}

var defaultParams = params{
	Key: 1.6, Body: 0.6, UserLang: 1.3, NKey: 1.0, NBody: 0.35, Word: 1.0,
	Fuzzy: 0.4, Prune: true, MaxShare: 0.6, Concept: 0.5, Others: 0.15, Coverage: 0.5,
	OtherCity: 0.7, OtherLand: 0.3, NamedOther: 0.25, CityNamed: 0.8, Candidates: 80,
	C0: -5.0, CCov: 2.38, CTop: 3.11, CMargin: 2.88,
}

// features describe the best hit of a search, for the confidence.
type features struct {
	Top, Second float64 // aggregated scores of the first two articles
	Cov         float64 // weighted share of the query's words found in the first article
	Words       int     // content words in the query
}

// Search finds the articles a question is about, best first, and how sure it is of the first.
func (b *Base) Search(ctx context.Context, q Query) (Result, error) {
	res, _, err := b.search(ctx, q, &defaultParams)
	return res, err
}

const maxQueryRunes = 400

func (b *Base) search(ctx context.Context, q Query, p *params) (Result, features, error) {
	x := b.idx
	if x == nil {
		return Result{}, features{}, errors.New("knowledge: Search on a base that was not opened with Open")
	}
	text := strings.TrimSpace(q.Text)
	if utf8.RuneCountInString(text) > maxQueryRunes {
		text = string([]rune(text)[:maxQueryRunes])
	}
	qwords := words(fold(text))
	if len(qwords) == 0 {
		return Result{}, features{}, nil
	}
	concepts := x.gloss.match(qwords)
	parts := x.query(text, q.Lang, concepts, p)
	if len(parts) == 0 {
		return Result{}, features{}, nil
	}
	// Each part is searched on its own and the scores are added: one disjunction over the
	// parts would multiply by the share of parts a document matches, which favours any
	// version in the question's language over the right article in another.
	docs := map[string]float64{}
	for _, part := range parts {
		req := bleve.NewSearchRequestOptions(part, p.Candidates, 0, false)
		sr, err := x.bi.SearchInContext(ctx, req)
		if err != nil {
			return Result{}, features{}, err
		}
		for _, h := range sr.Hits {
			docs[h.ID] += h.Score
		}
	}
	// Aggregate per article: the best version, plus a little of the others.
	type agg struct {
		best, sum float64
	}
	per := map[string]*agg{}
	for doc, score := range docs {
		id, _, _ := strings.Cut(doc, "/")
		a := per[id]
		if a == nil {
			a = &agg{}
			per[id] = a
		}
		a.best = math.Max(a.best, score)
		a.sum += score
	}
	named := defaultPlaces.find(qwords)
	juris := effectiveJurisdictions(q.Jurisdictions, named)
	jp := *p
	if named != nil && !sameChain(juris, q.Jurisdictions) {
		// The question names a place other than the desk's: be firm about it.
		jp.OtherCity, jp.OtherLand = p.NamedOther, p.NamedOther
	}
	cityNamed := len(named) > 1 && sameChain(named, juris)
	// "German citizenship" asked at the Jena desk: the country's articles before the city's.
	countryNamed := len(named) == 1 && len(juris) > 1 && named[0] == juris[len(juris)-1]
	cov := x.coverage(qwords, concepts)
	hits := make([]Hit, 0, len(per))
	var top float64
	for id, a := range per {
		s := a.best + p.Others*(a.sum-a.best)
		top = math.Max(top, s)
		hits = append(hits, Hit{Article: b.articles[id], Score: s})
	}
	for i := range hits {
		h := &hits[i]
		ai := x.pos[h.Article.ID]
		h.Score = (h.Score/top + p.Coverage*cov.share(ai)) * jurisdictionFactor(h.Article.Jurisdiction, juris, &jp) * top
		if cityNamed && h.Article.Jurisdiction != juris[0] {
			h.Score *= p.CityNamed // "… in Jena": the city's own articles first
		}
		if countryNamed && h.Article.Jurisdiction != named[0] {
			h.Score *= p.CityNamed
		}
	}
	sort.Slice(hits, func(i, j int) bool {
		if hits[i].Score != hits[j].Score {
			return hits[i].Score > hits[j].Score
		}
		return hits[i].Article.ID < hits[j].Article.ID
	})
	if len(hits) > MaxHits {
		hits = hits[:MaxHits]
	}
	var f features
	f.Words = len(cov.weights)
	if len(hits) > 0 {
		f.Top = hits[0].Score
		f.Cov = cov.share(x.pos[hits[0].Article.ID])
	}
	if len(hits) > 1 {
		f.Second = hits[1].Score
	}
	res := Result{Hits: hits, Confidence: confidence(f, p)}
	res.Confident = res.Confidence >= ConfidenceThreshold
	return res, f, nil
}

// confidence estimates the probability that the first hit is right: a logistic function of
// how much of the question the first article covers, how strong its score is and its margin
// over the second.
func confidence(f features, p *params) float64 {
	if f.Top <= 0 {
		return 0
	}
	margin := 1 - f.Second/f.Top
	z := p.C0 + p.CCov*f.Cov + p.CTop*math.Log1p(f.Top) + p.CMargin*margin
	c := 1 / (1 + math.Exp(-z))
	if f.Cov == 0 {
		// None of the question's words (or their glossary concepts) is in the article: what
		// matched were trigrams or common words. Never an answer; at most "did you mean".
		c = min(c, ConfidenceThreshold/2)
	}
	return c
}

func sameChain(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// jurisdictionFactor prefers the articles of the jurisdictions the question is about.
func jurisdictionFactor(j string, chain []string, p *params) float64 {
	if len(chain) == 0 {
		return 1
	}
	for _, c := range chain {
		if c == j {
			return 1
		}
	}
	if country(j) == country(chain[0]) {
		return p.OtherCity
	}
	return p.OtherLand
}

// query builds the bleve queries for a question: its words analyzed as each language of the
// index would, against that language's fields (with near misses of long words), and its
// trigrams against the language-neutral fields. Terms no document has are left out.
func (x *index) query(text, lang string, concepts map[int][]int, p *params) []query.Query {
	var langQs []query.Query
	for _, l := range x.langs {
		an := x.m.AnalyzerNamed(analyzerFor(l))
		if an == nil {
			continue
		}
		terms := uniqueTerms(an.Analyze([]byte(text)))
		if len(terms) == 0 {
			continue
		}
		boost := 1.0
		if l == lang {
			boost = p.UserLang
		}
		var fqs []query.Query
		if kq := x.termsQuery(fieldKey+l, terms, p, true); kq != nil {
			kq.SetBoost(p.Key * boost)
			fqs = append(fqs, kq)
		}
		if bq := x.termsQuery(fieldBody+l, terms, p, true); bq != nil {
			bq.SetBoost(p.Body * boost)
			fqs = append(fqs, bq)
		}
		if len(fqs) > 0 {
			langQs = append(langQs, query.NewDisjunctionQuery(fqs))
		}
	}
	var parts []query.Query
	if len(langQs) > 0 {
		wq := query.NewDisjunctionQuery(langQs)
		wq.SetBoost(p.Word)
		parts = append(parts, wq)
	}
	if an := x.m.AnalyzerNamed(anGrams); an != nil {
		grams := uniqueTerms(an.Analyze([]byte(text)))
		var nqs []query.Query
		if nk := x.termsQuery(fieldNKey, grams, p, false); nk != nil {
			nk.SetBoost(p.NKey)
			nqs = append(nqs, nk)
		}
		if nb := x.termsQuery(fieldNBody, grams, p, false); nb != nil {
			nb.SetBoost(p.NBody)
			nqs = append(nqs, nb)
		}
		if len(nqs) > 0 {
			parts = append(parts, query.NewDisjunctionQuery(nqs))
		}
	}
	if eq := x.conceptQuery(concepts, p); eq != nil {
		parts = append(parts, eq)
	}
	return parts
}

// conceptQuery matches the glossary concepts the question names against the concepts
// found in each version's title and aliases (ck) and body (cb), whatever their language.
func (x *index) conceptQuery(concepts map[int][]int, p *params) query.Query {
	if len(concepts) == 0 || p.Concept == 0 {
		return nil
	}
	ids := make([]int, 0, len(concepts))
	for c := range concepts {
		ids = append(ids, c)
	}
	sort.Ints(ids) // map order must not change the query
	terms := make([]string, len(ids))
	for i, c := range ids {
		terms[i] = x.gloss.token(c)
	}
	var qs []query.Query
	if kq := x.termsQuery(fieldCKey, terms, p, false); kq != nil {
		kq.SetBoost(p.Key)
		qs = append(qs, kq)
	}
	if bq := x.termsQuery(fieldCBody, terms, p, false); bq != nil {
		bq.SetBoost(p.Body)
		qs = append(qs, bq)
	}
	if len(qs) == 0 {
		return nil
	}
	cq := query.NewDisjunctionQuery(qs)
	cq.SetBoost(p.Concept)
	return cq
}

// termsQuery matches any of terms in field and, when fuzzy, the near misses of long ones.
// Terms the field does not have are left out (p.Prune) or kept for the coordination factor.
func (x *index) termsQuery(field string, terms []string, p *params, fuzzy bool) *query.DisjunctionQuery {
	qs := make([]query.Query, 0, len(terms))
	for _, t := range terms {
		if !fuzzy && x.dict.common(field, t, p.MaxShare) {
			continue
		}
		if !p.Prune || x.dict.has(field, t) {
			tq := query.NewTermQuery(t)
			tq.SetField(field)
			qs = append(qs, tq)
		}
		if fuzzy && p.Fuzzy > 0 {
			for _, c := range x.dict.near(field, t) {
				fq := query.NewTermQuery(c)
				fq.SetField(field)
				fq.SetBoost(p.Fuzzy)
				qs = append(qs, fq)
			}
		}
	}
	if len(qs) == 0 {
		return nil
	}
	return query.NewDisjunctionQuery(qs)
}

func uniqueTerms(ts []*analysisToken) []string {
	seen := make(map[string]bool, len(ts))
	out := make([]string, 0, len(ts))
	for _, t := range ts {
		s := string(t.Term)
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// Coverage: how much of a question an article's vocabulary (every version, any script) covers,
// with tolerance for one typo and for word endings; each query word weighs by its rarity.

type bitset []uint64

func (s bitset) set(i int)      { s[i/64] |= 1 << (i % 64) }
func (s bitset) has(i int) bool { return s[i/64]&(1<<(i%64)) != 0 }
func (s bitset) or(t bitset) {
	for i := range t {
		s[i] |= t[i]
	}
}
func (s bitset) count() int {
	n := 0
	for _, w := range s {
		n += bits.OnesCount64(w)
	}
	return n
}

type vocabulary struct {
	n       int               // articles
	exact   map[string]bitset // squeezed word → articles
	deletes map[string]bitset // squeezed word minus one letter → articles
	prefix  map[string]bitset // the first prefixLen letters of longer words → articles
}

const prefixLen = 6

func newVocabulary(arts []*Article) *vocabulary {
	v := &vocabulary{n: len(arts), exact: map[string]bitset{}, deletes: map[string]bitset{}, prefix: map[string]bitset{}}
	add := func(m map[string]bitset, k string, i int) {
		s := m[k]
		if s == nil {
			s = make(bitset, (v.n+63)/64)
			m[k] = s
		}
		s.set(i)
	}
	for i, a := range arts {
		for _, ver := range a.Versions {
			text := ver.Title + "\n" + strings.Join(ver.Aliases, "\n") + "\n" + plainText(ver.Body)
			for _, w := range words(fold(text)) {
				w = squeeze(w)
				rs := []rune(w)
				if len(rs) < 3 && !han(w) && !level(w) {
					continue
				}
				add(v.exact, w, i)
				if len(rs) >= 4 {
					for j := range rs {
						add(v.deletes, string(rs[:j])+string(rs[j+1:]), i)
					}
				}
				if len(rs) > prefixLen {
					add(v.prefix, string(rs[:prefixLen]), i)
				}
			}
		}
	}
	return v
}

// articles returns the articles whose vocabulary has w, and those that have a word one
// edit away (for words of five letters or more) or, for long words, the same beginning.
func (v *vocabulary) articles(w string) (exact, near bitset) {
	exact = make(bitset, (v.n+63)/64)
	near = make(bitset, (v.n+63)/64)
	rs := []rune(w)
	if s := v.exact[w]; s != nil {
		exact.or(s)
	}
	if len(rs) >= 5 {
		if s := v.deletes[w]; s != nil { // w lacks a letter of a vocabulary word
			near.or(s)
		}
		for j := range rs {
			d := string(rs[:j]) + string(rs[j+1:])
			if s := v.exact[d]; s != nil { // w has an extra letter
				near.or(s)
			}
			if len(rs) >= 6 {
				if s := v.deletes[d]; s != nil { // one letter differs
					near.or(s)
				}
			}
		}
	}
	if len(rs) > prefixLen {
		if s := v.prefix[string(rs[:prefixLen])]; s != nil {
			near.or(s)
		}
	}
	return exact, near
}

type coverage struct {
	weights []float64
	exact   []bitset // articles that have the word (or its glossary concept)
	near    []bitset // articles that have a word one typo away, or with the same beginning
	total   float64
}

// coverage weighs the content words of a question (folded words): a word found in many
// articles weighs little, one found in none (weather, football) weighs most.
// A word that names a glossary concept is found in the articles that have any of the
// concept's words, in any language. A near miss counts half.
func (x *index) coverage(qwords []string, concepts map[int][]int) coverage {
	v := x.vocab
	var c coverage
	seen := map[string]bool{}
	byPos := map[int][]int{}
	for ci, pos := range concepts {
		for _, i := range pos {
			byPos[i] = append(byPos[i], ci)
		}
	}
	for i, w := range qwords {
		w = squeeze(w)
		short := utf8.RuneCountInString(w) < 3 && !han(w) && !level(w) // a Chinese character is a word
		if (short || x.stop[w]) && len(byPos[i]) == 0 || seen[w] {
			continue
		}
		if defaultPlaces.isPlace(qwords[i]) {
			continue // where, not what: the jurisdiction factor takes care of it
		}
		seen[w] = true
		exact, near := v.articles(w)
		for _, ci := range byPos[i] {
			exact.or(x.conceptArts[ci])
		}
		df := exact.count()
		if float64(df) > 0.5*float64(v.n) && v.n >= 4 {
			continue // says nothing about which article
		}
		wt := math.Log(1 + float64(v.n)/float64(1+df))
		c.weights = append(c.weights, wt)
		c.exact = append(c.exact, exact)
		c.near = append(c.near, near)
		c.total += wt
	}
	return c
}

// share is the weighted share of the question's words that article i has.
func (c coverage) share(i int) float64 {
	if c.total == 0 {
		return 0
	}
	var got float64
	for k, s := range c.exact {
		if s.has(i) {
			got += c.weights[k]
		} else if c.near[k].has(i) {
			got += c.weights[k] / 2
		}
	}
	return got / c.total
}

type analysisToken = analysis.Token

// chatWords are greetings and fillers of chat messages, in the languages of the desks' users.
const chatWords = `hi hello hey please pls plz thanks thank bro sis sir madam ok okay yes no
	ciao salve buongiorno buonasera grazie prego per favore scusa scusi aiuto
	hallo guten tag danke bitte
	bonjour merci salut svp hola gracias
	привіт привет дякую спасибо будь ласка пожалуйста допоможіть помогите
	سلام السلام عليكم مرحبا شكرا من فضلك لو سمحت يا اخي اخي اخوي
	شحال بشحال باش بغيت بغينا واش لازم نقدر يقدر كيفاش كيف عندي ديال تاع راني بدي شو ايش ليش هل ممكن عايز عاوز ابغى ابي ابا
	assalamualaikum salam slm bhai bhaiya vai apa didi dada ji janab shukriya dhonnobad dhanyabad
	নমস্কার ধন্যবাদ ভাই আপা দাদা শুক্রিয়া جی بھائی شکریہ`

// stopWords is the union of bleve's stop lists, ours and chatWords, folded and squeezed.
func stopWords() (map[string]bool, error) {
	cache := registry.NewCache()
	out := map[string]bool{}
	add := func(w string) {
		for _, x := range words(fold(w)) {
			out[squeeze(x)] = true
		}
	}
	for _, name := range []string{"stop_ar", "stop_bg", "stop_de", "stop_en", "stop_es", "stop_fr", "stop_it", "stop_ru",
		"stop_pt", "stop_nl", "stop_tr", "stop_fa", "stop_hi", "stop_ro"} {
		tm, err := cache.TokenMapNamed(name)
		if err != nil {
			return nil, err
		}
		for w := range tm {
			add(w)
		}
	}
	for _, list := range []string{stopUK, stopBN, stopUR, chatWords} {
		add(list)
	}
	return out, nil
}

// han reports whether w is a single Chinese character (words splits Chinese text into them).
func han(w string) bool {
	r, size := utf8.DecodeRuneInString(w)
	return size == len(w) && unicode.Is(unicode.Han, r)
}

// level reports whether w is a two-character code such as a language level ("a2", "b1"): short,
// but it says exactly which article a question is about.
func level(w string) bool {
	return len(w) == 2 && w[0] >= 'a' && w[0] <= 'z' && w[1] >= '0' && w[1] <= '9'
}
