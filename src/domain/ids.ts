/**
 * A row's key as text: every table's id is a PostgreSQL uuid, which reads any hex case. Checked
 * before an id reaches a query, where an invalid one would be a data exception, not a miss.
 */
export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
