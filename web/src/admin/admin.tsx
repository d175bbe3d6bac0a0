// The admin pages (SPEC X1, X2): #/admin/<section>/<item>, a side menu of the
// configuration the API manages, each section a list with a detail pane.
// Only admins see the menu entry; the API refuses everyone else anyway.

import type { ComponentType } from 'preact';
import { isAdmin } from '../session';
import { UsersSection } from './users';
import { ExtensionsSection } from './extensions';
import { QueuesSection } from './queues';
import { ReasonCodesSection } from './reasons';
import { DIDsSection } from './dids';
import { TrunksSection } from './trunks';

/** SectionProps: item is the rest of the route ("12", "new" or ""). */
export interface SectionProps {
  item: string;
}

const sections: { key: string; label: string; C: ComponentType<SectionProps> }[] = [
  { key: 'users', label: 'Users', C: UsersSection },
  { key: 'extensions', label: 'Extensions', C: ExtensionsSection },
  { key: 'queues', label: 'Queues', C: QueuesSection },
  { key: 'reason-codes', label: 'Reason codes', C: ReasonCodesSection },
  { key: 'dids', label: 'DIDs', C: DIDsSection },
  { key: 'trunks', label: 'Trunks', C: TrunksSection },
];

/** AdminPage is #/admin/<section>/<item>. */
export function AdminPage({ arg }: { arg: string }) {
  if (!isAdmin.value) return <div class="page-error">The admin pages are for administrators.</div>;
  const [key, ...rest] = arg.split('/');
  const sec = sections.find((s) => s.key === key) ?? sections[0];
  const C = sec.C;
  return (
    <div class="admin-page">
      <nav class="admin-menu" aria-label="Administration">
        {sections.map((s) => (
          <a key={s.key} href={`#/admin/${s.key}`} class={s === sec ? 'active' : ''} data-testid={`admin-menu-${s.key}`}>
            {s.label}
          </a>
        ))}
      </nav>
      <div class="admin-content">
        <C key={sec.key} item={rest.join('/')} />
      </div>
    </div>
  );
}
