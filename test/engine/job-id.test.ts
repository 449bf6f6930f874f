import { expect } from 'chai';
import { jobIdGenerator } from '../../src/engine/job-id.js';

const V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** The 48-bit time of an id, in ms. */
const timeOf = (id: string) => parseInt(id.slice(0, 8) + id.slice(9, 13), 16);

/** The counter's 31 bits: 4 after the version nibble, 8, 6 after the variant bits, 8, and the top 5 of byte 10. */
function counterOf(id: string): number {
  const hex = id.replaceAll('-', '');
  const byte = (i: number) => parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return (((byte(6) & 0x0f) << 27) | (byte(7) << 19) | ((byte(8) & 0x3f) << 13) | (byte(9) << 5) | (byte(10) >> 3)) >>> 0;
}

const YEAR_2200 = Date.UTC(2200, 0, 1); // 0x0699e991a800 ms

describe('job ids (UUIDv7)', () => {
  let newJobId: (now: number) => string;
  beforeEach(() => {
    newJobId = jobIdGenerator();
  });

  it('carries the time in its first 48 bits, with the version and variant bits set', () => {
    const id = newJobId(YEAR_2200);
    expect(id).to.match(V7);
    expect(id.slice(0, 13)).to.equal('0699e991-a800');
    expect(timeOf(id)).to.equal(YEAR_2200);
  });

  it('counts up within one millisecond, so ids made in the same ms still sort in the order they were made', () => {
    const now = YEAR_2200;
    const ids = Array.from({ length: 10_000 }, () => newJobId(now));
    expect(ids.every((id) => V7.test(id) && timeOf(id) === now)).to.equal(true);
    const counters = ids.map(counterOf);
    for (let i = 1; i < counters.length; i++) expect(counters[i]).to.equal(counters[0]! + i);
    expect(counters[0]).to.be.below(2 ** 30);
    expect([...ids].sort()).to.deep.equal(ids);
  });

  it('a new millisecond starts a new counter, and the ids keep growing', () => {
    const first = newJobId(YEAR_2200);
    const second = newJobId(YEAR_2200 + 1);
    expect([timeOf(first), timeOf(second)]).to.deep.equal([YEAR_2200, YEAR_2200 + 1]);
    expect(second > first).to.equal(true);
  });

  it('holds the latest time when the clock goes back, and still grows', () => {
    const before = newJobId(YEAR_2200 + 500);
    const after = newJobId(YEAR_2200);
    expect(timeOf(after)).to.equal(YEAR_2200 + 500);
    expect(counterOf(after)).to.equal(counterOf(before) + 1);
    expect(after > before).to.equal(true);
  });

  it('is unique across many pools of random bytes', () => {
    const ids = new Set<string>();
    for (let i = 0; i < 100_000; i++) ids.add(newJobId(YEAR_2200 + (i >> 10)));
    expect(ids.size).to.equal(100_000);
  });
});
