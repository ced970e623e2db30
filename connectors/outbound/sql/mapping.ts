/** Mapping problems the OTA reported (Expedia 3203/3204: it does not know the room or rate plan we
 * sent): one open problem per mapping, counted up on repeats, shown with the unmapped ones. */
export function recordRejectedMapping(
  connectionId: string,
  propertyId: string,
  cell: { roomTypeId: string; ratePlanId: string; roomCode: string; rateCode: string },
  detail: string,
) {
  return {
    text: `
INSERT INTO channel.mapping_problems (connection_id, property_id, kind, room_type_id, rate_plan_id, ota_room_code, ota_rate_code, detail)
VALUES ($1, $2, 'ota_rejected_mapping', $3, $4, $5, $6, $7)
ON CONFLICT (connection_id, kind, coalesce(room_type_id::text, ''), coalesce(rate_plan_id::text, ''), coalesce(ota_room_code, ''), coalesce(ota_rate_code, ''))
  WHERE resolved_at IS NULL AND deleted_at IS NULL
  DO UPDATE SET occurrences = channel.mapping_problems.occurrences + 1, last_seen_at = now(), detail = EXCLUDED.detail`,
    values: [connectionId, propertyId, cell.roomTypeId, cell.ratePlanId, cell.roomCode, cell.rateCode, detail],
  };
}
