import type { ExecutionArgs, ExecutionResult } from 'graphql';
import type { Context } from '../context.js';

/**
 * Runs a query operation as one SQL statement when the compiler covers every field it selects;
 * null when it does not, and the resolvers run it instead.
 */
export function executeCompiled(_args: ExecutionArgs, _ctx: Context): Promise<ExecutionResult> | null {
  return null;
}
