import { builder } from '../../builder.js';
import { payloadRow } from '../../compiled/payloads.js';
import { ConflictError, NotFoundError, ValidationError } from '../../errors.js';
import { createUser, setUserActive, updateUser } from '../../services/users.js';
import { parseInput } from '../common/validation.js';
import {
  CreateUserInput,
  createUserSchema,
  SetUserActiveInput,
  setUserActiveSchema,
  UpdateUserInput,
  updateUserSchema,
} from './inputs.js';

/** `{ user }` payloads: the user is read back with the selection the client asked for. */
function userPayload(name: string) {
  return builder.objectRef<{ userId: string }>(name).implement({
    fields: (t) => ({
      user: t.prismaField({
        type: 'User',
        extensions: payloadRow('userId'),
        resolve: (query, payload, _args, ctx) =>
          ctx.db.user.findUniqueOrThrow({
            ...query,
            where: { id: payload.userId, tenantId: ctx.viewer.tenantId },
          }),
      }),
    }),
  });
}

builder.mutationFields((t) => ({
  createUser: t.field({
    type: userPayload('CreateUserPayload'),
    authScopes: { can: 'user:create' },
    errors: {
      types: [ValidationError, ConflictError],
      directResult: true,
      union: { name: 'CreateUserResult' },
    },
    args: { input: t.arg({ type: CreateUserInput, required: true }) },
    resolve: async (_root, args, ctx) => {
      const user = await createUser(ctx.actor, parseInput(createUserSchema, args.input));
      return { userId: user.id };
    },
  }),
  updateUser: t.field({
    type: userPayload('UpdateUserPayload'),
    authScopes: { can: 'user:update' },
    errors: {
      types: [ValidationError, NotFoundError, ConflictError],
      directResult: true,
      union: { name: 'UpdateUserResult' },
    },
    args: { input: t.arg({ type: UpdateUserInput, required: true }) },
    resolve: async (_root, args, ctx) => {
      const user = await updateUser(ctx.actor, parseInput(updateUserSchema, args.input));
      return { userId: user.id };
    },
  }),
  setUserActive: t.field({
    type: userPayload('SetUserActivePayload'),
    authScopes: { can: 'user:setActive' },
    errors: {
      types: [ValidationError, NotFoundError],
      directResult: true,
      union: { name: 'SetUserActiveResult' },
    },
    args: { input: t.arg({ type: SetUserActiveInput, required: true }) },
    resolve: async (_root, args, ctx) => {
      const user = await setUserActive(ctx.actor, parseInput(setUserActiveSchema, args.input));
      return { userId: user.id };
    },
  }),
}));
