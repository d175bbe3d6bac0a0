// The widgets a console can hold. Each widget module registers itself here;
// a console's saved layout names widgets by type, so a type once shipped
// keeps its name.

import type { ComponentType } from 'preact';

/** WidgetProps is what every widget gets: its saved config and a way to change it. */
export interface WidgetProps<C = any> {
  id: string;
  config: C;
  setConfig: (c: C) => void;
  editing: boolean;
}

/** WidgetDef describes one kind of widget. */
export interface WidgetDef<C = any> {
  type: string;
  title: string;
  description: string;
  size: { w: number; h: number; minW?: number; minH?: number };
  defaultConfig: () => C;
  /** title of a placed widget, from its config (e.g. "Queue Support"). */
  caption?: (c: C) => string;
  Component: ComponentType<WidgetProps<C>>;
  /** Configure, when present, is shown when the widget is added and from its ⚙ button. */
  Configure?: ComponentType<{ config: C; done: (c: C | null) => void }>;
}

export const widgetDefs = new Map<string, WidgetDef>();

export function register<C>(d: WidgetDef<C>) {
  widgetDefs.set(d.type, d as WidgetDef);
}
