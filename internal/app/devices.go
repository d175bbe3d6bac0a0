package app

import (
	"context"
	"fmt"

	"github.com/switchboard/switchboard/internal/store"
)

// followDevices keeps the ACD told which extensions have a registered
// device, so it offers queue calls only to agents who can be rung (an
// agent with no phone registered is skipped, not sent to RONA). The
// registrar tells it of each change; the listener is set before the
// current state is read, so a registration in between is not lost.
func (a *App) followDevices(ctx context.Context, extensions func(context.Context) ([]store.Extension, error)) error {
	a.reg.OnDeviceChange(a.ACD.DeviceRegistered)
	exts, err := extensions(ctx)
	if err != nil {
		return fmt.Errorf("devices for the ACD: %w", err)
	}
	var registered []string
	for _, x := range exts {
		if len(a.reg.Lookup(x.Number)) > 0 {
			registered = append(registered, x.Number)
		}
	}
	a.ACD.TrackDevices(registered)
	return nil
}
