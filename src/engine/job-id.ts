/**
 * Generated job ids: UUIDv7 (RFC 9562). The first 48 bits are the time in ms, so ids sort in the order they
 * were made; those of one generator only grow (RFC 9562, 6.2 method 1: a counter in the bits after the time,
 * seeded at random each new millisecond, and a clock that went back is held at the latest reading).
 *
 * Why not v4 (`randomUUID()`): the SQLite store keeps an index of ids, and a random id lands on a random page
 * of it, so each commit rewrote about one page of that index per job; ids in creation order all go to its end
 * (docs/performance.md, "What changed", 10).
 * Why not the `uuid` package's v7: it asks the OS for 16 random bytes per id, 4.8 µs here, where one request
 * for a pool of 256 ids' worth costs the same; and it builds the text by concatenation, a rope of string pieces
 * that a retained id keeps (450 bytes of a finished job). The text here is written into a buffer and read out
 * as one flat string.
 */
import { randomFillSync } from 'node:crypto';

const IDS_PER_POOL = 256;
const pool = Buffer.alloc(16 * IDS_PER_POOL);
let poolOffset = pool.length;

const HEX = Buffer.from('0123456789abcdef', 'latin1');
const text = Buffer.alloc(36);
/** The 31-bit counter's ceiling: past it, the id borrows the next millisecond. */
const COUNTER_LIMIT = 2 ** 31;

/**
 * A generator of UUIDv7 ids; its ids only grow. `now` is the time in ms (the facade passes its own clock, so
 * tests with a fake clock get ids of that time).
 */
export function jobIdGenerator(): (now: number) => string {
  let lastMs = -Infinity;
  let counter = 0;
  return (now) => {
    const bytes = randomBytes16();
    if (now > lastMs) {
      lastMs = now;
      // Seeded below half its range, so a busy millisecond has room to count up.
      counter = bytes.readUInt32BE(6) & 0x3fffffff;
    } else if (++counter >= COUNTER_LIMIT) {
      lastMs++;
      counter = 0;
    }
    bytes.writeUIntBE(lastMs, 0, 6);
    // The counter's 31 bits: 4 after the version, 8, 6 after the variant, 8, then the top 5 of byte 10.
    bytes[6] = 0x70 | ((counter >>> 27) & 0x0f);
    bytes[7] = (counter >>> 19) & 0xff;
    bytes[8] = 0x80 | ((counter >>> 13) & 0x3f);
    bytes[9] = (counter >>> 5) & 0xff;
    bytes[10] = ((counter & 0x1f) << 3) | (bytes[10]! & 0x07);
    return format(bytes);
  };
}

/** The next 16 random bytes of the pool, refilled from the OS once every IDS_PER_POOL ids. */
function randomBytes16(): Buffer {
  if (poolOffset === pool.length) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  poolOffset += 16;
  return pool.subarray(poolOffset - 16, poolOffset);
}

/** The canonical text, 8-4-4-4-12 lowercase hex digits, as one flat string. */
function format(bytes: Uint8Array): string {
  let at = 0;
  for (let i = 0; i < 16; i++) {
    if (i === 4 || i === 6 || i === 8 || i === 10) text[at++] = 0x2d; // '-'
    text[at++] = HEX[bytes[i]! >> 4]!;
    text[at++] = HEX[bytes[i]! & 0x0f]!;
  }
  return text.toString('latin1');
}
