import type { ServerResponse } from 'node:http';

/**
 * The REST requests being answered, so that a graceful shutdown waits for their responses
 * instead of cutting them. A request counts until its response is sent or its socket closes.
 */
export class InFlightRequests {
  private count = 0;
  private waiters: (() => void)[] = [];

  track(response: ServerResponse): void {
    this.count++;
    response.once('close', () => {
      this.count--;
      if (this.count === 0) for (const resolve of this.waiters.splice(0)) resolve();
    });
  }

  /** Resolves once no request is in flight. */
  idle(): Promise<void> {
    if (this.count === 0) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }
}
