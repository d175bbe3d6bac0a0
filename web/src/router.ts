// Hash routes: the console is one page; #/console/3, #/admin/users …

import { signal } from '@preact/signals';

export interface Route {
  page: 'home' | 'console' | 'admin' | 'history' | string;
  arg: string;
}

function parse(): Route {
  const parts = location.hash.replace(/^#\/?/, '').split('/');
  return { page: parts[0] || 'home', arg: decodeURIComponent(parts.slice(1).join('/')) };
}

export const route = signal<Route>(parse());
window.addEventListener('hashchange', () => (route.value = parse()));

export function go(hash: string) {
  if (location.hash === hash) route.value = parse();
  else location.hash = hash;
}
