import {
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLField,
  type GraphQLObjectType,
  type GraphQLSchema,
  getNamedType,
  isObjectType,
} from 'graphql';
import { collectSubfields } from 'graphql/execution/collectFields.js';
import type { Context } from '../context.js';
import type { Role } from '../domain/vocabulary.js';
import { lit, Untranslatable } from './sql.js';

/**
 * The two phases of compiling: a Builder walks an operation's selection once into emitters (the
 * skeleton), and a Gen runs them into one SQL text per shape of the arguments, numbering its
 * parameters as they are first asked for.
 */

/** What one request's arguments make of a site: `key` selects the cached SQL, `values` fill it. */
export interface Binding {
  key: string;
  values: unknown[];
  /** What the emitters read of the arguments (JSON: it is `key`'s source). */
  shape: object;
}

export interface BindEnv {
  ctx: Context;
  now: Date;
}

/** A field whose arguments are read per request (a list's page and filter, an id). */
export interface Site {
  /** `Type.field`, for the fallback's log line. */
  field: string;
  def: GraphQLField<unknown, unknown>;
  node: FieldNode;
  /** Throws Untranslatable, or the resolvers' own error for arguments they refuse: they answer then. */
  bind(args: Record<string, unknown>, env: BindEnv): Binding;
}

export type Getter = (bindings: readonly Binding[], env: BindEnv) => unknown;

/** SQL of one part of the statement, for the bindings of one request shape. */
export type Emit = (g: Gen) => string;

/** Builds one SQL text: numbers the parameters as the emitters ask for them. */
export class Gen {
  readonly getters: Getter[] = [];
  private readonly named = new Map<string, string>();
  constructor(readonly bindings: readonly Binding[]) {}

  private param(name: string, getter: Getter, cast: string): string {
    let ref = this.named.get(name);
    if (!ref) {
      this.getters.push(getter);
      ref = `$${this.getters.length}`;
      this.named.set(name, ref);
    }
    return cast ? `${ref}::${cast}` : ref;
  }

  tenant(): string {
    return this.param('tenant', (_b, env) => env.ctx.viewer.tenantId, 'uuid');
  }

  viewer(): string {
    return this.param('viewer', (_b, env) => env.ctx.viewer.id, 'uuid');
  }

  now(): string {
    return this.param('now', (_b, env) => env.now.toISOString(), 'timestamptz');
  }

  /** An alias: a parameter, so that clients cannot make new statement texts by renaming keys. */
  key(key: string): string {
    return this.param(`key:${key}`, () => key, 'text');
  }

  shape(site: number): object {
    return (this.bindings[site] as Binding).shape;
  }

  /** A fragment of a site's binding with its `{j}` placeholders as parameters. */
  fill(site: number, fragment: string): string {
    return fragment.replace(/\{(\d+)\}/g, (_m, j: string) =>
      this.param(`${site}:${j}`, (bindings) => (bindings[site] as Binding).values[Number(j)], ''),
    );
  }
}

/** A response key: a field's own name is a literal, an alias (the client's free text) a parameter. */
export const jsonKey =
  (key: string, name: string): Emit =>
  (g) =>
    key === name ? `${lit(key)}::text` : g.key(key);

/** json_build_object takes at most 100 arguments: 50 keys and their values. */
export const MAX_KEYS = 50;

/** Walks one operation's selection for one role: row aliases, the sites, whether it audits. */
export class Builder {
  readonly sites: Site[] = [];
  /** Case.extractedData is read by a role that may (case:readExtractedData): the statement also returns the case ids. */
  audit = false;
  private aliases = 0;
  constructor(
    readonly schema: GraphQLSchema,
    readonly fragments: Record<string, FragmentDefinitionNode>,
    readonly variables: Record<string, unknown>,
    readonly role: Role,
  ) {}

  /** A fresh SQL alias: every row source of the statement has its own. */
  alias(prefix: string): string {
    this.aliases += 1;
    return `${prefix}${this.aliases}`;
  }

  /** The selection under `nodes` on `type`, by response key (fragments and directives applied). */
  subfields(type: GraphQLObjectType, nodes: readonly FieldNode[]): Map<string, readonly FieldNode[]> {
    return collectSubfields(this.schema, this.fragments, this.variables, type, nodes);
  }

  /** Registers a field whose arguments are read per request; returns its index in the bindings. */
  site(parent: GraphQLObjectType, def: GraphQLField<unknown, unknown>, node: FieldNode, bind: Site['bind']) {
    this.sites.push({ field: `${parent.name}.${def.name}`, def, node, bind });
    return this.sites.length - 1;
  }
}

/** The object type a field returns; an interface or a union is not covered. */
export function objectTypeOf(def: GraphQLField<unknown, unknown>): GraphQLObjectType {
  const type = getNamedType(def.type);
  if (!isObjectType(type)) throw new Untranslatable(`${type.name} is not an object type`);
  return type;
}
