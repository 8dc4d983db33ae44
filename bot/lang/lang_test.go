package lang

import "testing"

var all = []string{"it", "en", "ar", "uk", "fr", "es", "de", "bg", "bn", "ur", "ru", "zh", "sq", "ro", "pa", "tl", "wo", "ti"}

func TestDetect(t *testing.T) {
	d := NewDetector(all)
	cases := []struct{ text, want string }{
		{"quanto costa il rinnovo del permesso?", "it"},
		{"how much does the renewal cost", "en"},
		{"كم تكلفة تجديد الإقامة", "ar"},
		{"شحال كيسوا البرمسو", "ar"},
		{"میرا پرمیسو ختم ہو گیا ہے", "ur"},
		{"mera permesso khatam ho gaya hai kya karna chahiye", "ur"},
		{"amar permesso shesh hoye geche ki korbo", "bn"},
		{"আমার পারমিট শেষ হয়ে গেছে", "bn"},
		{"скільки коштує продовження посвідки", "uk"},
		{"сколько стоит продление вида на жительство", "ru"},
		{"колко струва подновяването на разрешението, ъъъ", "bg"},
		{"续签居留许可要多少钱", "zh"},
		{"combien coûte le renouvellement du titre de séjour", "fr"},
		{"cuánto cuesta renovar el permiso", "es"},
		{"wie lange dauert die Einbürgerung in Jena", "de"},
		{"magkano po ang renewal ng permesso", "tl"},
	}
	for _, c := range cases {
		if got, _ := d.Detect(c.text); got != c.want {
			t.Errorf("Detect(%q) = %q, want %q", c.text, got, c.want)
		}
	}
}

func TestDetectOnlyAmongSupported(t *testing.T) {
	d := NewDetector([]string{"it", "en", "ar"})
	if got, _ := d.Detect("میرا پرمیسو ختم ہو گیا ہے"); got != "ar" {
		t.Errorf("Urdu text with only ar supported: %q", got)
	}
	if got, ok := d.Detect("скільки коштує"); ok || got != "" {
		t.Errorf("Cyrillic with no Cyrillic language supported: %q, %v", got, ok)
	}
	if _, ok := d.Detect("ok"); ok {
		t.Error("one ambiguous word should not be a confident guess")
	}
}

func TestNormalize(t *testing.T) {
	for in, want := range map[string]string{"bn-Latn": "bn", "PT_br": "pt", "zh-Hans-CN": "zh", "": "", "x": "", "12": "", " ar ": "ar", "english": ""} {
		if got := Normalize(in); got != want {
			t.Errorf("Normalize(%q) = %q, want %q", in, got, want)
		}
	}
}
