package media

import "encoding/binary"

// telephoneEvent is an RFC 4733 §2.3 event payload:
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|     event     |E|R| volume    |          duration             |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
type telephoneEvent struct {
	event    uint8
	end      bool
	volume   uint8  // -dBm0, 0-63
	duration uint16 // in timestamp units (1/8000 s for telephone-event/8000)
}

// parseTelephoneEvent decodes the first event of payload. Redundant
// events (RFC 2198) are not negotiated, so one is all there is.
func parseTelephoneEvent(payload []byte) (telephoneEvent, bool) {
	if len(payload) < 4 {
		return telephoneEvent{}, false
	}
	return telephoneEvent{
		event:    payload[0],
		end:      payload[1]&0x80 != 0,
		volume:   payload[1] & 0x3f,
		duration: binary.BigEndian.Uint16(payload[2:]),
	}, true
}

// eventDigit maps DTMF events 0-15 (RFC 4733 §3.2, table 7) to their key;
// other events (flash, modem tones) have none.
func eventDigit(ev uint8) (byte, bool) {
	switch {
	case ev <= 9:
		return '0' + ev, true
	case ev == 10:
		return '*', true
	case ev == 11:
		return '#', true
	case ev <= 15:
		return 'A' + ev - 12, true
	}
	return 0, false
}

// dtmfState deduplicates events on one endpoint.
type dtmfState struct {
	ended  bool   // an end has been reported since the stream started
	lastTS uint32 // RTP timestamp (event start) of that end
}

// update feeds one telephone-event payload with its RTP timestamp and
// returns the digit and its duration in ms when an event has just ended,
// or 0 otherwise. The caller has checked that payload holds an event.
//
// RFC 4733 §2.5.1.4: the end packet is sent three times, and all packets
// of one event carry the event's start timestamp (§2.5.1.2), so an end
// whose timestamp we already reported is a retransmission. Digits whose
// end packets are all lost are not reported; without an end there is no
// reliable duration, and a phantom repeat is worse for an IVR than a miss.
func (d *dtmfState) update(payload []byte, ts uint32) (digit byte, durationMS int) {
	ev, ok := parseTelephoneEvent(payload)
	if !ok || !ev.end || (d.ended && d.lastTS == ts) {
		return 0, 0
	}
	d.ended, d.lastTS = true, ts
	digit, ok = eventDigit(ev.event)
	if !ok {
		return 0, 0
	}
	return digit, int(ev.duration) / 8 // 8 timestamp units per ms at 8 kHz
}
