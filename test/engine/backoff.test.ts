import { expect } from 'chai';
import { backoffDelay } from '../../src/engine/backoff.js';

describe('backoffDelay', () => {
  const options = { baseMs: 100, maxMs: 30_000, jitterMs: 100 };
  const noJitter = () => 0;

  it('doubles from the base for each retry, up to the cap', () => {
    const delays = [1, 2, 3, 4, 5, 8, 9, 10, 20, 2000].map((retry) => backoffDelay(retry, options, noJitter));
    expect(delays).to.deep.equal([100, 200, 400, 800, 1600, 12_800, 25_600, 30_000, 30_000, 30_000]);
  });

  it('adds jitter from 0 to jitterMs inclusive', () => {
    expect(backoffDelay(1, options, () => 0)).to.equal(100);
    expect(backoffDelay(1, options, () => 0.5)).to.equal(150);
    expect(backoffDelay(1, options, () => 0.999999)).to.equal(200);
    expect(backoffDelay(10, options, () => 0.999999)).to.equal(30_100);
  });

  it('gives every jitter from 0 to jitterMs the same share of the random range, the bounds included', () => {
    const jitterMs = 4;
    const small = { baseMs: 0, maxMs: 0, jitterMs };
    // A random uniform in [0, 1) on a fine grid: each of the 5 values must get exactly a fifth of it.
    const counts = [0, 0, 0, 0, 0];
    for (let i = 0; i < 1000; i++) counts[backoffDelay(1, small, () => i / 1000)]!++;
    expect(counts).to.deep.equal([200, 200, 200, 200, 200]);
    expect([0.199999, 0.2, 0.999999].map((r) => backoffDelay(1, small, () => r))).to.deep.equal([0, 1, 4]);
  });

  it('is the base alone with no jitter configured', () => {
    expect(backoffDelay(3, { baseMs: 10, maxMs: 1000, jitterMs: 0 }, () => 0.7)).to.equal(40);
  });
});
