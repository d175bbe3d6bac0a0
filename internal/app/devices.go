package app

import (
	"context"
	"log/slog"

	"github.com/switchboard/switchboard/internal/events"
	"github.com/switchboard/switchboard/internal/registrar"
	"github.com/switchboard/switchboard/internal/store"
)

// followDevices keeps the ACD told which extensions have a registered
// device, so it offers queue calls only to agents who can be rung (an
// agent with no phone registered is skipped, not sent to RONA). It reads
// the registrar after each device event, since an extension may have
// several devices, and starts over from the registrar when the bus cuts
// it off in a flood.
func (a *App) followDevices(extensions func(context.Context) ([]store.Extension, error), stop <-chan struct{}, log *slog.Logger) {
	sub, err := a.Events.Subscribe(0, 1024)
	if err != nil {
		log.Error("device feed for the ACD: subscribe", "error", err)
		return
	}
	resync := func() {
		exts, err := extensions(context.Background())
		if err != nil {
			log.Error("device feed for the ACD: extensions", "error", err)
			return
		}
		var registered []string
		for _, x := range exts {
			if len(a.reg.Lookup(x.Number)) > 0 {
				registered = append(registered, x.Number)
			}
		}
		a.ACD.TrackDevices(registered)
	}
	resync()
	go func() {
		defer func() { sub.Close() }()
		for {
			select {
			case <-stop:
				return
			case e := <-sub.C():
				if e.Type != events.DeviceRegistered && e.Type != events.DeviceRemoved {
					continue
				}
				if d, ok := e.Data.(registrar.DeviceState); ok {
					a.ACD.DeviceRegistered(d.Extension, len(a.reg.Lookup(d.Extension)) > 0)
				}
			case <-sub.Done():
				next, err := a.Events.Subscribe(0, 1024)
				if err != nil {
					log.Error("device feed for the ACD stopped", "error", err)
					return
				}
				sub.Close()
				sub = next
				resync()
			}
		}
	}()
}
