/**
 * Writing a file the backend will not replace on its own (an existing file that is not an earlier export): in
 * browser mode the page asks the user and, if they agree, repeats the request with `overwrite`. The desktop app's
 * main process asks in its own dialog, so there the refusal stands.
 */
import { api, ApiError } from './api.ts';

export async function withOverwriteConsent<T>(request: (overwrite: boolean) => Promise<T>, question = 'Replace this file?'): Promise<T | null> {
  try {
    return await request(false);
  } catch (err) {
    if (!(err instanceof ApiError) || err.code !== 'conflict' || api.mode !== 'browser') throw err;
    if (!confirm(`${err.message}\n\n${question}`)) return null;
    return request(true);
  }
}
