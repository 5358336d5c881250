/** Validation failure in a request: becomes an HTTP 4xx naming the field. */
export class RequestError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}
