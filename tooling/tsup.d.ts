import type { Options } from 'tsup';

export interface PackageConfigOptions {
  entry?: Record<string, string>;
  platform?: 'neutral' | 'node' | 'browser';
  external?: string[];
}

export function packageConfig(options?: PackageConfigOptions): Options | Options[];
