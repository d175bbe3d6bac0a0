package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/switchboard/switchboard/internal/acd"
	"github.com/switchboard/switchboard/internal/call"
	"github.com/switchboard/switchboard/internal/events"
	"github.com/switchboard/switchboard/internal/presence"
)

// The WebSocket protocol's client messages (docs/API.md "Event WebSocket").
// Every message is one JSON text frame with a "type".

// wsMaxTopics bounds one subscribe message; a console needs a handful.
const wsMaxTopics = 100

// wsClientMsg is a parsed client message.
type wsClientMsg struct {
	Type       string   `json:"type"`
	Topics     []string `json:"topics,omitempty"`
	ResumeFrom *uint64  `json:"resume_from,omitempty"`

	topics []wsTopic // parsed Topics of a subscribe
}

// wsProtocolError is answered with {"type":"error","code","message"}; the
// connection stays up.
type wsProtocolError struct {
	Code    string
	Message string
}

func (e *wsProtocolError) Error() string { return e.Code + ": " + e.Message }

// parseClientMsg parses and validates one client text message.
func parseClientMsg(b []byte) (wsClientMsg, *wsProtocolError) {
	var m wsClientMsg
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return m, &wsProtocolError{"invalid_json", err.Error()}
	}
	if dec.More() {
		return m, &wsProtocolError{"invalid_json", "one JSON object per message"}
	}
	switch m.Type {
	case "ping":
		return m, nil
	case "subscribe":
		if len(m.Topics) == 0 {
			return m, &wsProtocolError{"invalid_topic", "subscribe needs at least one topic"}
		}
		if len(m.Topics) > wsMaxTopics {
			return m, &wsProtocolError{"invalid_topic", fmt.Sprintf("at most %d topics", wsMaxTopics)}
		}
		for _, s := range m.Topics {
			t, err := parseTopic(s)
			if err != nil {
				return m, err
			}
			m.topics = append(m.topics, t)
		}
		return m, nil
	case "":
		return m, &wsProtocolError{"invalid_message", `a message needs a "type"`}
	default:
		return m, &wsProtocolError{"unknown_type", fmt.Sprintf("unknown message type %q (subscribe, ping)", m.Type)}
	}
}

// wsTopicKind is what a topic selects.
type wsTopicKind int

const (
	topicUnknown   wsTopicKind = iota
	topicOrg                   // every event the principal may see
	topicCall                  // one call: "call:<id>"
	topicExtension             // an extension's devices and calls: "extension:<n>"
	topicQueue                 // calls routed to a queue: "queue:<n>"
	topicPresence              // every extension's presence: "presence"
)

type wsTopic struct {
	kind wsTopicKind
	id   string
}

func (t wsTopic) String() string {
	switch t.kind {
	case topicOrg:
		return "org"
	case topicCall:
		return "call:" + t.id
	case topicExtension:
		return "extension:" + t.id
	case topicQueue:
		return "queue:" + t.id
	case topicPresence:
		return "presence"
	}
	return "unknown"
}

func parseTopic(s string) (wsTopic, *wsProtocolError) {
	switch s {
	case "org":
		return wsTopic{kind: topicOrg}, nil
	case "presence":
		return wsTopic{kind: topicPresence}, nil
	}
	kind, id, ok := strings.Cut(s, ":")
	bad := &wsProtocolError{"invalid_topic", fmt.Sprintf("topic %q: want org, presence, call:<id>, extension:<number> or queue:<number>", s)}
	if !ok || id == "" || len(id) > 64 || strings.ContainsAny(id, " \t\r\n:") {
		return wsTopic{}, bad
	}
	switch kind {
	case "call":
		return wsTopic{kind: topicCall, id: id}, nil
	case "extension":
		return wsTopic{kind: topicExtension, id: id}, nil
	case "queue":
		return wsTopic{kind: topicQueue, id: id}, nil
	}
	return wsTopic{}, bad
}

// matchesCall reports whether call c belongs to topic t.
func (t wsTopic) matchesCall(c call.Info) bool {
	switch t.kind {
	case topicOrg:
		return true
	case topicCall:
		return c.ID == t.id
	case topicExtension:
		if (c.From.Kind == "extension" && c.From.Number == t.id) || c.AnsweredBy == t.id || c.Target == "extension:"+t.id {
			return true
		}
		// Parties that joined by call control: consulted, members, monitors.
		return slices.ContainsFunc(c.Parties, func(p call.PartyInfo) bool { return p.Extension == t.id })
	case topicQueue:
		return c.Target == "queue:"+t.id
	}
	return false
}

// matches reports whether event e belongs to topic t. callInfo looks up a
// live call for events that carry only a call ID (DTMF).
func (t wsTopic) matches(e events.Event, callInfo func(id string) (call.Info, bool)) bool {
	switch t.kind {
	case topicOrg:
		// Presence has its own topic: a console asks for it, and clients
		// of "org" keep getting calls, agents and queues only.
		return e.Type != presence.Changed
	case topicCall:
		return e.Resource == "call:"+t.id
	case topicPresence:
		return e.Type == presence.Changed
	}
	switch d := e.Data.(type) {
	case call.Info:
		return t.matchesCall(d)
	case call.OfferInfo:
		return t.matchesCall(d.Call) || t.kind == topicExtension && d.Agent == t.id
	case call.DTMF:
		return t.matchesCallID(d.CallID, callInfo)
	case call.DataChanged:
		return t.matchesCallID(d.CallID, callInfo)
	case acd.AgentView: // an agent's state: their extensions, their queues
		return t.kind == topicExtension && slices.Contains(d.Extensions, t.id) ||
			t.kind == topicQueue && slices.ContainsFunc(d.Queues, func(m acd.MembershipView) bool { return m.Queue == t.id })
	case acd.MembershipView:
		return t.kind == topicExtension && d.Extension == t.id || t.kind == topicQueue && d.Queue == t.id
	}
	// Queue events (queue_call_*, queue_stats_updated) name their queue.
	return t.kind == topicExtension && e.Resource == "extension:"+t.id ||
		t.kind == topicQueue && e.Resource == "queue:"+t.id
}

// matchesCallID matches an event that names its call only by ID.
func (t wsTopic) matchesCallID(id string, callInfo func(id string) (call.Info, bool)) bool {
	if c, ok := callInfo(id); ok {
		return t.matchesCall(c)
	}
	return false
}

// anyTopic reports whether e belongs to one of topics.
func anyTopic(topics []wsTopic, e events.Event, callInfo func(id string) (call.Info, bool)) bool {
	for _, t := range topics {
		if t.matches(e, callInfo) {
			return true
		}
	}
	return false
}

// Server messages. Events are written from a shared per-event encoding
// (wsHub.encode), so only the envelopes are built here.

type wsSnapshotMsg struct {
	Type   string      `json:"type"` // "snapshot"
	Seq    uint64      `json:"seq"`
	Reason string      `json:"reason,omitempty"`
	Topics []string    `json:"topics"`
	Calls  []call.Info `json:"calls"`
	// Presence: every extension's, when the presence topic is subscribed.
	Presence []presence.View `json:"presence,omitempty"`
}

type wsResumedMsg struct {
	Type   string   `json:"type"` // "resumed"
	From   uint64   `json:"from"`
	Topics []string `json:"topics"`
}

type wsErrorMsg struct {
	Type    string `json:"type"` // "error"
	Code    string `json:"code"`
	Message string `json:"message"`
}

var wsPongMsg = []byte(`{"type":"pong"}`)

// appendEventsMsg appends the message carrying encs (encoded events, in
// order): {"type":"event","seq":N,"event":…} for one, {"type":"events",
// "events":[…]} for several.
func appendEventsMsg(dst []byte, seqs []uint64, encs [][]byte) []byte {
	if len(encs) == 1 {
		dst = append(dst, `{"type":"event","seq":`...)
		dst = strconv.AppendUint(dst, seqs[0], 10)
		dst = append(dst, `,"event":`...)
		dst = append(dst, encs[0]...)
		return append(dst, '}')
	}
	dst = append(dst, `{"type":"events","events":[`...)
	for i, b := range encs {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, b...)
	}
	return append(dst, "]}"...)
}
