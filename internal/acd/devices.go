package acd

// Device reachability. An agent none of whose extensions has a registered
// device is not offered calls: ringing them would only fail (and used to
// send them to RONA), so they are skipped until a device registers, as a
// PBX queue skips members whose device is unavailable. Until the engine is
// told about devices (TrackDevices), every agent counts as reachable.

// TrackDevices turns device tracking on with the extensions that have a
// registered device now; later changes come through DeviceRegistered.
func (e *Engine) TrackDevices(registered []string) {
	e.mu.Lock()
	defer e.unlock()
	e.tracking = true
	e.devices = make(map[string]bool, len(registered))
	for _, x := range registered {
		e.devices[x] = true
	}
	// Changes told before tracking began are newer than the list read
	// after them (each change is told).
	for x, on := range e.earlyDevices {
		if on {
			e.devices[x] = true
		} else {
			delete(e.devices, x)
		}
	}
	e.earlyDevices = nil
	now := e.clock.Now()
	for _, a := range e.agents {
		e.refreshReachable(a)
	}
	for _, q := range e.queues {
		e.dispatch(q, now)
		e.statsChanged(q)
	}
}

// DeviceRegistered records that extension ext has (or no longer has) a
// registered device. An agent who becomes reachable is offered what
// waits at once.
func (e *Engine) DeviceRegistered(ext string, registered bool) {
	e.mu.Lock()
	defer e.unlock()
	if !e.tracking {
		if e.earlyDevices == nil {
			e.earlyDevices = make(map[string]bool)
		}
		e.earlyDevices[ext] = registered // applied by TrackDevices
		return
	}
	if e.devices[ext] == registered {
		return
	}
	if registered {
		e.devices[ext] = true
	} else {
		delete(e.devices, ext)
	}
	a := e.byExt[ext]
	if a == nil {
		return
	}
	was := a.unreachable
	e.refreshReachable(a)
	if was == a.unreachable {
		return
	}
	now := e.clock.Now()
	e.agentChanged(a, now)
	for _, m := range a.members {
		if !a.unreachable {
			e.dispatch(m.q, now)
		}
		e.statsChanged(m.q)
	}
}

// refreshReachable sets a.unreachable from the devices known. Under e.mu.
func (e *Engine) refreshReachable(a *agent) {
	if !e.tracking {
		a.unreachable = false
		return
	}
	a.unreachable = true
	for _, x := range a.info.Extensions {
		if e.devices[x] {
			a.unreachable = false
			return
		}
	}
}
