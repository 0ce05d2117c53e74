import { type DocumentNode, type ExecutionArgs, type ExecutionResult, Kind, visit } from 'graphql';

/**
 * One change resolved once for all the subscribers that would get the same result: same tenant,
 * same role, same operation and variables (Hasura calls it multiplexing). Field resolution
 * depends on the tenant and the role only (src/auth/permissions.ts), with one exception: reading
 * `extractedData` writes a `view` audit row for the reader, so an operation that selects it is
 * resolved per user. A tenant of 50 subscribers of three roles costs three executions per change
 * instead of 50 (docs/benchmarks.md, "Realtime").
 */
export class SharedDeliveries {
  private readonly inFlight = new Map<string, Promise<ExecutionResult>>();
  private readonly documentIds = new WeakMap<DocumentNode, string>();
  private readonly audited = new WeakMap<DocumentNode, boolean>();
  private nextDocumentId = 0;

  /**
   * The key of the subscribers whose results cannot differ from this one's (without the change):
   * tenant, role, document, operation name and variables, and the user when the document reads
   * an audited field.
   */
  keyOf(args: ExecutionArgs, viewer: { id: string; tenantId: string; role: string }): string {
    const { document } = args;
    let documentId = this.documentIds.get(document);
    if (documentId === undefined) {
      documentId = String(this.nextDocumentId++);
      this.documentIds.set(document, documentId);
    }
    const perUser = this.readsAuditedField(document) ? viewer.id : '';
    const variables = JSON.stringify(args.variableValues ?? {});
    return [viewer.tenantId, viewer.role, perUser, documentId, args.operationName ?? '', variables].join('|');
  }

  /**
   * `execute`'s result for `key` and the change `cursor`: the first subscriber to ask runs it, the
   * others of the same key take its result. An UNAUTHENTICATED result (the first one's user is
   * gone) is that subscriber's alone: the others run their own.
   */
  async run(key: string, cursor: number, execute: () => Promise<ExecutionResult>): Promise<ExecutionResult> {
    const shareKey = `${key}|${cursor}`;
    const shared = this.inFlight.get(shareKey);
    if (shared) {
      const result = await shared;
      return isUnauthenticated(result) ? execute() : result;
    }
    const own = execute();
    this.inFlight.set(shareKey, own);
    // Kept while the other subscribers of the change ask for it (they pull within milliseconds of
    // each other); one that lags further behind runs its own.
    const forget = () => setTimeout(() => this.inFlight.delete(shareKey), SHARE_WINDOW_MS).unref();
    own.then(forget, forget);
    return own;
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

function isUnauthenticated(result: ExecutionResult): boolean {
  return result.errors?.some((error) => error.extensions?.code === 'UNAUTHENTICATED') ?? false;
}
