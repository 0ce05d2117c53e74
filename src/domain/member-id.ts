import { createHmac } from 'node:crypto';

/** A member id as the payer writes it, compared without surrounding space or case. */
export function normalizeMemberId(memberId: string): string {
  return memberId.trim().toUpperCase();
}

/**
 * `member_id_hash`: lower-case hex HMAC-SHA256 keyed with MEMBER_ID_HASH_KEY over
 * `<tenant uuid>:<normalised member id>`. Salting by tenant keeps equal ids of two clinics apart;
 * the key keeps the hash from being reversed by trying every member id.
 */
export function hashMemberId(key: string, tenantId: string, memberId: string): string {
  return createHmac('sha256', Buffer.from(key, 'utf8'))
    .update(`${tenantId.toLowerCase()}:${normalizeMemberId(memberId)}`)
    .digest('hex');
}
