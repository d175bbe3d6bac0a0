package call

import (
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/acd"
	"github.com/switchboard/switchboard/internal/prompts"
)

func TestAnnouncementSequences(t *testing.T) {
	all := experience{interval: 30 * time.Second, position: true, ewt: true, voicemail: true, callback: true}
	waiting := func(pos int, ewt time.Duration) acd.WaitInfo {
		return acd.WaitInfo{Queue: "8000", State: "waiting", Position: pos, EWT: ewt, EWTKnown: ewt >= 0}
	}
	for _, c := range []struct {
		name        string
		names       []string
		want        string
		canCallback bool
	}{
		{"greeting", greetingNames(all, true), "busy pause press1 pause press2", true},
		{"greeting, no number to call back", greetingNames(all, false), "busy pause press1", false},
		{"greeting, no options", greetingNames(experience{}, true), "busy", true},
		{"position and wait", periodicNames(all, waiting(3, 150*time.Second), true),
			"position n03 pause ewt n03 minutes pause press1 pause press2", true},
		{"under a minute is one minute", periodicNames(all, waiting(1, 20*time.Second), false),
			"position n01 pause ewt n01 minute pause press1", false},
		{"no wait yet is one minute", periodicNames(all, waiting(1, 0), false),
			"position n01 pause ewt n01 minute pause press1", false},
		{"ten minutes", periodicNames(all, waiting(25, 10*time.Minute), false),
			"position more_than_twenty pause ewt n10 minutes pause press1", false},
		{"more than ten minutes", periodicNames(all, waiting(2, 10*time.Minute+time.Second), false),
			"position n02 pause ewt more_than_ten_minutes pause press1", false},
		{"wait unknown", periodicNames(all, waiting(2, -1), false), "position n02 pause press1", false},
		{"position off", periodicNames(experience{ewt: true, callback: true}, waiting(2, 3*time.Minute), true),
			"ewt n03 minutes pause press2", true},
		{"only options, no leading pause", periodicNames(experience{voicemail: true}, waiting(2, time.Minute), true),
			"press1", true},
		{"nothing to say", periodicNames(experience{}, waiting(2, time.Minute), true), "", true},
	} {
		if got := strings.Join(c.names, " "); got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
}

// TestAnnouncementPromptsExist: every name the sequences use is a
// shipped prompt (or the pause), so nothing is silently skipped.
func TestAnnouncementPromptsExist(t *testing.T) {
	m := &Manager{log: slog.New(slog.DiscardHandler)}
	x := experience{position: true, ewt: true, voicemail: true, callback: true}
	var names []string
	names = append(names, greetingNames(x, true)...)
	for pos := 1; pos <= 22; pos++ {
		for _, d := range []time.Duration{0, 90 * time.Second, 11 * time.Minute} {
			names = append(names, periodicNames(x, acd.WaitInfo{Position: pos, EWT: d, EWTKnown: true}, true)...)
		}
	}
	names = append(names, prompts.LeaveMessage, prompts.Tone, prompts.Goodbye, prompts.CallbackThanks)
	slices.Sort(names)
	names = slices.Compact(names)
	if seq := m.promptSeq(names...); len(seq) != len(names) {
		t.Fatalf("%d of %d prompts found for %v", len(seq), len(names), names)
	}
}
