// DIDs (SPEC X1): the public numbers a trunk delivers, each routed to an
// extension or a queue. The API creates and deletes them (no edit: delete
// and add again to move one).

import { useState } from 'preact/hooks';
import { del, post } from '../api';
import type { SectionProps } from './admin';
import { DataTable, DeleteButton, Field, Form, Panel, SaveRow, Text, useResource, useSubmit, type DID, type Extension, type Queue, type Trunk } from './ui';

export function DIDsSection(_: SectionProps) {
  const dids = useResource('/api/dids', (d) => (d.dids ?? []) as DID[]);
  const trunks = useResource('/api/trunks', (d) => (d.trunks ?? []) as Trunk[]);
  const queues = useResource('/api/queues', (d) => (d.queues ?? []) as Queue[]);
  const exts = useResource('/api/extensions', (d) => (d.extensions ?? []) as Extension[]);
  const trunkName = (id: number) => (trunks.data ?? []).find((t) => t.id === id)?.name ?? `#${id}`;
  const targetName = (d: DID) =>
    d.target_kind === 'queue'
      ? (queues.data ?? []).find((q) => q.number === d.target)?.name ?? ''
      : (exts.data ?? []).find((e) => e.number === d.target)?.display_name ?? '';
  return (
    <div class="admin-section">
      <div class="section-head">
        <h1>DIDs</h1>
      </div>
      {dids.error && <div class="form-error">{dids.error}</div>}
      <div class="admin-split">
        <div class="admin-list">
          {dids.data ? (
            <DataTable
              testid="dids-table"
              rows={dids.data}
              rowKey={(d) => d.number}
              columns={[
                { key: 'number', label: 'Number', value: (d) => d.number },
                { key: 'trunk', label: 'Trunk', value: (d) => trunkName(d.trunk_id) },
                { key: 'target', label: 'Routes to', value: (d) => `${d.target_kind} ${d.target} ${targetName(d)}`.trim() },
                {
                  key: 'del',
                  label: '',
                  value: () => '',
                  render: (d) => (
                    <DeleteButton
                      small
                      what={`DID ${d.number}`}
                      onDelete={async () => {
                        await del(`/api/dids/${encodeURIComponent(d.number)}`);
                        await dids.reload();
                      }}
                    />
                  ),
                },
              ]}
            />
          ) : (
            <div class="loading">Loading…</div>
          )}
        </div>
        <div class="admin-detail">
          <DIDForm trunks={trunks.data ?? []} queues={queues.data ?? []} exts={exts.data ?? []} onSaved={() => dids.reload()} />
        </div>
      </div>
    </div>
  );
}

function DIDForm(props: { trunks: Trunk[]; queues: Queue[]; exts: Extension[]; onSaved: () => void }) {
  const [number, setNumber] = useState('');
  const [trunk, setTrunk] = useState('');
  const [kind, setKind] = useState('queue');
  const [target, setTarget] = useState('');
  const { error, busy, run } = useSubmit();
  const trunkID = trunk || (props.trunks[0] ? String(props.trunks[0].id) : '');
  const targets = kind === 'queue' ? props.queues.map((q) => [q.number, q.name]) : props.exts.map((e) => [e.number, e.display_name]);
  return (
    <Panel title="New DID" testid="did-editor">
      <Form
        onSubmit={() =>
          run(async () => {
            await post('/api/dids', { number, trunk_id: Number(trunkID) || 0, target_kind: kind, target });
            setNumber('');
            props.onSaved();
          })
        }
        error={error}
        fields={['number', 'trunk_id', 'target_kind', 'target']}
      >
        <div class="form-grid">
          <Field name="number" label="Number" hint="E.164 or national; stored as E.164.">
            <Text value={number} set={setNumber} testid="did-number" />
          </Field>
          <Field name="trunk_id" label="Trunk">
            <select value={trunkID} onChange={(e) => setTrunk((e.target as HTMLSelectElement).value)} data-testid="did-trunk">
              {props.trunks.length === 0 && <option value="">— no trunks —</option>}
              {props.trunks.map((t) => (
                <option key={t.id} value={String(t.id)}>
                  {t.name}
                </option>
              ))}
            </select>
          </Field>
          <Field name="target_kind" label="Routes to">
            <select
              value={kind}
              onChange={(e) => {
                setKind((e.target as HTMLSelectElement).value);
                setTarget('');
              }}
              data-testid="did-kind"
            >
              <option value="queue">Queue</option>
              <option value="extension">Extension</option>
            </select>
          </Field>
          <Field name="target" label={kind === 'queue' ? 'Queue' : 'Extension'}>
            <select value={target} onChange={(e) => setTarget((e.target as HTMLSelectElement).value)} data-testid="did-target">
              <option value="">—</option>
              {targets.map(([n, name]) => (
                <option key={n} value={n}>
                  {n} {name}
                </option>
              ))}
            </select>
          </Field>
        </div>
        <SaveRow busy={busy} label="Add DID" />
      </Form>
    </Panel>
  );
}
