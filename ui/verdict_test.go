package ui

import (
	"testing"

	"agentwatch/reconcile"
)

// TestEveryWordHasALook: a verdict or a finding kind added to reconcile
// without its row in looks fails here, not on the screen.
func TestEveryWordHasALook(t *testing.T) {
	words := map[string]string{}
	for _, v := range reconcile.Verdicts {
		words[string(v)] = "verdict"
	}
	for _, k := range reconcile.FindingKinds {
		if words[string(k)] == "" {
			words[string(k)] = "finding kind"
		}
	}
	for w, what := range words {
		t.Run(w, func(t *testing.T) {
			l, ok := looks[w]
			switch {
			case !ok:
				t.Fatalf("%s %q: got no row in looks, want one", what, w)
			case l.glyph == "" || l.meaning == "":
				t.Errorf("%s %q: got glyph %q, meaning %q; want both", what, w, l.glyph, l.meaning)
			case what == "finding kind" && l.short == "":
				t.Errorf("finding kind %q is no verdict: got no short word, want one for its own rows", w)
			}
			label := verdictLabel(w)
			if l.short != "" {
				label = findingLabel(reconcile.FindingKind(w))
			}
			if lipglossWidth(label) > verdictWidth {
				t.Errorf("%s %q: got label %q, want it no wider than %d", what, w, label, verdictWidth)
			}
		})
	}
	for w := range looks {
		if words[w] == "" {
			t.Errorf("looks has a row for %q, which is no verdict and no finding kind", w)
		}
	}
}
