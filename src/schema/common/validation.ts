import { z } from 'zod';
import { ValidationError } from '../../errors.js';

/**
 * Parses a mutation's `input` with its zod schema, inside the resolver: after the role check
 * (scope-auth), so a refused caller learns nothing about their input, and before any read or
 * write. Every bad field is one entry, its path relative to `input`.
 *
 * Pothos' validation plugin would run before scope-auth (it maps arguments ahead of resolver
 * wrappers), which is why it is not used.
 */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  throw new ValidationError(
    result.error.issues.map((issue) => ({ path: issue.path.map(String), message: issue.message })),
  );
}

/** Trimmed; whitespace-only counts as empty. */
export const requiredText = (max: number) =>
  z.string().trim().min(1, 'must not be empty').max(max, `must be at most ${max} characters`);
export const optionalText = z
  .string()
  .trim()
  .nullish()
  .transform((v) => (v === '' ? null : v));
