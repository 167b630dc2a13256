/** One measurement, as a device publishes it. */
export interface Reading {
  readonly temperature: number;
  readonly humidity: number;
  /** Milliseconds since the epoch, on the device's clock. */
  readonly at: number;
}

export function isReading(value: unknown): value is Reading {
  const reading = value as Partial<Reading> | null;
  return (
    typeof reading?.temperature === 'number' &&
    typeof reading.humidity === 'number' &&
    typeof reading.at === 'number'
  );
}
