package knowledge

import (
	"strings"
	"unicode/utf8"

	"github.com/blevesearch/bleve/v2/analysis"
	"github.com/blevesearch/bleve/v2/analysis/analyzer/custom"
	"github.com/blevesearch/bleve/v2/analysis/lang/bg"
	"github.com/blevesearch/bleve/v2/analysis/tokenizer/unicode"
	"github.com/blevesearch/bleve/v2/mapping"
	"github.com/blevesearch/bleve/v2/registry"

	// bleve's language analyzers, registered by import.
	_ "github.com/blevesearch/bleve/v2/analysis/lang/ar"
	_ "github.com/blevesearch/bleve/v2/analysis/lang/cjk"
	_ "github.com/blevesearch/bleve/v2/analysis/lang/de"
	_ "github.com/blevesearch/bleve/v2/analysis/lang/en"
	_ "github.com/blevesearch/bleve/v2/analysis/lang/es"
	_ "github.com/blevesearch/bleve/v2/analysis/lang/fa"
	_ "github.com/blevesearch/bleve/v2/analysis/lang/fr"
	_ "github.com/blevesearch/bleve/v2/analysis/lang/hi"
	_ "github.com/blevesearch/bleve/v2/analysis/lang/it"
	_ "github.com/blevesearch/bleve/v2/analysis/lang/nl"
	_ "github.com/blevesearch/bleve/v2/analysis/lang/pt"
	_ "github.com/blevesearch/bleve/v2/analysis/lang/ro"
	_ "github.com/blevesearch/bleve/v2/analysis/lang/ru"
	_ "github.com/blevesearch/bleve/v2/analysis/lang/tr"
)

// Analysis.
//
// Every version is indexed twice. Its language fields (k_<lang> for title and aliases,
// b_<lang> for the body) use bleve's analyzer for the language where bleve has one
// (builtinAnalyzers), else one of ours: unicode words, folded (fold), without the language's
// stop words, through a light suffix stemmer (uk, bg, bn) — Bengali and Urdu stop lists also
// hold their romanized forms. The language-neutral fields (nk for title and aliases, nb for the
// body) hold, for every version, the folded and squeezed words cut into character trigrams with
// word-boundary marks, plus the whole words: a query in any language or script, with typos or
// doubled letters dropped, shares trigrams with the aliases it means.

// builtinAnalyzers maps a language to the bleve analyzer used for its fields.
var builtinAnalyzers = map[string]string{
	"it": "it", "en": "en", "ar": "ar", "fr": "fr", "es": "es", "de": "de", "ru": "ru", "zh": "cjk", "ja": "cjk", "ko": "cjk",
	"pt": "pt", "nl": "nl", "tr": "tr", "fa": "fa", "hi": "hi", "ro": "ro",
}

// Our analyzers and filters (names are prefixed: bleve's registry is global).
const (
	anGrams   = "sportello_grams"
	anGeneric = "sportello_generic"
	fFold     = "sportello_fold"
	fGrams    = "sportello_grams"
	fStopPref = "sportello_stop_"
	fStemPref = "sportello_stem_"
)

// customLangs are the languages with an analyzer of ours: stop words and, where given, a stemmer.
var customLangs = map[string]struct {
	stop string
	stem func(string) string
}{
	"uk": {stopUK, stemUK},
	"bg": {"", stemBG},
	"bn": {stopBN, stemBN},
	"ur": {stopUR, nil},
}

// analyzerFor is the analyzer name for a language's fields.
func analyzerFor(lang string) string {
	if a, ok := builtinAnalyzers[lang]; ok {
		return a
	}
	if _, ok := customLangs[lang]; ok {
		return "sportello_" + lang
	}
	return anGeneric
}

// addAnalyzers declares our custom analyzers in m.
func addAnalyzers(m *mapping.IndexMappingImpl) error {
	def := func(name string, filters ...string) error {
		return m.AddCustomAnalyzer(name, map[string]any{
			"type": custom.Name, "tokenizer": unicode.Name, "token_filters": filters,
		})
	}
	if err := def(anGrams, fFold, fGrams); err != nil {
		return err
	}
	if err := def(anGeneric, fFold); err != nil {
		return err
	}
	for l, c := range customLangs {
		filters := []string{fFold}
		if l == "bg" {
			filters = append(filters, bg.StopName)
		} else if c.stop != "" {
			filters = append(filters, fStopPref+l)
		}
		if c.stem != nil {
			filters = append(filters, fStemPref+l)
		}
		if err := def("sportello_"+l, filters...); err != nil {
			return err
		}
	}
	return nil
}

func init() {
	must := func(err error) {
		if err != nil {
			panic(err)
		}
	}
	must(registry.RegisterTokenFilter(fFold, func(map[string]any, *registry.Cache) (analysis.TokenFilter, error) {
		return foldFilter{}, nil
	}))
	must(registry.RegisterTokenFilter(fGrams, func(map[string]any, *registry.Cache) (analysis.TokenFilter, error) {
		return gramFilter{}, nil
	}))
	for l, c := range customLangs {
		if c.stop != "" {
			set := map[string]bool{}
			for _, w := range words(fold(c.stop)) {
				set[w] = true
			}
			must(registry.RegisterTokenFilter(fStopPref+l, func(map[string]any, *registry.Cache) (analysis.TokenFilter, error) {
				return stopFilter(set), nil
			}))
		}
		if c.stem != nil {
			stem := c.stem
			must(registry.RegisterTokenFilter(fStemPref+l, func(map[string]any, *registry.Cache) (analysis.TokenFilter, error) {
				return stemFilter(stem), nil
			}))
		}
	}
}

// foldFilter folds each token (see fold) and splits it into words (l'ufficio → l, ufficio).
type foldFilter struct{}

func (foldFilter) Filter(in analysis.TokenStream) analysis.TokenStream {
	out := make(analysis.TokenStream, 0, len(in))
	for _, t := range in {
		for _, w := range words(fold(string(t.Term))) {
			nt := *t
			nt.Term = []byte(w)
			out = append(out, &nt)
		}
	}
	return out
}

// gramFilter turns each word into its squeezed form's boundary-marked trigrams ("_so", "sog", …,
// "no_") and, for words of four letters or more, the squeezed word itself and its consonant
// skeleton (see skeleton).
type gramFilter struct{}

func (gramFilter) Filter(in analysis.TokenStream) analysis.TokenStream {
	out := make(analysis.TokenStream, 0, len(in)*6)
	for _, t := range in {
		for _, g := range grams(string(t.Term)) {
			nt := *t
			nt.Term = []byte(g)
			out = append(out, &nt)
		}
	}
	return out
}

// grams is what gramFilter makes of one folded word.
func grams(w string) []string {
	w = squeeze(w)
	n := utf8.RuneCountInString(w)
	if n < 3 {
		return nil
	}
	rs := []rune("_" + w + "_")
	out := make([]string, 0, len(rs)-1)
	for i := 0; i+3 <= len(rs); i++ {
		out = append(out, string(rs[i:i+3]))
	}
	if n >= 4 {
		out = append(out, w)
		if sk := skeleton(w); utf8.RuneCountInString(sk) >= 3 {
			out = append(out, "#"+sk)
		}
	}
	return out
}

// skeleton is the consonants of a Latin-letter word, without an h after a consonant and
// without repeats: romanized spellings differ mostly in vowels and h ("nobayon" / "nabayan",
// "shehriyat" / "shahriyat"). "" for other scripts.
func skeleton(w string) string {
	var b strings.Builder
	var prev rune
	prevCons := false
	for _, r := range w {
		if r < 'a' || r > 'z' {
			return ""
		}
		switch r {
		case 'a', 'e', 'i', 'o', 'u':
			prevCons = false
			continue
		case 'h':
			if prevCons {
				continue
			}
		case 'w':
			r = 'v'
		}
		if r != prev || !prevCons {
			b.WriteRune(r)
		}
		prev, prevCons = r, true
	}
	return b.String()
}

type stopFilter map[string]bool

func (s stopFilter) Filter(in analysis.TokenStream) analysis.TokenStream {
	out := in[:0]
	for _, t := range in {
		if !s[string(t.Term)] {
			out = append(out, t)
		}
	}
	return out
}

type stemFilter func(string) string

func (f stemFilter) Filter(in analysis.TokenStream) analysis.TokenStream {
	for _, t := range in {
		t.Term = []byte(f(string(t.Term)))
	}
	return in
}

// stripSuffix removes the longest of suffixes that leaves at least min runes.
func stripSuffix(w string, min int, suffixes []string) string {
	n := utf8.RuneCountInString(w)
	for _, s := range suffixes { // longest first
		if strings.HasSuffix(w, s) && n-utf8.RuneCountInString(s) >= min {
			return w[:len(w)-len(s)]
		}
	}
	return w
}

// Ukrainian: a light stemmer over folded text (й → и, ї → і), reflexive ending first.
var ukSuffixes = sortLongestFirst(strings.Fields(`
	ування ювання ання яння ення іння ість ості
	ували ювали ують ють ати яти ити іти ути увати ювати ував ював
	ала яла ила іла ало яло ило ули али яли или ать ять ить уть еш єш ємо ете
	ами ями ові еві ого ього ому ьому ими іми ої их ах ях ам ям ою ею ів їв ей ом ем ий ій их іх им ім ия
	а я о е є у ю і ї и ь
`))

func stemUK(w string) string {
	if !isCyrillic(w) {
		return w
	}
	for _, r := range []string{"ся", "сь"} {
		if strings.HasSuffix(w, r) && utf8.RuneCountInString(w) > 5 {
			w = strings.TrimSuffix(w, r)
			break
		}
	}
	return stripSuffix(w, 3, ukSuffixes)
}

// Bulgarian: after Lucene's BulgarianStemmer (Savoy's light stemmer).
func stemBG(w string) string {
	if !isCyrillic(w) {
		return w
	}
	s := []rune(w)
	n := len(s)
	if n < 4 {
		return w
	}
	ends := func(suf string) bool {
		r := []rune(suf)
		return n >= len(r) && string(s[n-len(r):n]) == suf
	}
	if n > 5 && ends("ища") {
		return string(s[:n-3])
	}
	// articles
	switch {
	case n > 6 && ends("ият"):
		n -= 3
	case n > 5 && (ends("ът") || ends("то") || ends("те") || ends("та") || ends("ия")):
		n -= 2
	case n > 4 && ends("ят"):
		n -= 2
	}
	// plurals
	switch {
	case n > 6 && ends("овци"):
		n -= 3
	case n > 6 && ends("ове"):
		n -= 3
	case n > 6 && ends("еве"):
		s[n-3] = 'й'
		n -= 2
	case n > 5 && ends("ища"):
		n -= 3
	case n > 5 && ends("та"):
		n -= 2
	case n > 5 && ends("ци"):
		s[n-2] = 'к'
		n--
	case n > 5 && ends("зи"):
		s[n-2] = 'г'
		n--
	case n > 5 && s[n-3] == 'е' && s[n-1] == 'и':
		s[n-3] = 'я'
		n--
	case n > 4 && ends("си"):
		s[n-2] = 'х'
		n--
	case n > 4 && ends("и"):
		n--
	}
	if n > 3 && (ends("я") || ends("а") || ends("о") || ends("е")) {
		n--
	}
	if n > 4 && ends("ен") {
		s[n-2] = 'н'
		n--
	}
	if n > 5 && s[n-2] == 'ъ' {
		s[n-2] = s[n-1]
		n--
	}
	return string(s[:n])
}

// Bengali: strips the commonest case and plural endings and classifiers.
var bnSuffixes = sortLongestFirst(strings.Fields(`
	গুলোর গুলির গুলোকে গুলিকে গুলো গুলি দেরকে দের েরা ের টার টির টাকে টিকে টা টি য়ের য়ে কে তে রা র ে
`))

func stemBN(w string) string {
	if !isBengali(w) {
		return w
	}
	return stripSuffix(w, 2, bnSuffixes)
}

func isCyrillic(w string) bool {
	r, _ := utf8.DecodeRuneInString(w)
	return r >= 0x0400 && r <= 0x04FF
}

func isBengali(w string) bool {
	r, _ := utf8.DecodeRuneInString(w)
	return r >= 0x0980 && r <= 0x09FF
}

func sortLongestFirst(ss []string) []string {
	seen := map[string]bool{}
	out := ss[:0]
	for _, s := range ss {
		s = fold(s)
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && utf8.RuneCountInString(out[j]) > utf8.RuneCountInString(out[j-1]); j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

// Stop words for our own analyzers (folded at start-up); Bengali and Urdu with romanized forms.
const (
	stopUK = `і й та але а що як де коли чи не ні в у на з із зі до від для по за про це цей ця ці цього той та
		я мені мене мій моя моє мої ти тебе твій ви вас ваш він вона воно ми нас наш вони їх є бути було буде був була
		треба можна мати маю має тому так ну ось вже ще би б же лише також або якщо хто яка який яке які чому`
	stopBN = `আমি আমার আমাকে আমরা আপনি আপনার তুমি তোমার সে তার কি কী কিভাবে কীভাবে কোথায় কখন কেন কত এবং ও এর এই সেই
		যে না হয় হবে আছে আছি আছেন করতে করব করবো জন্য থেকে দিয়ে একটা একটি কোন কোনো বা তাহলে
		ami amar amake amra apni apnar tumi tomar ki kivabe kibhabe kivaabe kothay kokhon keno ebong er ei sei je na
		hoy hobe ache achi korte korbo jonno theke diye ekta kon ba tahole plz please bhai vai
		pete pabo lagbe lage lagey chai chaile hoye hoyeche geche gese parbo pari jabo jete kore korse koro bolen bolben
		dorkar dorkar ase ase ache kivabe kemne kemon ekhon ekhane amader`
	stopUR = `کا کی کے کو میں سے پر اور یہ وہ ہے ہیں تھا تھی تھے کیا کیسے کب کہاں کیوں بھی نہیں ہو ہوں گا گی گے اگر تو جی ایک
		مجھے میرا میری میرے ہم آپ آپکا آپ کا
		ka ki ke ko mein main mai se par pe aur ye yeh wo woh hai hain he tha thi the kya kaise kaisay kab kahan kyun
		bhi nahi nahin ho hon ga gi ge agar to ji ek mujhe mera meri mere hum ap aap plz please bhai
		chahiye chahie karna karne karen karein kar lagta lagte lagti hota hoti hoga hogi sakta sakti sakte milega milegi
		gaya gayi gaye raha rahi rahe wala wali liye lie abhi yahan wahan hamein humein`
)
