package events

// The queue caller experience (SPEC Q5, O3, M3). Queue events have the
// resource "queue:<number>": the ACD's carry an acd.QueueCallView (with
// the callback's attempts), voicemail events a call.VoicemailInfo.
const (
	QueueCallLeft          Type = "queue_call_left"          // the caller left the queue to leave a message (state: voicemail)
	QueueCallbackRequested Type = "queue_callback_requested" // a waiting caller asked to be called back and hung up: the entry keeps their place
	QueueCallbackConnected Type = "queue_callback_connected" // the agent who took the callback and the customer are talking
	QueueCallbackReturned  Type = "queue_callback_returned"  // the customer was not reached: back at its place, retried later
	QueueCallbackFailed    Type = "queue_callback_failed"    // given up (not reached after the attempts, or the queue is gone)
	CallbackDialing        Type = "callback_dialing"         // call: the agent answered a callback, the customer is being dialled
	VoicemailCreated       Type = "voicemail_created"        // a caller left a message for a queue
	VoicemailUpdated       Type = "voicemail_updated"        // a message was marked handled (or new again)
)
