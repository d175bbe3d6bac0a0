package call

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/switchboard/switchboard/internal/acd"
	"github.com/switchboard/switchboard/internal/events"
	"github.com/switchboard/switchboard/internal/media"
	"github.com/switchboard/switchboard/internal/prompts"
	"github.com/switchboard/switchboard/internal/store"
)

// Leaving a message (SPEC Q5, M3): a waiting caller who presses 1 leaves
// the queue, hears "please leave your message after the tone" and the
// tone, and is recorded — at most maxMessage, until they press # or hang
// up. The message is kept as a mono WAV next to the call recordings and
// stored as an interaction of the queue (store.Voicemail), which its
// agents list, play and mark handled through the API.

const (
	// maxMessage bounds a message: what a caller says after two minutes
	// is not kept, and they are thanked and hung up.
	maxMessage = 2 * time.Minute
	// minMessage: a shorter recording (a caller who hung up at the tone)
	// is not kept.
	minMessage = 500 * time.Millisecond
)

// voicemailState is a message being recorded. Guarded by Call.mu, except
// what the once protects.
type voicemailState struct {
	id      string
	queue   string
	raw     string // the mixer's stereo file: the caller on the left
	path    string // the mono file kept
	started time.Time
	mixer   *media.Mixer
	rec     *media.Recording
	timer   *time.Timer
	once    sync.Once
}

// VoicemailInfo is a message as the API and events show it.
type VoicemailInfo struct {
	ID           string     `json:"id"`
	Queue        string     `json:"queue"`
	CallID       string     `json:"call_id"`
	CallerNumber string     `json:"caller_number"`
	CallerName   string     `json:"caller_name,omitempty"`
	DurationMS   int64      `json:"duration_ms"`
	CreatedAt    time.Time  `json:"created_at"`
	Status       string     `json:"status"` // new | handled
	HandledBy    string     `json:"handled_by,omitempty"`
	HandledAt    *time.Time `json:"handled_at,omitempty"`
	AudioURL     string     `json:"audio_url"`
}

// VoicemailView is v as the API shows it (without the file's path).
func VoicemailView(v store.Voicemail) VoicemailInfo {
	i := VoicemailInfo{ID: v.ID, Queue: v.Queue, CallID: v.CallID, CallerNumber: v.CallerNumber,
		CallerName: v.CallerName, DurationMS: v.Duration.Milliseconds(), CreatedAt: v.CreatedAt, Status: v.Status,
		HandledBy: v.HandledBy, AudioURL: "/api/voicemails/" + v.ID + "/audio"}
	if !v.HandledAt.IsZero() {
		t := v.HandledAt
		i.HandledAt = &t
	}
	return i
}

// voicemailStore is the store's share in voicemail (store.Store has it).
type voicemailStore interface {
	InsertVoicemail(ctx context.Context, v store.Voicemail) error
}

// leaveMessage runs in its own goroutine once the caller pressed 1.
func (c *Call) leaveMessage(qs *queueState) {
	m := c.m
	// The ACD may have let go of the call already (max wait reached as
	// the caller pressed 1): the message is still theirs to leave.
	if err := m.acd.Leave(qs.acdID, acd.LeftVoicemail); err != nil {
		c.log.Info("queue already left", "error", err)
	}
	qs.endedOnce.Do(func() {}) // nothing more to tell the ACD
	c.log.Info("caller leaves the queue to leave a message", "queue", qs.queue)
	c.mu.Lock()
	if c.ended || c.queue != qs {
		c.mu.Unlock()
		return
	}
	pb := c.a.ep.PlayPrompts(m.promptSeq(prompts.LeaveMessage, pause, prompts.Tone)...)
	c.mu.Unlock()
	<-pb.Done() // also when the call ends: the endpoint closes
	if !pb.Finished() {
		return
	}
	c.recordMessage(qs)
}

// recordMessage starts recording the caller: a mixer of one, recorded.
func (c *Call) recordMessage(qs *queueState) {
	m := c.m
	id := newID()
	vm := &voicemailState{id: id, queue: qs.queue, started: time.Now(),
		raw:  filepath.Join(m.cfg.RecordingsDir, "vm-"+id+".rec.wav"),
		path: filepath.Join(m.cfg.RecordingsDir, "vm-"+id+".wav")}
	c.mu.Lock()
	if c.ended || c.queue != qs {
		c.mu.Unlock()
		return
	}
	c.a.onHold = false
	c.applyOrLog() // the music stops; the caller is in no bridge or mixer
	mx, err := m.media.NewMixer()
	if err == nil {
		if err = mx.Add(c.a.ep); err == nil {
			vm.rec, err = mx.Record(vm.raw, []*media.Endpoint{c.a.ep}, nil)
		}
		if err != nil {
			mx.Close()
		}
	}
	if err != nil {
		c.mu.Unlock()
		c.log.Error("message not recorded", "error", err)
		c.sayGoodbye("message not recorded")
		return
	}
	vm.mixer = mx
	qs.vm = vm
	vm.timer = time.AfterFunc(maxMessage, func() { c.finishMessage(vm, "two minutes reached", true) })
	c.mu.Unlock()
	c.log.Info("recording a message", "voicemail_id", id, "queue", qs.queue)
}

// finishMessage ends the recording (# pressed, time up, or the caller hung
// up) and keeps the message; with goodbye the caller is thanked and hung up.
func (c *Call) finishMessage(vm *voicemailState, why string, goodbye bool) {
	first := false
	vm.once.Do(func() {
		first = true
		vm.timer.Stop()
		info, err := vm.rec.Stop()
		vm.mixer.Close()
		c.m.keepMessage(c, vm, info, err, why)
	})
	if first && goodbye {
		c.sayGoodbye("message left")
	}
}

// keepMessage stores a finished recording as a voicemail.
func (m *Manager) keepMessage(c *Call, vm *voicemailState, info media.RecordingInfo, recErr error, why string) {
	defer os.Remove(vm.raw)
	if recErr != nil {
		c.log.Error("message recording not finalised", "voicemail_id", vm.id, "error", recErr)
	}
	if info.Duration < minMessage {
		c.log.Info("message too short: not kept", "voicemail_id", vm.id, "duration", info.Duration.String(), "why", why)
		return
	}
	mono, err := media.ExtractChannel(vm.raw, vm.path, 0)
	if err != nil {
		c.log.Error("message not kept", "voicemail_id", vm.id, "error", err)
		return
	}
	v := store.Voicemail{ID: vm.id, Queue: vm.queue, CallID: c.id, CallerNumber: c.caller.Number,
		CallerName: c.caller.Name, Path: vm.path, Duration: mono.Duration, Bytes: mono.Bytes, CreatedAt: vm.started,
		Status: store.VoicemailNew}
	vs, ok := m.st.(voicemailStore)
	if !ok {
		c.log.Error("message not stored: the store keeps no voicemails", "voicemail_id", vm.id, "path", vm.path)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := vs.InsertVoicemail(ctx, v); err != nil {
		c.log.Error("message not stored", "voicemail_id", vm.id, "path", vm.path, "error", err)
		return
	}
	c.log.Info("message left", "voicemail_id", vm.id, "queue", vm.queue, "duration", mono.Duration.String(), "why", why)
	if m.bus != nil {
		m.bus.Publish(events.VoicemailCreated, "queue:"+vm.queue, VoicemailView(v))
	}
}

// sayGoodbye thanks the caller and hangs up.
func (c *Call) sayGoodbye(reason string) {
	c.mu.Lock()
	if c.ended {
		c.mu.Unlock()
		return
	}
	c.a.onHold = true
	c.applyOrLog()
	pb := c.a.ep.PlayPrompts(c.m.promptSeq(prompts.Goodbye)...)
	c.mu.Unlock()
	<-pb.Done()
	c.end(endInfo{by: "system", code: 200, disposition: store.DispositionAnswered, reason: reason})
}
