// The console's only way to change anything: Switchboard's REST API. Every
// failure is an ApiError carrying the server's stable code and message, so a
// refused action can be shown to the user as the server explained it.

/** ApiError is an API answer that was not 2xx. */
export class ApiError extends Error {
  constructor(
    public status: number,
    public code: string,
    message: string,
  ) {
    super(message);
  }
}

/** onUnauthenticated is called when the session has ended (401). */
let onUnauthenticated: () => void = () => {};

export function setUnauthenticatedHandler(f: () => void) {
  onUnauthenticated = f;
}

/** request sends one API call with the session cookie and decodes the JSON answer. */
export async function request<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      credentials: 'same-origin',
      headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (e) {
    throw new ApiError(0, 'network', 'Switchboard cannot be reached: ' + String(e));
  }
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  let data: any = undefined;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = { code: 'bad_response', message: text.slice(0, 200) };
    }
  }
  if (!res.ok) {
    if (res.status === 401 && path !== '/api/login') onUnauthenticated();
    throw new ApiError(res.status, data?.code ?? 'http_' + res.status, data?.message ?? res.statusText);
  }
  return data as T;
}

export const get = <T>(path: string) => request<T>('GET', path);
export const post = <T>(path: string, body?: unknown) => request<T>('POST', path, body ?? {});
export const put = <T>(path: string, body?: unknown) => request<T>('PUT', path, body ?? {});
export const patch = <T>(path: string, body?: unknown) => request<T>('PATCH', path, body ?? {});
export const del = <T>(path: string) => request<T>('DELETE', path);

/** describe turns any thrown value into a sentence for the user. */
export function describe(e: unknown): string {
  if (e instanceof ApiError) return e.message || e.code;
  return String(e);
}
