// A user's consoles (SPEC C1), stored server-side per user.

import { get, post, put, del } from './api';

/** PlacedWidget is one widget on a console's grid. */
export interface PlacedWidget {
  id: string;
  type: string;
  x: number;
  y: number;
  w: number;
  h: number;
  config: Record<string, unknown>;
}

/** ConsoleDoc is one saved console. */
export interface ConsoleDoc {
  id: number;
  name: string;
  layout: PlacedWidget[];
  version?: number;
  updated_at?: string;
}

export async function listConsoles(): Promise<ConsoleDoc[]> {
  const r = await get<{ consoles: ConsoleDoc[] }>('/api/me/consoles');
  return r.consoles ?? [];
}

export const getConsole = (id: number) => get<ConsoleDoc>(`/api/me/consoles/${id}`);
export const createConsole = (name: string, layout: PlacedWidget[] = []) =>
  post<ConsoleDoc>('/api/me/consoles', { name, layout });
export const saveConsole = (c: { id: number; name?: string; layout?: PlacedWidget[]; version?: number }) =>
  put<ConsoleDoc>(`/api/me/consoles/${c.id}`, { name: c.name, layout: c.layout, version: c.version });
export const deleteConsole = (id: number) => del(`/api/me/consoles/${id}`);
