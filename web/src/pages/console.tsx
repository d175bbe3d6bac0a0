import { render } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { GridStack, type GridStackNode } from 'gridstack';
import { widgetDefs, type WidgetDef } from '../widgets/registry';
import { deleteConsole, getConsole, saveConsole, type ConsoleDoc, type PlacedWidget } from '../consoles';
import { act, notify } from '../session';
import { go } from '../router';
import { ApiError } from '../api';
import { Modal } from '../components/modal';

let widgetSeq = 0;
const newWidgetID = () => `w${Date.now().toString(36)}${(widgetSeq++).toString(36)}`;

/** ConsolePage is one console: a grid of widgets the user arranges and saves (SPEC C1). */
export function ConsolePage({ id }: { id: number }) {
  const [doc, setDoc] = useState<ConsoleDoc | null>(null);
  const [error, setError] = useState('');
  useEffect(() => {
    setDoc(null);
    getConsole(id).then(setDoc, (e) => setError(e.message));
  }, [id]);
  if (error) return <div class="page-error">{error}</div>;
  if (!doc) return <div class="loading">Loading console…</div>;
  return <ConsoleGrid key={doc.id} doc={doc} onSaved={setDoc} />;
}

function ConsoleGrid({ doc, onSaved }: { doc: ConsoleDoc; onSaved: (d: ConsoleDoc) => void }) {
  const gridEl = useRef<HTMLDivElement>(null);
  const grid = useRef<GridStack | null>(null);
  // The widgets' types and configs; gridstack owns their positions.
  const items = useRef(new Map<string, PlacedWidget>());
  const [editing, setEditing] = useState(doc.layout.length === 0);
  const [dirty, setDirty] = useState(false);
  const [adding, setAdding] = useState(false);
  const [configuring, setConfiguring] = useState<{ def: WidgetDef; w: PlacedWidget; isNew: boolean } | null>(null);
  const [renaming, setRenaming] = useState(false);
  const version = useRef(doc.version);
  const editingRef = useRef(editing);
  editingRef.current = editing;

  const renderItem = (w: PlacedWidget) => {
    const el = gridEl.current?.querySelector<HTMLElement>(`[gs-id="${w.id}"] .grid-stack-item-content`);
    if (!el) return;
    render(
      <WidgetFrame
        w={w}
        editing={editingRef.current}
        onRemove={() => removeItem(w.id)}
        onConfigure={() => {
          const def = widgetDefs.get(w.type);
          if (def?.Configure) setConfiguring({ def, w, isNew: false });
        }}
        setConfig={(c) => {
          const cur = items.current.get(w.id);
          if (!cur) return;
          const next = { ...cur, config: c };
          items.current.set(w.id, next);
          setDirty(true);
          renderItem(next);
        }}
      />,
      el,
    );
  };

  const addItem = (w: PlacedWidget) => {
    const g = grid.current!;
    items.current.set(w.id, w);
    const def = widgetDefs.get(w.type);
    const el = g.addWidget({ id: w.id, x: w.x, y: w.y, w: w.w, h: w.h, minW: def?.size.minW, minH: def?.size.minH });
    if (!el) return;
    el.setAttribute('data-widget-type', w.type);
    renderItem(w);
  };

  const removeItem = (id: string) => {
    const el = gridEl.current?.querySelector<HTMLElement>(`[gs-id="${id}"]`);
    const content = el?.querySelector<HTMLElement>('.grid-stack-item-content');
    if (content) render(null, content);
    if (el) grid.current?.removeWidget(el);
    items.current.delete(id);
    setDirty(true);
  };

  useEffect(() => {
    const g = GridStack.init(
      { column: 12, cellHeight: 64, margin: 6, mode: 'top', animate: false, columnOpts: { breakpoints: [{ w: 900, c: 1 }] } },
      gridEl.current!,
    )!;
    grid.current = g;
    for (const w of doc.layout) {
      if (!widgetDefs.has(w.type)) continue; // a widget type this build does not know
      addItem(w);
    }
    g.setStatic(!editingRef.current);
    g.on('change', () => setDirty(true));
    return () => {
      for (const w of items.current.values()) {
        const content = gridEl.current?.querySelector<HTMLElement>(`[gs-id="${w.id}"] .grid-stack-item-content`);
        if (content) render(null, content);
      }
      g.destroy(false);
      grid.current = null;
      items.current.clear();
    };
  }, []);

  useEffect(() => {
    grid.current?.setStatic(!editing);
    for (const w of items.current.values()) renderItem(w);
  }, [editing]);

  // Leaving with unsaved layout changes asks first.
  useEffect(() => {
    const h = (e: BeforeUnloadEvent) => {
      if (dirty) e.preventDefault();
    };
    window.addEventListener('beforeunload', h);
    return () => window.removeEventListener('beforeunload', h);
  }, [dirty]);

  const layout = (): PlacedWidget[] => {
    const nodes = (grid.current?.save(false) as GridStackNode[]) ?? [];
    const out: PlacedWidget[] = [];
    for (const n of nodes) {
      const w = items.current.get(String(n.id));
      if (w) out.push({ ...w, x: n.x ?? 0, y: n.y ?? 0, w: n.w ?? w.w, h: n.h ?? w.h });
    }
    return out;
  };

  const save = async (name?: string) => {
    try {
      const saved = await saveConsole({ id: doc.id, name: name ?? doc.name, layout: layout(), version: version.current });
      version.current = saved.version;
      setDirty(false);
      onSaved(saved);
      notify('Layout saved', 'info');
    } catch (e) {
      if (e instanceof ApiError && e.status === 409)
        notify('This console was changed elsewhere (another tab?). Reload it to see that version, or save again to overwrite.');
      else notify('Save layout: ' + (e as Error).message);
      if (e instanceof ApiError && e.status === 409) version.current = undefined;
    }
  };

  const startAdd = (def: WidgetDef) => {
    setAdding(false);
    const w: PlacedWidget = { id: newWidgetID(), type: def.type, x: 0, y: 0, w: def.size.w, h: def.size.h, config: def.defaultConfig() };
    // Place it below everything else; gridstack packs it upwards.
    const nodes = grid.current?.engine.nodes ?? [];
    w.y = nodes.reduce((m, n) => Math.max(m, (n.y ?? 0) + (n.h ?? 0)), 0);
    if (def.Configure) setConfiguring({ def, w, isNew: true });
    else {
      addItem(w);
      setDirty(true);
    }
  };

  return (
    <div class="console-page">
      <div class="console-toolbar">
        <h1 data-testid="console-name">{doc.name}</h1>
        {dirty && <span class="unsaved">unsaved changes</span>}
        <span class="spacer" />
        {editing && (
          <>
            <button onClick={() => setAdding(true)} data-testid="add-widget">
              + Add widget
            </button>
            <button onClick={() => setRenaming(true)}>Rename</button>
            <button
              class="danger"
              onClick={async () => {
                if (!confirm(`Delete the console "${doc.name}"?`)) return;
                if (await act('Delete console', () => deleteConsole(doc.id))) go('#/');
              }}
            >
              Delete console
            </button>
          </>
        )}
        <button class={editing ? '' : 'primary'} onClick={() => setEditing(!editing)} data-testid="edit-console">
          {editing ? 'Done editing' : 'Edit'}
        </button>
        <button class="primary" disabled={!dirty} onClick={() => save()} data-testid="save-layout">
          Save layout
        </button>
      </div>
      {doc.layout.length === 0 && items.current.size === 0 && (
        <p class="hint">This console is empty: add widgets with “+ Add widget”, arrange them, then “Save layout”.</p>
      )}
      <div class="grid-stack" ref={gridEl} />
      {adding && (
        <Modal title="Add a widget" onClose={() => setAdding(false)}>
          <div class="widget-picker">
            {[...widgetDefs.values()].map((d) => (
              <button key={d.type} class="widget-choice" onClick={() => startAdd(d)} data-testid={`add-${d.type}`}>
                <strong>{d.title}</strong>
                <span>{d.description}</span>
              </button>
            ))}
          </div>
        </Modal>
      )}
      {configuring && configuring.def.Configure && (
        <Modal title={`${configuring.def.title}: settings`} onClose={() => setConfiguring(null)}>
          <configuring.def.Configure
            config={configuring.w.config}
            done={(c) => {
              const { w, isNew } = configuring;
              setConfiguring(null);
              if (!c) return;
              const next = { ...w, config: c as Record<string, unknown> };
              if (isNew) addItem(next);
              else {
                items.current.set(w.id, next);
                renderItem(next);
              }
              setDirty(true);
            }}
          />
        </Modal>
      )}
      {renaming && (
        <RenameDialog
          name={doc.name}
          done={async (name) => {
            setRenaming(false);
            if (name && name !== doc.name) await save(name);
          }}
        />
      )}
    </div>
  );
}

function RenameDialog({ name, done }: { name: string; done: (n: string | null) => void }) {
  const [v, setV] = useState(name);
  return (
    <Modal title="Rename console" onClose={() => done(null)}>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          done(v.trim());
        }}
      >
        <input value={v} onInput={(e) => setV((e.target as HTMLInputElement).value)} maxLength={80} autoFocus />
        <div class="dialog-buttons">
          <button type="button" onClick={() => done(null)}>
            Cancel
          </button>
          <button class="primary" type="submit" disabled={!v.trim()}>
            Rename
          </button>
        </div>
      </form>
    </Modal>
  );
}

function WidgetFrame(props: {
  w: PlacedWidget;
  editing: boolean;
  onRemove: () => void;
  onConfigure: () => void;
  setConfig: (c: any) => void;
}) {
  const def = widgetDefs.get(props.w.type);
  if (!def) return <div class="widget">Unknown widget “{props.w.type}”</div>;
  const C = def.Component;
  return (
    <section class="widget" data-testid={`widget-${def.type}`}>
      <header class="widget-header">
        <h2>{def.caption?.(props.w.config) ?? def.title}</h2>
        <span class="spacer" />
        {def.Configure && (
          <button class="icon" title="Settings" onClick={props.onConfigure} data-testid="widget-settings">
            ⚙
          </button>
        )}
        {props.editing && (
          <button class="icon" title="Remove widget" onClick={props.onRemove} data-testid="remove-widget">
            ✕
          </button>
        )}
      </header>
      <div class="widget-body">
        <C id={props.w.id} config={props.w.config} setConfig={props.setConfig} editing={props.editing} />
      </div>
    </section>
  );
}
