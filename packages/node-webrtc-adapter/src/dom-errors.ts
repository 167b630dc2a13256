/** The `DOMException`s the adapter throws and rejects with, named as in browsers. */

/** `InvalidStateError`: wrong signalling state, or a closed connection. */
export function invalidState(message: string): DOMException {
  return new DOMException(message, 'InvalidStateError');
}

/** `OperationError`: node-datachannel refused; its message is appended. */
export function operationError(message: string, cause: unknown): DOMException {
  const detail = cause instanceof Error ? cause.message : String(cause);
  return new DOMException(`${message}: ${detail}`, 'OperationError');
}
