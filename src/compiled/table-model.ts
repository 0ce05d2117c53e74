/**
 * One model of prisma/schema.prisma as the SQL compiler needs it, written by scripts/generate.mjs
 * into src/generated/table-models.ts from Prisma's own schema parser.
 */
export interface TableModel {
  /** `@@map`, else the model's name. */
  table: string;
  fields: TableField[];
}

export interface TableField {
  name: string;
  /** `@map`, else the field's name; null for a relation. */
  column: string | null;
  /** Prisma's scalar type (String, DateTime, …), or the related model. */
  type: string;
  /** The `@db.` type (Uuid, VarChar, …), when one is given. */
  nativeType: string | null;
  isList: boolean;
  /** A relation field: this side's fields (`fields:`) and the other side's (`references:`), empty on the side without the foreign key. */
  relation: { name: string; from: string[]; to: string[] } | null;
}
