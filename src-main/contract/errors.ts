/**
 * Errors the services raise on purpose, each with the contract error code the front ends report it under
 * (HTTP status in browser mode, the envelope's `code` over IPC).
 */
import type { ApiErrorCode } from './types.ts';
import { ValidationError } from './schemas.ts';

/** A failure with a contract error code; the message is one line. */
export class ServiceError extends Error {
  constructor(
    message: string,
    readonly code: ApiErrorCode,
  ) {
    super(message);
    this.name = 'ServiceError';
  }
}

/** Something named in a request does not exist (a dataset id, a model, a job). */
export function notFound(message: string): ServiceError {
  return new ServiceError(message, 'not-found');
}

/** The request makes sense but clashes with the current state (a second training run, deleting a built-in model). */
export function conflict(message: string): ServiceError {
  return new ServiceError(message, 'conflict');
}

/** This front end cannot do it (e.g. a native dialog in browser mode). */
export function unsupported(message: string): ServiceError {
  return new ServiceError(message, 'unsupported');
}

/** Refused for safety: a path outside the folders the user opened. */
export class ForbiddenPathError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ForbiddenPathError';
  }
}

/** The contract code for any error, and its message reduced to one line. */
export function describeError(err: unknown): { code: ApiErrorCode; message: string } {
  const message = (err instanceof Error ? err.message : String(err)).split('\n')[0]!.trim() || 'unknown error';
  if (err instanceof ValidationError) return { code: 'validation', message };
  if (err instanceof ServiceError) return { code: err.code, message };
  // util/file-identity's FileChangedError (by name: the contract imports nothing of node): a save refused
  // because the file changed on disk since it was read.
  if (err instanceof Error && err.name === 'FileChangedError') return { code: 'conflict', message };
  const errno = (err as NodeJS.ErrnoException | null)?.code;
  if (errno === 'ENOENT') return { code: 'not-found', message };
  return { code: 'failed', message };
}
