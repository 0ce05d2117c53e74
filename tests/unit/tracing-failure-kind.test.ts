import { expect, test } from 'vitest';
import { failureKind } from '../../src/tracing/setup.js';

// The export warnings are throttled per kind of failure: a message that differs only in its
// counts is the same kind (docs/operations.md, "Tracing").
test('messages that differ only in their numbers are one kind of failure; others are not', () => {
  expect(failureKind('Dropped 1024 spans because maxQueueSize reached')).toBe(
    failureKind('Dropped 3 spans because maxQueueSize reached'),
  );
  expect(failureKind('connect ECONNREFUSED 127.0.0.1:4318')).not.toBe(
    failureKind('Dropped 3 spans because maxQueueSize reached'),
  );
});
