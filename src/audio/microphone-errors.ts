import { ErrorCode, RxwireError } from '../protocol/errors.js';

/** Codes a {@link MicrophoneError} carries. */
export type MicrophoneErrorCode =
  | typeof ErrorCode.MicPermissionDenied
  | typeof ErrorCode.MicNotFound
  | typeof ErrorCode.MicUnsupported
  | typeof ErrorCode.MicFailed;

/**
 * Capturing could not start, or stopped with an error. `code` says why
 * (`RXWIRE_MIC_PERMISSION_DENIED`, `RXWIRE_MIC_NOT_FOUND`, `RXWIRE_MIC_UNSUPPORTED`,
 * `RXWIRE_MIC_FAILED`); `cause` holds the browser's `DOMException` when there was one.
 */
export class MicrophoneError extends RxwireError {
  override name = 'MicrophoneError';
  constructor(
    public override readonly code: MicrophoneErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
  }
}

/** Maps a getUserMedia rejection to a {@link MicrophoneError}. */
export function mapMediaError(error: unknown): MicrophoneError {
  const name = (error as { name?: unknown } | null)?.name;
  const detail = describe(error);
  switch (name) {
    case 'NotAllowedError':
    case 'PermissionDeniedError': // Chrome before 64
    case 'SecurityError': // a Permissions Policy blocks the microphone
      return new MicrophoneError(
        ErrorCode.MicPermissionDenied,
        `microphone permission denied: ${detail}`,
        { cause: error },
      );
    case 'NotFoundError':
    case 'DevicesNotFoundError': // Chrome before 64
    case 'OverconstrainedError': {
      const constraint = (error as { constraint?: unknown }).constraint;
      return new MicrophoneError(
        ErrorCode.MicNotFound,
        `no microphone matches${typeof constraint === 'string' && constraint ? ` (constraint '${constraint}')` : ''}: ${detail}`,
        { cause: error },
      );
    }
    case 'TypeError':
      return new MicrophoneError(
        ErrorCode.MicUnsupported,
        `getUserMedia refused the request: ${detail}`,
        {
          cause: error,
        },
      );
    default:
      // NotReadableError (device busy or broken), AbortError and the rest.
      return new MicrophoneError(ErrorCode.MicFailed, `could not start the microphone: ${detail}`, {
        cause: error,
      });
  }
}

export function describe(error: unknown): string {
  if (
    error instanceof Error ||
    (typeof error === 'object' && error !== null && 'message' in error)
  ) {
    const { name, message } = error as { name?: unknown; message?: unknown };
    return `${String(name ?? 'Error')}: ${String(message ?? '')}`;
  }
  return String(error);
}
