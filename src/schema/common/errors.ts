import { builder } from '../../builder.js';
import {
  type AppError,
  ConflictError,
  InvalidTransitionError,
  NotFoundError,
  ValidationError,
} from '../../errors.js';

/** The interface every error member of a mutation's result union implements. */
export const ErrorInterface = builder.interfaceRef<AppError>('Error').implement({
  description:
    'A failure the client can act on. `code` is stable: VALIDATION, NOT_FOUND, INVALID_TRANSITION, CONFLICT',
  fields: (t) => ({
    message: t.exposeString('message'),
    code: t.exposeString('code'),
  }),
});

const FieldErrorRef = builder.objectRef<{ path: string[]; message: string }>('FieldError').implement({
  description: 'One invalid input field; `path` is its path inside `input`, e.g. ["codes", "0", "code"]',
  fields: (t) => ({
    path: t.exposeStringList('path'),
    message: t.exposeString('message'),
  }),
});

builder.objectType(ValidationError, {
  name: 'ValidationError',
  description: 'Input that breaks a rule; nothing was written',
  interfaces: [ErrorInterface],
  isTypeOf: (value) => value instanceof ValidationError,
  fields: (t) => ({ fieldErrors: t.field({ type: [FieldErrorRef], resolve: (error) => error.fieldErrors }) }),
});

builder.objectType(NotFoundError, {
  name: 'NotFoundError',
  description:
    'A named row does not exist (or belongs to another clinic, which is the same to you); nothing was written',
  interfaces: [ErrorInterface],
  isTypeOf: (value) => value instanceof NotFoundError,
});

builder.objectType(InvalidTransitionError, {
  name: 'InvalidTransitionError',
  description: 'The workflow does not allow this status change; nothing was written',
  interfaces: [ErrorInterface],
  isTypeOf: (value) => value instanceof InvalidTransitionError,
  fields: (t) => ({
    from: t.exposeString('from', { description: 'Current status (enum name)' }),
    to: t.exposeString('to', { description: 'Requested status (enum name)' }),
  }),
});

builder.objectType(ConflictError, {
  name: 'ConflictError',
  description: 'The row changed since `expectedUpdatedAt`, or a unique rule would break; nothing was written',
  interfaces: [ErrorInterface],
  isTypeOf: (value) => value instanceof ConflictError,
});
