/* Reflected CRC tables computed by the compiler (no constructor: a patch is
 * relocated into the target by patchvet, and nothing runs its initialisers).
 * CRC_TABLE(type, poly) expands to the 256 entries of the byte-at-a-time
 * table of a reflected CRC with polynomial `poly` (bit-reversed form). */
#ifndef PV_PROGRAMS_CRC_TABLE_H
#define PV_PROGRAMS_CRC_TABLE_H

#define CRC_B(t, p, c) (((c) & 1) ? (((c) >> 1) ^ (t)(p)) : ((c) >> 1))
#define CRC_E(t, p, n)                                                         \
	CRC_B(t, p, CRC_B(t, p, CRC_B(t, p, CRC_B(t, p,                        \
	CRC_B(t, p, CRC_B(t, p, CRC_B(t, p, CRC_B(t, p, (t)(n)))))))))
#define CRC_4(t, p, n) CRC_E(t, p, n), CRC_E(t, p, (n) + 1), CRC_E(t, p, (n) + 2), CRC_E(t, p, (n) + 3)
#define CRC_16(t, p, n) CRC_4(t, p, n), CRC_4(t, p, (n) + 4), CRC_4(t, p, (n) + 8), CRC_4(t, p, (n) + 12)
#define CRC_64(t, p, n) CRC_16(t, p, n), CRC_16(t, p, (n) + 16), CRC_16(t, p, (n) + 32), CRC_16(t, p, (n) + 48)
#define CRC_TABLE(t, p) { CRC_64(t, p, 0), CRC_64(t, p, 64), CRC_64(t, p, 128), CRC_64(t, p, 192) }

#endif
