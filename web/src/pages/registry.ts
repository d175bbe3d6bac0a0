// Pages and overlays beyond the console grid register here (admin pages,
// history, the wrap-up and RONA dialogs), so app.tsx need not know them all.

import type { ComponentType } from 'preact';

/** pages maps a route's first segment (#/admin/…) to its page. */
export const pages = new Map<string, ComponentType<{ arg: string }>>();

/** overlays are always mounted; each decides itself when to show (a dialog, a pop-up). */
export const overlays = new Set<ComponentType>();
