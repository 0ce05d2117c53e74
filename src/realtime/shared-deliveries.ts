import { type DocumentNode, type ExecutionArgs, type ExecutionResult, Kind, visit } from 'graphql';
import { noActiveUser } from '../errors.js';

/**
 * One change resolved once for all the subscribers that would get the same result: same tenant,
 * same role, same operation and variables (Hasura calls it multiplexing). Field resolution
 * depends on the tenant and the role only (src/auth/permissions.ts), with one exception: reading
 * `extractedData` writes a `view` audit row for the reader, so an operation that selects it is
 * resolved per subscription. Each subscriber's user is still checked at every delivery: the resolution
 * reads the roles of all the key's users in its transaction (`run`). A tenant of 50 subscribers of three roles costs three executions per change
 * instead of 50 (docs/benchmarks.md, "Realtime").
 */
export class SharedDeliveries {
  private readonly inFlight = new Map<string, Promise<SharedResolution>>();
  /** The subscribers of each key, by the auth id of their token (one user may hold several). */
  private readonly members = new Map<string, Map<string, number>>();
  private readonly documentIds = new WeakMap<DocumentNode, string>();
  private readonly audited = new WeakMap<DocumentNode, boolean>();
  private nextDocumentId = 0;
  private nextSubscriptionId = 0;

  /**
   * The key of the subscribers whose results cannot differ from this one's (without the change):
   * tenant, role, document, operation name and variables, and the subscription itself when the document reads
   * an audited field.
   */
  keyOf(args: ExecutionArgs, viewer: { id: string; tenantId: string; role: string }): string {
    const { document } = args;
    let documentId = this.documentIds.get(document);
    if (documentId === undefined) {
      documentId = String(this.nextDocumentId++);
      this.documentIds.set(document, documentId);
    }
    // Every delivery of an audited field is a read of its own (one `view` row per subscription,
    // also for two devices of one user): such a subscription shares its resolutions with nobody.
    const perUser = this.readsAuditedField(document) ? `${viewer.id}#${this.nextSubscriptionId++}` : '';
    const variables = JSON.stringify(args.variableValues ?? {});
    return [viewer.tenantId, viewer.role, perUser, documentId, args.operationName ?? '', variables].join('|');
  }

  /** A subscriber of `key` from now on; the function it returns ends that. */
  join(key: string, authId: string): () => void {
    let members = this.members.get(key);
    if (!members) {
      members = new Map();
      this.members.set(key, members);
    }
    members.set(authId, (members.get(authId) ?? 0) + 1);
    let left = false;
    return () => {
      if (left) return;
      left = true;
      const count = (members.get(authId) ?? 1) - 1;
      if (count > 0) members.set(authId, count);
      else members.delete(authId);
      if (members.size === 0) this.members.delete(key);
    };
  }

  /**
   * The result of the change `cursor` for `subscriber` (of `key`, with its role when it joined).
   * The first subscriber to ask runs `resolve` in its own transaction, given the auth ids of the
   * key's members: `resolve` reads their users' roles in that transaction too. The others take
   * its result when their user still exists with the key's role: a user removed meanwhile gets
   * UNAUTHENTICATED, one whose role changed resolves for itself (with its new role).
   */
  async run(
    key: string,
    cursor: number,
    subscriber: { authId: string; role: string },
    resolve: (authIds: string[]) => Promise<SharedResolution>,
  ): Promise<ExecutionResult> {
    const shareKey = `${key}|${cursor}`;
    const shared = this.inFlight.get(shareKey);
    if (!shared) {
      const own = resolve([...(this.members.get(key)?.keys() ?? [])]);
      this.inFlight.set(shareKey, own);
      // Kept while the other subscribers of the change ask for it (they pull within milliseconds
      // of each other); one that lags further behind resolves for itself.
      const forget = () => setTimeout(() => this.inFlight.delete(shareKey), SHARE_WINDOW_MS).unref();
      own.then(forget, forget);
      return (await own).result;
    }
    const { result, roles } = await shared;
    const role = roles?.get(subscriber.authId);
    if (roles && !isUnauthenticated(result)) {
      if (role === undefined) return { errors: [noActiveUser()] };
      if (role === subscriber.role) return result;
    }
    return (await resolve([])).result;
  }

  private readsAuditedField(document: DocumentNode): boolean {
    let reads = this.audited.get(document);
    if (reads === undefined) {
      reads = false;
      visit(document, {
        [Kind.FIELD]: (node) => {
          if (AUDITED_FIELDS.has(node.name.value)) reads = true;
        },
      });
      this.audited.set(document, reads);
    }
    return reads;
  }
}

/** Fields whose every read writes an audit row for the reader (Case.extractedData). */
const AUDITED_FIELDS = new Set(['extractedData']);
const SHARE_WINDOW_MS = 2_000;

/** A change resolved once for a key: the result, and the roles of the key's users (by auth id) then. */
export interface SharedResolution {
  result: ExecutionResult;
  /** Absent when the resolution failed before it read them. */
  roles?: Map<string, string>;
}

function isUnauthenticated(result: ExecutionResult): boolean {
  return result.errors?.some((error) => error.extensions?.code === 'UNAUTHENTICATED') ?? false;
}
