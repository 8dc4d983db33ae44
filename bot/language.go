package bot

import (
	"slices"

	"github.com/sportello/sportello/bot/lang"
)

// Languages settles which language a conversation is held in.
type Languages struct {
	Supported []string                 // language codes with complete UI strings
	Default   string                   // used when nothing else decides
	DeskLang  func(desk string) string // a desk's default language, "" if unknown
	detector  *lang.Detector
}

// NewLanguages prepares language settlement for the supported codes.
func NewLanguages(supported []string, def string, deskLang func(string) string) *Languages {
	return &Languages{Supported: supported, Default: def, DeskLang: deskLang, detector: lang.NewDetector(supported)}
}

// IsSupported reports whether code is a supported language.
func (l *Languages) IsSupported(code string) bool { return slices.Contains(l.Supported, code) }

// Detect guesses the language of a text among the supported ones.
func (l *Languages) Detect(text string) (string, bool) { return l.detector.Detect(text) }

// Settle sets s.Lang for this message. Order: the user's explicit choice (in the channel or
// earlier); a confident detection from the text; the language this conversation already uses;
// the channel's hint; the desk's default; the global default. A confident detection beats the
// hint because a phone set to English says less about a user than the Arabic they just typed;
// a button press or an unclear word keeps the language the conversation is in.
func (l *Languages) Settle(s *Session, in Inbound) {
	if code := lang.Normalize(in.Lang); l.IsSupported(code) {
		s.Lang, s.LangChosen = code, true
		return
	}
	if s.LangChosen && l.IsSupported(s.Lang) {
		return
	}
	if in.Text != "" && in.Action == "" {
		if detected, confident := l.detector.Detect(in.Text); confident {
			s.Lang = detected
			return
		}
	}
	if l.IsSupported(s.Lang) {
		return
	}
	if hint := lang.Normalize(in.LangHint); l.IsSupported(hint) {
		s.Lang = hint
		return
	}
	if l.DeskLang != nil && l.IsSupported(l.DeskLang(s.Desk)) {
		s.Lang = l.DeskLang(s.Desk)
		return
	}
	s.Lang = l.Default
}
