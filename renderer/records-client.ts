import type { RecordItem, RecordPage } from '../src/contracts.js';
import { gatehouse } from './api.js';

/** Why a records request failed: 'forbidden' (scope), 'not_found', or anything else. */
export class RecordsError extends Error {
  constructor(
    readonly kind: 'forbidden' | 'not_found' | 'invalid' | 'failed',
    readonly status: number,
  ) {
    super(`records request failed (${status})`);
  }
}

const PAGE_SIZE = 20;

/**
 * The records API of the resource service, with the session's access token as Bearer. The token is
 * asked of main for each request (main keeps it fresh); a 401 (token just expired or rotated) is
 * retried once with a new one.
 */
export class RecordsClient {
  private base: Promise<string> | undefined;

  list(cursor: string | null): Promise<RecordPage> {
    const query = new URLSearchParams({ limit: String(PAGE_SIZE) });
    if (cursor) query.set('cursor', cursor);
    return this.request<RecordPage>('GET', `/api/records?${query}`);
  }

  create(title: string, body: string): Promise<RecordItem> {
    return this.request<RecordItem>('POST', '/api/records', { title, body });
  }

  update(id: string, changes: { title?: string; body?: string }): Promise<RecordItem> {
    return this.request<RecordItem>('PATCH', `/api/records/${encodeURIComponent(id)}`, changes);
  }

  async remove(id: string): Promise<void> {
    await this.request<void>('DELETE', `/api/records/${encodeURIComponent(id)}`);
  }

  private async request<T>(method: string, path: string, json?: unknown): Promise<T> {
    let response = await this.send(method, path, json);
    if (response.status === 401) response = await this.send(method, path, json);
    if (response.status === 204) return undefined as T;
    if (response.ok) return (await response.json()) as T;
    const kind = response.status === 403 ? 'forbidden' : response.status === 404 ? 'not_found' : response.status === 400 ? 'invalid' : 'failed';
    throw new RecordsError(kind, response.status);
  }

  private async send(method: string, path: string, json: unknown): Promise<Response> {
    const token = await gatehouse().getAccessToken();
    if (!token.ok) throw new RecordsError('failed', 401);
    const headers: Record<string, string> = { Authorization: `Bearer ${token.accessToken}` };
    if (json !== undefined) headers['Content-Type'] = 'application/json';
    return fetch(`${await this.baseUrl()}${path}`, { method, headers, body: json === undefined ? null : JSON.stringify(json), credentials: 'omit', cache: 'no-store' });
  }

  private baseUrl(): Promise<string> {
    this.base ??= gatehouse()
      .getServiceUrl()
      .then((answer) => {
        if (!answer.ok) {
          this.base = undefined;
          throw new RecordsError('failed', 0);
        }
        return answer.url.replace(/\/+$/, '');
      });
    return this.base;
  }
}
