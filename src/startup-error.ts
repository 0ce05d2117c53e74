/**
 * A start-up failure the operator can fix, named with its cause and the fix: src/index.ts prints
 * its message as the one line of a failed start, without a stack (which would only hide it).
 */
export class StartupError extends Error {
  override name = 'StartupError';
}
