import { encodeGlobalID } from '@pothos/plugin-relay';
import { builder } from '../../builder.js';
import { payloadRow } from '../../compiled/payloads.js';
import { ConflictError, InvalidTransitionError, NotFoundError, ValidationError } from '../../errors.js';
import {
  addCaseCode,
  createCase,
  deleteCase,
  removeCaseCode,
  transitionCaseStatus,
  updateCase,
} from '../../services/cases.js';
import { parseInput } from '../common/validation.js';
import {
  AddCaseCodeInput,
  addCaseCodeSchema,
  CreateCaseInput,
  createCaseSchema,
  DeleteCaseInput,
  deleteCaseSchema,
  RemoveCaseCodeInput,
  removeCaseCodeSchema,
  TransitionCaseStatusInput,
  transitionCaseStatusSchema,
  UpdateCaseInput,
  updateCaseSchema,
} from './inputs.js';

/** `{ case, … }` payloads: the case is read back with the selection the client asked for, in one query. */
function casePayload<Shape extends { caseId: string }>(name: string) {
  return builder.objectRef<Shape>(name).implement({
    fields: (t) => ({
      case: t.prismaField({
        type: 'Case',
        extensions: payloadRow('caseId'),
        resolve: (query, payload, _args, ctx) =>
          ctx.db.case.findUniqueOrThrow({ ...query, where: { id: payload.caseId } }),
      }),
    }),
  });
}

const AddCaseCodePayload = casePayload<{ caseId: string; codeId: string }>('AddCaseCodePayload');
builder.objectFields(AddCaseCodePayload, (t) => ({
  caseCode: t.prismaField({
    type: 'CaseCode',
    resolve: (query, payload, _args, ctx) =>
      ctx.db.caseCode.findUniqueOrThrow({ ...query, where: { id: payload.codeId } }),
  }),
}));

const RemoveCaseCodePayload = casePayload<{ caseId: string; removedId: string }>('RemoveCaseCodePayload');
builder.objectFields(RemoveCaseCodePayload, (t) => ({
  removedId: t.exposeID('removedId', { description: 'Global ID of the removed case code' }),
}));

const DeleteCasePayload = builder.objectRef<{ deletedId: string }>('DeleteCasePayload').implement({
  fields: (t) => ({ deletedId: t.exposeID('deletedId', { description: 'Global ID of the deleted case' }) }),
});

builder.mutationFields((t) => ({
  createCase: t.field({
    type: casePayload('CreateCasePayload'),
    authScopes: { can: 'case:create' },
    errors: {
      types: [ValidationError, NotFoundError],
      directResult: true,
      union: { name: 'CreateCaseResult' },
    },
    args: { input: t.arg({ type: CreateCaseInput, required: true }) },
    resolve: async (_root, args, ctx) => {
      const input = parseInput(createCaseSchema, args.input);
      const row = await createCase(ctx.actor, ctx.memberIdHashKey, input as never);
      return { caseId: row.id };
    },
  }),
  updateCase: t.field({
    type: casePayload('UpdateCasePayload'),
    authScopes: { can: 'case:update' },
    errors: {
      types: [ValidationError, NotFoundError, ConflictError],
      directResult: true,
      union: { name: 'UpdateCaseResult' },
    },
    args: { input: t.arg({ type: UpdateCaseInput, required: true }) },
    resolve: async (_root, args, ctx) => {
      const row = await updateCase(ctx.actor, parseInput(updateCaseSchema, args.input) as never);
      return { caseId: row.id };
    },
  }),
  transitionCaseStatus: t.field({
    type: casePayload('TransitionCaseStatusPayload'),
    authScopes: { can: 'case:transition' },
    errors: {
      types: [NotFoundError, InvalidTransitionError, ConflictError, ValidationError],
      directResult: true,
      union: { name: 'TransitionCaseStatusResult' },
    },
    args: { input: t.arg({ type: TransitionCaseStatusInput, required: true }) },
    resolve: async (_root, args, ctx) => {
      const row = await transitionCaseStatus(ctx.actor, parseInput(transitionCaseStatusSchema, args.input));
      return { caseId: row.id };
    },
  }),
  addCaseCode: t.field({
    type: AddCaseCodePayload,
    authScopes: { can: 'caseCode:add' },
    errors: {
      types: [ValidationError, NotFoundError],
      directResult: true,
      union: { name: 'AddCaseCodeResult' },
    },
    args: { input: t.arg({ type: AddCaseCodeInput, required: true }) },
    resolve: async (_root, args, ctx) => {
      const code = await addCaseCode(ctx.actor, parseInput(addCaseCodeSchema, args.input));
      return { caseId: code.caseId, codeId: code.id };
    },
  }),
  removeCaseCode: t.field({
    type: RemoveCaseCodePayload,
    authScopes: { can: 'caseCode:remove' },
    errors: {
      types: [ValidationError, NotFoundError],
      directResult: true,
      union: { name: 'RemoveCaseCodeResult' },
    },
    args: { input: t.arg({ type: RemoveCaseCodeInput, required: true }) },
    resolve: async (_root, args, ctx) => {
      const code = await removeCaseCode(ctx.actor, parseInput(removeCaseCodeSchema, args.input));
      return { caseId: code.caseId, removedId: encodeGlobalID('CaseCode', code.id) };
    },
  }),
  deleteCase: t.field({
    type: DeleteCasePayload,
    authScopes: { can: 'case:delete' },
    errors: {
      types: [ValidationError, NotFoundError],
      directResult: true,
      union: { name: 'DeleteCaseResult' },
    },
    args: { input: t.arg({ type: DeleteCaseInput, required: true }) },
    resolve: async (_root, args, ctx) => {
      const id = await deleteCase(ctx.actor, parseInput(deleteCaseSchema, args.input));
      return { deletedId: encodeGlobalID('Case', id) };
    },
  }),
}));
