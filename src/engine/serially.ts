/**
 * A function that runs the work given to it one at a time, in the order given: each starts once the one
 * before has settled, whatever its outcome.
 */
export function serially() {
  let tail: Promise<unknown> = Promise.resolve();
  const ignore = () => {};
  return <T>(work: () => Promise<T>): Promise<T> => {
    const result = tail.then(work);
    tail = result.then(ignore, ignore);
    return result;
  };
}
