package call

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"time"

	"github.com/switchboard/switchboard/internal/events"
	"github.com/switchboard/switchboard/internal/media"
	"github.com/switchboard/switchboard/internal/store"
)

// Recording errors.
var (
	// ErrRecordingOff: no recordings directory is configured.
	ErrRecordingOff = errors.New("recording is not configured")
	// ErrRecording: the call is already being recorded.
	ErrRecording = errors.New("the call is already being recorded")
	// ErrNotRecording: the call is not being recorded.
	ErrNotRecording = errors.New("the call is not being recorded")
)

// MaxAutoResume bounds a privacy-shield pause.
const MaxAutoResume = time.Hour

// recordingState is the call's recording in progress. Guarded by Call.mu.
// The WAV is stereo: the caller (the customer) on the left, everyone the
// caller hears on the right (see recordingChannelsLocked).
type recordingState struct {
	id        string
	path      string
	by        string
	startedAt time.Time
	rec       *media.Recording
	paused    bool
	resumeAt  time.Time
	timer     *time.Timer
	parties   map[string]bool // extensions heard while recording
}

// RecordingInfo shows a recording in progress.
type RecordingInfo struct {
	ID           string     `json:"id"`
	StartedAt    time.Time  `json:"started_at"`
	Paused       bool       `json:"paused"`
	AutoResumeAt *time.Time `json:"auto_resume_at,omitempty"`
}

func (r *recordingState) info() *RecordingInfo {
	i := &RecordingInfo{ID: r.id, StartedAt: r.startedAt, Paused: r.paused}
	if r.paused && !r.resumeAt.IsZero() {
		t := r.resumeAt
		i.AutoResumeAt = &t
	}
	return i
}

// finishedRecording is what end() and StopRecording store.
type finishedRecording struct {
	state *recordingState
	info  media.RecordingInfo
	err   error
}

// StartRecording records the call from now on; by is who asked (a
// username, or "policy").
func (c *Call) StartRecording(by string) (string, error) {
	dir := c.m.cfg.RecordingsDir
	if dir == "" {
		return "", ErrRecordingOff
	}
	c.mu.Lock()
	switch {
	case c.ended:
		c.mu.Unlock()
		return "", ErrCallEnded
	case c.answeredAt.IsZero():
		c.mu.Unlock()
		return "", ErrNotAnswered
	case c.rec != nil:
		c.mu.Unlock()
		return "", ErrRecording
	}
	id := newID()
	rs := &recordingState{id: id, path: filepath.Join(dir, c.id+"-"+id+".wav"), by: by, startedAt: time.Now(),
		parties: make(map[string]bool)}
	c.rec = rs
	err := c.applyMediaLocked() // moves the call into a mixer
	if err == nil && c.media.mixer == nil {
		err = errors.New("nobody to record")
	}
	if err == nil {
		rs.rec, err = c.media.mixer.Record(rs.path, nil, nil)
	}
	if err != nil {
		c.rec = nil
		c.applyOrLog()
		c.mu.Unlock()
		return "", fmt.Errorf("start recording %s: %w", c.id, err)
	}
	c.noteRecordedPartiesLocked()
	c.applyOrLog() // sets the channels
	info := c.infoLocked()
	c.mu.Unlock()
	c.log.Info("recording started", "recording_id", id, "by", by)
	c.m.publish(events.RecordingStarted, c, info)
	return id, nil
}

func (c *Call) noteRecordedPartiesLocked() {
	if c.rec == nil {
		return
	}
	for _, l := range c.partiesLocked() {
		if l.ext != "" && (l.role != roleMonitor || l.monitor == MonitorBarge) {
			c.rec.parties[l.ext] = true
		}
	}
}

// StopRecording finishes the recording and stores it.
func (c *Call) StopRecording() error {
	c.mu.Lock()
	rs := c.rec
	if rs == nil {
		c.mu.Unlock()
		return ErrNotRecording
	}
	if rs.timer != nil {
		rs.timer.Stop()
	}
	c.noteRecordedPartiesLocked()
	c.rec = nil
	c.mu.Unlock()
	// Finalising the file (an fsync) happens outside the call's lock; the
	// mixer keeps running meanwhile and feeds a stopped recording nothing.
	f := finishedRecording{state: rs}
	if rs.rec != nil {
		f.info, f.err = rs.rec.Stop()
	}
	done := []finishedRecording{f}
	c.mu.Lock()
	c.applyOrLog() // back to the relay if nothing else needs the mixer
	info := c.infoLocked()
	c.mu.Unlock()
	for _, f := range done {
		c.m.saveRecording(c, f)
	}
	c.m.publish(events.RecordingStopped, c, info)
	return nil
}

// stopRecordingLocked ends the recording in progress, if any.
func (c *Call) stopRecordingLocked() []finishedRecording {
	rs := c.rec
	if rs == nil {
		return nil
	}
	c.rec = nil
	if rs.timer != nil {
		rs.timer.Stop()
	}
	c.noteRecordedPartiesLocked()
	f := finishedRecording{state: rs}
	if rs.rec != nil {
		f.info, f.err = rs.rec.Stop()
	}
	return []finishedRecording{f}
}

// PauseRecording turns the privacy shield on: silence is recorded until
// ResumeRecording, or until the auto-resume time has passed: the one the
// administrator set (Config.RecordingAutoResume), or autoResume when that
// is shorter (0: the administrator's; with none set, no automatic resume).
func (c *Call) PauseRecording(autoResume time.Duration) error {
	if autoResume < 0 || autoResume > MaxAutoResume {
		return fmt.Errorf("auto resume must be between 0 and %s", MaxAutoResume)
	}
	if limit := c.m.cfg.RecordingAutoResume; limit > 0 && (autoResume == 0 || autoResume > limit) {
		autoResume = limit
	}
	c.mu.Lock()
	rs := c.rec
	if rs == nil || rs.rec == nil {
		c.mu.Unlock()
		return ErrNotRecording
	}
	rs.rec.Pause()
	rs.paused = true
	if rs.timer != nil {
		rs.timer.Stop()
		rs.timer = nil
	}
	rs.resumeAt = time.Time{}
	if autoResume > 0 {
		rs.resumeAt = time.Now().Add(autoResume)
		rs.timer = time.AfterFunc(autoResume, func() { c.resumeRecording(rs) })
	}
	info := c.infoLocked()
	c.mu.Unlock()
	c.m.publish(events.RecordingPaused, c, info)
	return nil
}

// ResumeRecording turns the privacy shield off.
func (c *Call) ResumeRecording() error {
	c.mu.Lock()
	rs := c.rec
	c.mu.Unlock()
	if rs == nil {
		return ErrNotRecording
	}
	c.resumeRecording(rs)
	return nil
}

func (c *Call) resumeRecording(rs *recordingState) {
	c.mu.Lock()
	if c.rec != rs || !rs.paused {
		c.mu.Unlock()
		return
	}
	rs.rec.Resume()
	rs.paused = false
	rs.resumeAt = time.Time{}
	if rs.timer != nil {
		rs.timer.Stop()
		rs.timer = nil
	}
	info := c.infoLocked()
	c.mu.Unlock()
	c.m.publish(events.RecordingResumed, c, info)
}

// saveRecording stores a finished recording's metadata.
func (m *Manager) saveRecording(c *Call, f finishedRecording) {
	if f.err != nil {
		c.log.Error("recording not finalised", "recording_id", f.state.id, "error", f.err)
	}
	parties := make([]string, 0, len(f.state.parties))
	for p := range f.state.parties {
		parties = append(parties, p)
	}
	r := store.Recording{ID: f.state.id, CallID: c.id, Path: f.state.path, StartedAt: f.state.startedAt,
		EndedAt: time.Now(), Duration: f.info.Duration, Bytes: f.info.Bytes, StartedBy: f.state.by, Parties: parties}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := m.st.InsertRecording(ctx, r); err != nil {
		c.log.Error("recording not stored", "recording_id", r.ID, "error", err)
	}
}

// applyRecordPolicy starts recording an answered call when the global
// policy covers it: every call, its queue, or one of its extensions.
func (c *Call) applyRecordPolicy() {
	p := c.m.cfg.RecordPolicy
	if c.m.cfg.RecordingsDir == "" || (!p.AllCalls && len(p.Queues) == 0 && len(p.Extensions) == 0) {
		return
	}
	c.mu.Lock()
	match := p.AllCalls || (c.route.kind == store.TargetQueue && slices.Contains(p.Queues, c.route.target))
	for _, l := range c.partiesLocked() {
		match = match || (l.ext != "" && slices.Contains(p.Extensions, l.ext))
	}
	recording := c.rec != nil
	c.mu.Unlock()
	if !match || recording {
		return
	}
	if _, err := c.StartRecording("policy"); err != nil {
		c.log.Error("recording required by policy did not start", "error", err)
	}
}
