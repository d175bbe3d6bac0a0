package call

import (
	"context"
	"sync"
	"time"

	"github.com/switchboard/switchboard/internal/acd"
	"github.com/switchboard/switchboard/internal/dialplan"
	"github.com/switchboard/switchboard/internal/media"
	"github.com/switchboard/switchboard/internal/prompts"
	"github.com/switchboard/switchboard/internal/store"
)

// What a queued caller hears (SPEC Q5): on entry, when no agent is being
// rung for them, "all our agents are busy, please hold" and the options
// the queue offers; then every announce interval their position and
// expected wait (from the ACD) and the options again; music in between.
// The caller's digits choose an option (queueDigit): 1 leaves a message
// (voicemail.go), 2 asks for a callback (callback.go).

// experience is what a queue plays and offers, read from its settings
// when a caller enters.
type experience struct {
	interval  time.Duration // periodic announcements; 0: none
	position  bool
	ewt       bool
	voicemail bool // "press 1 to leave a message"
	callback  bool // "press 2 to be called back"
}

// experienceOf reads queue q's settings; when they cannot be read, the
// defaults (announcements, no options) apply.
func (m *Manager) experienceOf(q string) experience {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	sq, err := m.st.QueueByNumber(ctx, q)
	if err != nil {
		m.log.Warn("queue settings not read: default announcements", "queue", q, "error", err)
		return experience{interval: store.DefaultAnnounceInterval, position: true, ewt: true}
	}
	e := experience{position: !sq.OmitPosition, ewt: !sq.OmitEWT, callback: sq.OfferCallback,
		voicemail: sq.OfferVoicemail && m.cfg.RecordingsDir != ""} // messages are kept with the recordings
	if sq.AnnounceInterval > 0 {
		e.interval = sq.AnnounceInterval
	}
	return e
}

// leftFor is why a caller left the queue on their own (other than hanging
// up): from then on no agent is offered the call.
type leftFor int

const (
	stayed          leftFor = iota
	leftToVoicemail         // pressed 1
	leftForCallback         // pressed 2
)

// pause is the name of the short silence between the parts of an
// announcement.
const pause = "pause"

// greetingNames is the entry announcement.
func greetingNames(x experience, canCallback bool) []string {
	return append([]string{prompts.Busy}, optionNames(x, canCallback)...)
}

// optionNames are the choices offered, after a pause.
func optionNames(x experience, canCallback bool) []string {
	var out []string
	if x.voicemail {
		out = append(out, pause, prompts.Press1)
	}
	if x.callback && canCallback {
		out = append(out, pause, prompts.Press2)
	}
	return out
}

// periodicNames is the periodic announcement for a caller waiting as w:
// "you are caller number three", "your expected waiting time is about
// four minutes", then the options. Parts the queue turned off or that are
// unknown are left out; nil when nothing is left to say.
func periodicNames(x experience, w acd.WaitInfo, canCallback bool) []string {
	var out []string
	if x.position && w.Position > 0 {
		out = append(out, prompts.Position, prompts.Number(w.Position))
	}
	if x.ewt && w.EWTKnown {
		if len(out) > 0 {
			out = append(out, pause)
		}
		out = append(out, prompts.EWT)
		out = append(out, minutesNames(w.EWT)...)
	}
	opts := optionNames(x, canCallback)
	if len(out) == 0 && len(opts) > 0 {
		opts = opts[1:] // no pause before the first words
	}
	return append(out, opts...)
}

// minutesNames says d in whole minutes, rounded up: "one minute" for
// anything up to a minute, "N minutes" up to ten, then "more than ten
// minutes".
func minutesNames(d time.Duration) []string {
	n := int((d + time.Minute - 1) / time.Minute)
	switch {
	case n <= 1:
		return []string{prompts.Number(1), prompts.Minute}
	case n <= 10:
		return []string{prompts.Number(n), prompts.Minutes}
	}
	return []string{prompts.MoreThanTenMinutes}
}

var (
	promptsOnce sync.Once
	promptLib   prompts.Library
	promptErr   error
)

// promptSeq turns names into the prompts to play; nil (and an error
// logged once) if the embedded prompts could not be loaded.
func (m *Manager) promptSeq(names ...string) []*media.Prompt {
	promptsOnce.Do(func() {
		promptLib, promptErr = prompts.Load()
		if promptErr == nil {
			promptLib[pause] = media.SilencePrompt(400 * time.Millisecond)
		}
	})
	if promptErr != nil {
		m.log.Error("announcements unavailable", "error", promptErr)
		return nil
	}
	out := make([]*media.Prompt, 0, len(names))
	for _, n := range names {
		if p := promptLib[n]; p != nil {
			out = append(out, p)
		}
	}
	return out
}

// canCallback reports whether the caller's number can be dialled back:
// an anonymous or withheld caller is not offered a callback.
func (c *Call) canCallback() bool {
	_, err := dialplan.Clean(c.caller.Number)
	return err == nil
}

// greet plays the entry announcement (unless an agent is being rung for
// the caller already) and schedules the periodic ones.
func (c *Call) greet() {
	c.mu.Lock()
	defer c.mu.Unlock()
	qs := c.queue
	if !c.queuedLocked(qs) {
		return
	}
	if len(qs.offers) == 0 {
		c.playLocked(qs, c.m.promptSeq(greetingNames(qs.settings, c.canCallback())...))
	}
	c.scheduleAnnouncementLocked(qs)
}

// queuedLocked reports whether the caller is still waiting in queue qs:
// not answered, not leaving, the call not over.
func (c *Call) queuedLocked(qs *queueState) bool {
	return qs != nil && c.queue == qs && !c.ended && c.b == nil && qs.left == stayed && c.a != nil
}

// playLocked plays seq to the waiting caller, in place of the music. Under
// c.mu, so an agent answering (which stops the music) cannot come between
// the check and the start.
func (c *Call) playLocked(qs *queueState, seq []*media.Prompt) {
	if len(seq) == 0 || !c.a.onHold {
		return
	}
	qs.playing = c.a.ep.PlayPrompts(seq...)
}

func (c *Call) scheduleAnnouncementLocked(qs *queueState) {
	if qs.settings.interval <= 0 {
		return
	}
	qs.announcer = time.AfterFunc(qs.settings.interval, func() { c.announce(qs) })
}

// announce plays the periodic announcement (skipped while one is still
// playing, or while an agent is being rung) and schedules the next.
func (c *Call) announce(qs *queueState) {
	c.mu.Lock()
	if !c.queuedLocked(qs) || qs.announcer == nil {
		c.mu.Unlock()
		return
	}
	busy := len(qs.offers) > 0
	if qs.playing != nil {
		select {
		case <-qs.playing.Done():
		default:
			busy = true
		}
	}
	id := qs.acdID
	c.mu.Unlock()
	var names []string
	if !busy {
		// The ACD is called without the call's lock (docs/LOCKS.md).
		if w, err := c.m.acd.WaitInfo(id); err == nil && w.State == "waiting" {
			names = periodicNames(qs.settings, w, c.canCallback())
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.queuedLocked(qs) || qs.announcer == nil {
		return
	}
	c.playLocked(qs, c.m.promptSeq(names...))
	c.scheduleAnnouncementLocked(qs)
}

// stopAnnouncementsLocked ends the periodic announcements (the caller is
// answered, leaves or hangs up). A prompt still playing stops with the
// music.
func (c *Call) stopAnnouncementsLocked() {
	if c.queue == nil || c.queue.announcer == nil {
		return
	}
	c.queue.announcer.Stop()
	c.queue.announcer = nil
}

// queueDigit handles a digit the waiting caller pressed (RFC 4733, from
// dtmfHandler, on the packet goroutine: it must not block). 1 leaves a
// message and 2 asks for a callback, when the queue offers them; # ends a
// message being recorded.
func (c *Call) queueDigit(l *leg, digit byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	qs := c.queue
	if qs == nil || l != c.a || c.ended || c.m.acd == nil {
		return
	}
	if vm := qs.vm; vm != nil {
		if digit == '#' {
			go c.finishMessage(vm, "caller pressed #", true)
		}
		return
	}
	if !c.queuedLocked(qs) || c.state != StateQueued || qs.answering > 0 {
		return // an agent is being connected: the choice is moot
	}
	switch {
	case digit == '1' && qs.settings.voicemail:
		c.leaveQueueLocked(qs, leftToVoicemail)
		go c.leaveMessage(qs)
	case digit == '2' && qs.settings.callback && c.canCallback():
		c.leaveQueueLocked(qs, leftForCallback)
		go c.requestCallback(qs)
	}
}

// leaveQueueLocked stops what the queue does for a caller who chose to
// leave it: offers and announcements.
func (c *Call) leaveQueueLocked(qs *queueState, why leftFor) {
	qs.left = why
	for ext, p := range qs.offers {
		p.cancel()
		delete(qs.offers, ext)
	}
	c.stopAnnouncementsLocked()
}
