import { encodeGlobalID } from '@pothos/plugin-relay';
import { builder } from '../../builder.js';
import { payloadRow } from '../../compiled/payloads.js';
import { ConflictError, InvalidTransitionError, NotFoundError, ValidationError } from '../../errors.js';
import {
  assignTask,
  createTask,
  deleteTask,
  transitionTaskStatus,
  updateTask,
} from '../../services/tasks.js';
import { parseInput } from '../common/validation.js';
import {
  AssignTaskInput,
  assignTaskSchema,
  CreateTaskInput,
  createTaskSchema,
  DeleteTaskInput,
  deleteTaskSchema,
  TransitionTaskStatusInput,
  transitionTaskStatusSchema,
  UpdateTaskInput,
  updateTaskSchema,
} from './inputs.js';

/** `{ task }` payloads: the task is read back with the selection the client asked for, in one query. */
function taskPayload(name: string) {
  return builder.objectRef<{ taskId: string }>(name).implement({
    fields: (t) => ({
      task: t.prismaField({
        type: 'Task',
        extensions: payloadRow('taskId'),
        resolve: (query, payload, _args, ctx) =>
          ctx.db.task.findUniqueOrThrow({ ...query, where: { id: payload.taskId } }),
      }),
    }),
  });
}

const DeleteTaskPayload = builder.objectRef<{ deletedId: string }>('DeleteTaskPayload').implement({
  fields: (t) => ({ deletedId: t.exposeID('deletedId', { description: 'Global ID of the deleted task' }) }),
});

builder.mutationFields((t) => ({
  createTask: t.field({
    type: taskPayload('CreateTaskPayload'),
    authScopes: { can: 'task:create' },
    errors: {
      types: [ValidationError, NotFoundError],
      directResult: true,
      union: { name: 'CreateTaskResult' },
    },
    args: { input: t.arg({ type: CreateTaskInput, required: true }) },
    resolve: async (_root, args, ctx) => {
      const task = await createTask(ctx.actor, parseInput(createTaskSchema, args.input));
      return { taskId: task.id };
    },
  }),
  updateTask: t.field({
    type: taskPayload('UpdateTaskPayload'),
    authScopes: { can: 'task:update' },
    errors: {
      types: [ValidationError, NotFoundError, ConflictError],
      directResult: true,
      union: { name: 'UpdateTaskResult' },
    },
    args: { input: t.arg({ type: UpdateTaskInput, required: true }) },
    resolve: async (_root, args, ctx) => {
      const task = await updateTask(ctx.actor, parseInput(updateTaskSchema, args.input));
      return { taskId: task.id };
    },
  }),
  assignTask: t.field({
    type: taskPayload('AssignTaskPayload'),
    authScopes: { can: 'task:assign' },
    errors: {
      types: [NotFoundError, ValidationError],
      directResult: true,
      union: { name: 'AssignTaskResult' },
    },
    args: { input: t.arg({ type: AssignTaskInput, required: true }) },
    resolve: async (_root, args, ctx) => {
      const task = await assignTask(ctx.actor, parseInput(assignTaskSchema, args.input));
      return { taskId: task.id };
    },
  }),
  transitionTaskStatus: t.field({
    type: taskPayload('TransitionTaskStatusPayload'),
    authScopes: { can: 'task:transition' },
    errors: {
      types: [NotFoundError, InvalidTransitionError, ConflictError, ValidationError],
      directResult: true,
      union: { name: 'TransitionTaskStatusResult' },
    },
    args: { input: t.arg({ type: TransitionTaskStatusInput, required: true }) },
    resolve: async (_root, args, ctx) => {
      const task = await transitionTaskStatus(ctx.actor, parseInput(transitionTaskStatusSchema, args.input));
      return { taskId: task.id };
    },
  }),
  deleteTask: t.field({
    type: DeleteTaskPayload,
    authScopes: { can: 'task:delete' },
    errors: {
      types: [ValidationError, NotFoundError],
      directResult: true,
      union: { name: 'DeleteTaskResult' },
    },
    args: { input: t.arg({ type: DeleteTaskInput, required: true }) },
    resolve: async (_root, args, ctx) => {
      const id = await deleteTask(ctx.actor, parseInput(deleteTaskSchema, args.input));
      return { deletedId: encodeGlobalID('Task', id) };
    },
  }),
}));
