import { z } from 'zod';
import { builder } from '../../builder.js';
import { ROLES } from '../../domain/vocabulary.js';
import { UserRole } from '../common/enums.js';
import { globalIdOf } from '../common/ids.js';
import { optionalText, requiredText } from '../common/validation.js';

/** The users table's varchar(255) columns. */
const MAX_USER_TEXT = 255;

export const CreateUserInput = builder.inputType('CreateUserInput', {
  fields: (t) => ({
    email: t.string({
      required: true,
      description: 'Stored lower-cased; ConflictError when the tenant has a user with it',
    }),
    name: t.string(),
    role: t.field({ type: UserRole, required: true }),
    authId: t.string({
      required: true,
      description:
        "The identity provider's subject: the `sub` of the user's tokens, exactly. ConflictError when any user has it",
    }),
  }),
});

export const createUserSchema = z.object({
  // Lower-cased: the same mailbox is one user however it was typed.
  // Bounded after lower-casing too: a few letters (U+0130) grow when lower-cased.
  email: requiredText(MAX_USER_TEXT)
    .pipe(z.string().regex(/^[^\s@]+@[^\s@]+$/, 'must be an email address (name@domain)'))
    .transform((email) => email.toLowerCase())
    .pipe(z.string().max(MAX_USER_TEXT, `must be at most ${MAX_USER_TEXT} characters`)),
  name: optionalText(MAX_USER_TEXT).transform((v) => v ?? null),
  role: z.enum(ROLES),
  // Compared with tokens' `sub` byte for byte: never trimmed or folded, so whitespace is refused.
  authId: z
    .string()
    .min(1, 'must not be empty')
    .max(MAX_USER_TEXT, `must be at most ${MAX_USER_TEXT} characters`)
    .pipe(z.string().regex(/^\S+$/, "must not contain whitespace: it is the token's `sub`, exactly")),
});

export const UpdateUserInput = builder.inputType('UpdateUserInput', {
  description: 'Fields left out stay as they are; a role change applies from the user’s next request',
  fields: (t) => ({
    id: t.id({ required: true }),
    name: t.string({ description: 'null clears it' }),
    role: t.field({
      type: UserRole,
      description: 'ValidationError when it would leave the tenant without an active ADMIN',
    }),
    expectedUpdatedAt: t.field({
      type: 'DateTime',
      description: 'Optimistic concurrency: ConflictError when the user changed since',
    }),
  }),
});

export const updateUserSchema = z.object({
  id: globalIdOf('User'),
  name: optionalText(MAX_USER_TEXT),
  // null for a required field means "leave it", as absent does
  role: z
    .enum(ROLES)
    .nullish()
    .transform((v) => v ?? undefined),
  expectedUpdatedAt: z.date().nullish(),
});

export const SetUserActiveInput = builder.inputType('SetUserActiveInput', {
  fields: (t) => ({
    id: t.id({ required: true }),
    isActive: t.boolean({
      required: true,
      description:
        'false: the user is refused from the next request on and their open subscriptions end; ValidationError for yourself or the last active ADMIN',
    }),
  }),
});

export const setUserActiveSchema = z.object({ id: globalIdOf('User'), isActive: z.boolean() });
