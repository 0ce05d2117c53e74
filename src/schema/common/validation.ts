import { z } from 'zod';
import { ValidationError } from '../../errors.js';
import { UNSTORABLE_TEXT, unstorableTextPaths } from './input-limits.js';

/**
 * Parses a mutation's `input` with its zod schema, inside the resolver: after the role check
 * (scope-auth), so a refused caller learns nothing about their input, and before any read or
 * write. Every bad field is one entry, its path relative to `input`.
 *
 * Pothos' validation plugin would run before scope-auth (it maps arguments ahead of resolver
 * wrappers), which is why it is not used.
 *
 * U+0000 is refused in every string of the input, JSON values and keys included, whatever its
 * schema says: PostgreSQL can store it neither in text nor in jsonb.
 */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  const nul = unstorableTextPaths(input).map((path) => ({ path, message: UNSTORABLE_TEXT }));
  const result = schema.safeParse(input);
  if (result.success && nul.length === 0) return result.data;
  const issues = result.success
    ? []
    : result.error.issues.map((issue) => ({ path: issue.path.map(String), message: issue.message }));
  throw new ValidationError([...issues, ...nul]);
}

/** Trimmed; whitespace-only counts as empty. */
export const requiredText = (max: number) =>
  z.string().trim().min(1, 'must not be empty').max(max, `must be at most ${max} characters`);
/**
 * Trimmed; empty or whitespace-only is null. `max` characters at most: every text a client writes
 * is bounded, however the column is typed (a TEXT column takes 1 GB; a request stays small).
 */
export const optionalText = (max: number) =>
  z
    .string()
    .trim()
    .max(max, `must be at most ${max} characters`)
    .nullish()
    .transform((v) => (v === '' ? null : v));
