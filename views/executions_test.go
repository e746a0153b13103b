package views

import "testing"

// The execution log names outcomes in words and says why a command failed
// in a sentence, whatever a module's error text looks like.
func TestExecutionOutcomesInWords(t *testing.T) {
	for o, want := range map[string]string{"ok": "answered", "denied": "not allowed", "rate_limited": "cooldown", "refused": "refused", "error": "failed", "new_kind": "new_kind"} {
		if got := OutcomeLabel(o); got != want {
			t.Errorf("OutcomeLabel(%q) = %q, want %q", o, got, want)
		}
	}
	for err, want := range map[string]string{
		`invoke webhook https://10.0.0.7/hook: dial 10.0.0.7:443: address not allowed`:                        "The module's address is private or local, so Waddle did not call it.",
		`invoke webhook https://mod.example/hook: Post "https://mod.example/hook": context deadline exceeded`: "The module took too long to answer.",
		`invoke webhook https://mod.example/hook: dial tcp 203.0.113.9:443: connect: connection refused`:      "The module's address could not be reached.",
		`invoke webhook https://mod.example/hook: circuit open: target is failing, calls are paused`:          "The module failed several times in a row; calls are paused for a while.",
		`invoke webhook https://mod.example/hook: response is not JSON`:                                       "The module's answer was not the JSON Waddle expects.",
		`invoke webhook https://mod.example/hook: status 502`:                                                 "The module answered with an error.",
		``:                 "The command failed.",
		"\x00\xff garbage": "The command failed.",
	} {
		if got := ErrorSummary(err); got != want {
			t.Errorf("ErrorSummary(%q) = %q, want %q", err, got, want)
		}
	}
}
