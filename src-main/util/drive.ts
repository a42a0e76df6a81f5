/**
 * Drivers for computations written once as generators that yield requests (a decoding step, a chunk to decode)
 * and are answered synchronously or asynchronously: the same code then serves backends with and without
 * synchronous reads. An answer that throws is thrown into the generator, so its `finally` blocks free what it
 * holds before the error propagates.
 */

/** Runs `gen` to its end, answering every request with `answer`. */
export function driveSync<Q, A, R>(gen: Generator<Q, R, A>, answer: (request: Q) => A): R {
  let next = gen.next();
  while (!next.done) next = resume(gen, answer, next.value);
  return next.value;
}

/** Runs `gen` to its end, answering every request with the awaited `answer`. */
export async function driveAsync<Q, A, R>(gen: Generator<Q, R, A>, answer: (request: Q) => Promise<A>): Promise<R> {
  let next = gen.next();
  while (!next.done) {
    const request = next.value;
    next = await answer(request).then(
      (a) => gen.next(a),
      (err: unknown) => gen.throw(err),
    );
  }
  return next.value;
}

function resume<Q, A, R>(gen: Generator<Q, R, A>, answer: (request: Q) => A, request: Q): IteratorResult<Q, R> {
  let a: A;
  try {
    a = answer(request);
  } catch (err) {
    return gen.throw(err);
  }
  return gen.next(a);
}
