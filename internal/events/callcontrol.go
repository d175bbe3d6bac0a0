package events

// Call-control event types (SPEC T3–T9, D4, D5, S1). Each carries the
// call's full new state (call.Info), so a console needs no second request.
const (
	CallQueued        Type = "call_queued"        // answered by a queue: the caller waits with music for an agent
	CallOffered       Type = "call_offered"       // a queue call rings an agent (data: call and agent)
	CallRedirected    Type = "call_redirected"    // a ringing call was sent elsewhere (blind transfer before answer, pickup)
	CallPickedUp      Type = "call_picked_up"     // a ringing call was taken by another extension
	CallTransferred   Type = "call_transferred"   // blind transfer started: the transferor left, the target is ringing
	TransferCompleted Type = "transfer_completed" // the transfer target answered (blind) or the consultation became the call (attended)
	TransferFailed    Type = "transfer_failed"    // the blind transfer target did not answer; the call returned or ended
	ConsultStarted    Type = "consult_started"    // the customer is held, the consulted party is ringing
	ConsultAnswered   Type = "consult_answered"   // the consulted party answered
	ConsultSwapped    Type = "consult_swapped"    // the initiator alternated between customer and consulted party
	ConsultEnded      Type = "consult_ended"      // the consultation was cancelled, failed, or the consulted party left
	ConferenceJoined  Type = "conference_joined"  // a party joined the conference (from a consultation or a held call)
	ConferenceLeft    Type = "conference_left"    // a party left the conference
	MonitorStarted    Type = "monitor_started"    // a supervisor joined to listen, whisper or barge
	MonitorChanged    Type = "monitor_changed"    // the supervisor switched mode
	MonitorEnded      Type = "monitor_ended"      // the supervisor left
	RecordingStarted  Type = "recording_started"  // the call is being recorded
	RecordingPaused   Type = "recording_paused"   // privacy shield on: silence is recorded
	RecordingResumed  Type = "recording_resumed"  // privacy shield off
	RecordingStopped  Type = "recording_stopped"  // the recording is finished and stored
	OriginateFailed   Type = "originate_failed"   // click-to-call: the user's device or the target did not answer
)
