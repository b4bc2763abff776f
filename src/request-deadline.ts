import { AsyncLocalStorage } from 'node:async_hooks';
import { DependencyUnavailableError } from './errors.js';

/**
 * The life of the request being served: it ends at the request's deadline or when its client goes
 * away. Work that would outlive the request (a database statement, a commit) reads it here, so that
 * nothing a request started takes effect after its client was told it failed, or stopped waiting.
 * Cheap when nothing waits: a timer exists only while something is waiting on the request's end.
 */
export class RequestLife {
  #clientGone = false;
  #listeners: Set<() => void> | undefined;

  constructor(private readonly endsAt: number) {}

  static withDeadline(milliseconds: number): RequestLife {
    return new RequestLife(Date.now() + milliseconds);
  }

  get ended(): boolean {
    return this.#clientGone || Date.now() >= this.endsAt;
  }

  clientGone(): void {
    if (this.#clientGone) return;
    this.#clientGone = true;
    for (const listener of this.#listeners ?? []) listener();
  }

  /** Calls `listener` when the request ends (at its deadline at the latest); returns how to stop. */
  onEnd(listener: () => void): () => void {
    const timer = setTimeout(listener, Math.max(0, this.endsAt - Date.now()));
    const listeners = (this.#listeners ??= new Set());
    listeners.add(listener);
    return () => {
      clearTimeout(timer);
      listeners.delete(listener);
    };
  }
}

const requests = new AsyncLocalStorage<RequestLife>();

/** Runs `work` as the request with this life; lazy thenables (drizzle queries) run inside it too. */
export function runInRequest<T>(life: RequestLife, work: () => PromiseLike<T>): Promise<T> {
  return requests.run(life, async () => await work());
}

/**
 * Runs `work` outside any request: for what a request starts but does not own (a poller that
 * serves every stream, begun by whichever stream came first), which its deadline must not end.
 */
export function outsideRequest<T>(work: () => T): T {
  return requests.exit(work);
}

/** The request being served; undefined outside one (CLI, background jobs). */
export function currentRequest(): RequestLife | undefined {
  return requests.getStore();
}

/** Throws when the request's time is up or its client has gone. */
export function ensureRequestLive(life: RequestLife): void {
  if (life.ended) throw requestEnded();
}

/**
 * Settles as `work` does, or rejects as soon as the request ends, whichever comes first. When
 * `committing()` says a COMMIT is on its way at that moment, its answer is awaited up to
 * `COMMIT_ANSWER_GRACE_MS` longer: the client then hears what happened, not a 503 for a change
 * that lands a moment later.
 */
export function untilRequestEnds<T>(life: RequestLife, work: Promise<T>, committing: () => boolean = () => false): Promise<T> {
  if (life.ended) {
    work.catch(() => {});
    return Promise.reject(requestEnded());
  }
  return new Promise<T>((resolve, reject) => {
    let grace: NodeJS.Timeout | undefined;
    const stop = life.onEnd(() => {
      if (committing()) grace = setTimeout(() => reject(requestEnded()), COMMIT_ANSWER_GRACE_MS);
      else reject(requestEnded());
    });
    const settled = () => {
      stop();
      clearTimeout(grace);
    };
    work.then(
      (value) => {
        settled();
        resolve(value);
      },
      (error: unknown) => {
        settled();
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}

/** How long past the deadline the answer to a COMMIT already sent is awaited. */
export const COMMIT_ANSWER_GRACE_MS = 5_000;

// A 503 with Retry-After: the database did not answer in time (or nobody is waiting any more).
const requestEnded = () =>
  new DependencyUnavailableError('database', { cause: new Error('the request ended before the database answered') });
