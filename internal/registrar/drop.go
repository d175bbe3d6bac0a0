package registrar

import (
	"github.com/switchboard/switchboard/internal/events"
	"github.com/switchboard/switchboard/internal/store"
)

// DropSource removes at once every binding registered from source (a
// connection-oriented flow that closed, such as a browser's SIP
// WebSocket): its devices cannot be reached any more, and waiting for
// the expiry would ring a dead socket meanwhile (RFC 5626 §5 treats a
// failed flow the same way). It returns how many bindings went.
func (r *Registrar) DropSource(source, reason string) int {
	var gone []store.Binding
	r.mu.Lock()
	for ext, m := range r.bindings {
		for uri, b := range m {
			if b.Source != source {
				continue
			}
			delete(m, uri)
			gone = append(gone, *b)
			r.dirty[ext+"\x00"+uri] = store.Binding{Extension: ext, ContactURI: uri}
		}
		if len(m) == 0 {
			delete(r.bindings, ext)
		}
	}
	r.mu.Unlock()
	for _, b := range gone {
		r.log.Info("device unregistered", "extension", b.Extension, "contact", b.ContactURI, "reason", reason)
		r.publish(events.DeviceRemoved, b, reason)
	}
	return len(gone)
}
