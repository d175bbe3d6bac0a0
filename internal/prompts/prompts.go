// Package prompts holds the announcements a queued caller hears (SPEC Q5,
// O3): "all our agents are busy", their position, the expected wait, the
// options to leave a message or be called back. They are 8 kHz mono
// 16-bit PCM WAV files spoken by espeak-ng at development time
// (scripts/gen-prompts.sh, or `go generate ./internal/prompts`) and
// embedded in the binary, so nothing has to be installed where
// Switchboard runs. The speech is ours: espeak-ng's licence covers the
// program, not what it says.
package prompts

//go:generate ../../scripts/gen-prompts.sh

import (
	"embed"
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/switchboard/switchboard/internal/media"
)

//go:embed wav/*.wav
var files embed.FS

// Names of the prompts. Numbers are Number(n).
const (
	Busy               = "busy"                  // "All our agents are busy. Please hold."
	Position           = "position"              // "You are caller number"
	MoreThanTwenty     = "more_than_twenty"      // "more than twenty"
	EWT                = "ewt"                   // "Your expected waiting time is about"
	Minute             = "minute"                // "minute"
	Minutes            = "minutes"               // "minutes"
	MoreThanTenMinutes = "more_than_ten_minutes" // "more than ten minutes"
	Press1             = "press1"                // "Press 1 to leave a message."
	Press2             = "press2"                // "Press 2 to be called back."
	LeaveMessage       = "leave_message"         // "Please leave your message after the tone."
	Tone               = "tone"                  // the beep before a message: 1 kHz, 400 ms
	CallbackThanks     = "callback_thanks"       // "Thank you. We will call you back."
	Goodbye            = "goodbye"               // "Thank you. Goodbye."
)

// MaxNumber is the highest number spoken; above it, MoreThanTwenty.
const MaxNumber = 20

// Number is the name of the prompt saying n (1 to MaxNumber); above,
// MoreThanTwenty. n below 1 has no prompt: "".
func Number(n int) string {
	switch {
	case n < 1:
		return ""
	case n > MaxNumber:
		return MoreThanTwenty
	}
	return fmt.Sprintf("n%02d", n)
}

// Names lists every prompt, sorted.
func Names() []string {
	entries, err := files.ReadDir("wav")
	if err != nil {
		panic(err) // embedded: cannot fail
	}
	var out []string
	for _, e := range entries {
		out = append(out, strings.TrimSuffix(e.Name(), ".wav"))
	}
	slices.Sort(out)
	return out
}

// PCM returns the named prompt as 8 kHz mono linear PCM.
func PCM(name string) ([]int16, error) {
	b, err := files.ReadFile(path.Join("wav", name+".wav"))
	if err != nil {
		return nil, fmt.Errorf("prompt %q: %w", name, err)
	}
	pcm, err := media.DecodeWAV(b)
	if err != nil {
		return nil, fmt.Errorf("prompt %q: %w", name, err)
	}
	return pcm, nil
}

// Library is every prompt encoded for the media engine, by name.
type Library map[string]*media.Prompt

// frame is one 20 ms RTP frame at 8 kHz.
const frame = 160

// Load decodes and encodes every prompt (about half a megabyte of PCM;
// once per process). Each is padded with silence to whole 20 ms frames
// (at most 20 ms, inaudible), so every prompt of a sequence starts a
// frame: a receiver finds it at a frame boundary.
func Load() (Library, error) {
	lib := make(Library)
	for _, n := range Names() {
		pcm, err := PCM(n)
		if err != nil {
			return nil, err
		}
		if r := len(pcm) % frame; r != 0 {
			pcm = append(pcm, make([]int16, frame-r)...)
		}
		lib[n] = media.NewPrompt(n, pcm)
	}
	return lib, nil
}
